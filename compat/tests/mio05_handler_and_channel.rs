// mio 0.5.1: a `Handler` overriding only what it needs, the loop's channel from many threads
// (`Sender` is `Clone + Send + Sync`), every `NotifyError` variant, `Timeout` kept in a struct
// and cleared through a shared borrow, `EventLoopConfig` as a value.
// Programs of 2016: bare trait objects and `Error::cause`; ferrio marks the Timeout #[must_use].
#![allow(bare_trait_objects, deprecated, unused_must_use)]
extern crate mio;

use std::error::Error;
use std::sync::Arc;
use std::thread;

use mio::{EventLoop, EventLoopConfig, Handler, NotifyError, Sender, Timeout, TimerError,
          TimerResult};

// Nothing overridden: every Handler method has a default.
struct Idle;

impl Handler for Idle {
    type Timeout = ();
    type Message = ();
}

#[test]
fn a_handler_with_only_defaults() {
    let mut event_loop: EventLoop<Idle> = EventLoop::new().unwrap();
    let _: bool = event_loop.is_running();
    event_loop.run_once(&mut Idle, Some(0)).unwrap();
    event_loop.channel().send(()).unwrap();
    event_loop.run_once(&mut Idle, Some(0)).unwrap();
}

struct Sum {
    total: u64,
    messages: usize,
    expected: usize,
    ticks: usize,
    idle_timer: Option<Timeout>,
    fired: Vec<&'static str>,
}

impl Handler for Sum {
    type Timeout = &'static str;
    type Message = u64;

    fn notify(&mut self, event_loop: &mut EventLoop<Sum>, msg: u64) {
        self.total += msg;
        self.messages += 1;
        // Reset the idle timer on every message: the old one is cleared through `&self.field`.
        if let Some(timeout) = self.idle_timer {
            assert!(event_loop.clear_timeout(timeout));
            assert!(!event_loop.clear_timeout(timeout));
        }
        self.idle_timer = Some(event_loop.timeout_ms("idle", 60_000).unwrap());
        if self.messages == self.expected {
            let result: TimerResult<Timeout> = event_loop.timeout_ms("done", 1);
            result.unwrap();
        }
    }

    fn timeout(&mut self, event_loop: &mut EventLoop<Sum>, what: &'static str) {
        self.fired.push(what);
        if what == "done" {
            event_loop.shutdown();
        }
    }

    fn tick(&mut self, _: &mut EventLoop<Sum>) {
        self.ticks += 1;
    }
}

#[test]
fn many_senders_one_loop() {
    let mut config = EventLoopConfig::default();
    config.notify_capacity(1024).messages_per_tick(32).timer_tick_ms(5);
    let copy = config.clone();
    assert!(format!("{:?}", copy).contains("EventLoopConfig"));
    let mut event_loop: EventLoop<Sum> = EventLoop::configured(copy).unwrap();

    let sender: Sender<u64> = event_loop.channel();
    assert!(format!("{:?}", sender).len() > 0);
    let shared = Arc::new(sender.clone());
    let mut threads = Vec::new();
    for t in 0..4u64 {
        let mine = sender.clone();
        let also = shared.clone();
        threads.push(thread::spawn(move || {
            for i in 0..50u64 {
                let mut msg = t * 1000 + i;
                loop {
                    let sent = if i % 2 == 0 { mine.send(msg) } else { also.send(msg) };
                    match sent {
                        Ok(()) => break,
                        Err(NotifyError::Full(back)) => {
                            msg = back;
                            thread::yield_now();
                        }
                        Err(NotifyError::Closed(_)) => panic!("loop gone"),
                        Err(NotifyError::Io(e)) => panic!("wake failed: {}", e),
                    }
                }
            }
        }));
    }
    let mut handler = Sum {
        total: 0,
        messages: 0,
        expected: 200,
        ticks: 0,
        idle_timer: None,
        fired: Vec::new(),
    };
    event_loop.run(&mut handler).unwrap();
    // Stopped by `shutdown`.
    assert!(!event_loop.is_running());
    for t in threads {
        t.join().unwrap();
    }
    let expected: u64 = (0..4u64).map(|t| (0..50u64).map(|i| t * 1000 + i).sum::<u64>()).sum();
    assert_eq!(handler.total, expected);
    assert_eq!(handler.fired, vec!["done"]);
    assert!(handler.ticks > 0);
}

#[test]
fn full_and_closed() {
    let mut config = EventLoopConfig::new();
    config.notify_capacity(2);
    let event_loop: EventLoop<Sum> = EventLoop::configured(config).unwrap();
    let sender = event_loop.channel();
    sender.send(1).unwrap();
    sender.send(2).unwrap();
    match sender.send(3) {
        Err(NotifyError::Full(3)) => {}
        other => panic!("expected Full(3), got {:?}", other),
    }
    let err = sender.send(4).unwrap_err();
    // NotifyError is an Error (its message type is 'static) and displays.
    assert!(!format!("{}", err).is_empty());
    let boxed: Box<Error> = Box::new(err);
    assert!(boxed.cause().is_none());

    drop(event_loop);
    match sender.send(5) {
        Err(NotifyError::Closed(_)) => {}
        other => panic!("expected Closed, got {:?}", other),
    }
}

fn timer_error_is_debug(e: &TimerError) -> String {
    format!("{:?}", e)
}

#[test]
fn timer_error_type_is_nameable() {
    // TimerError is a Debug value programs printed; no timer here overflows.
    let mut event_loop: EventLoop<Sum> = EventLoop::new().unwrap();
    match event_loop.timeout_ms("x", 10) {
        Ok(timeout) => assert!(event_loop.clear_timeout(timeout)),
        Err(e) => panic!("{}", timer_error_is_debug(&e)),
    }
}
