// mio 0.5: the EventLoop calls aligned by the event-loop work. Built only with
// `--features event-loop-api` (see Cargo.toml): they do not compile against ferrio until
// that work is merged.
extern crate mio;

use std::io;
use std::sync::mpsc;
use std::thread;

use mio::{EventLoop, EventLoopConfig, Handler, Sender, Token};

struct Counter {
    ticks: usize,
    timeouts: Vec<u32>,
    messages: Vec<u32>,
}

impl Handler for Counter {
    type Timeout = u32;
    type Message = u32;

    fn notify(&mut self, event_loop: &mut EventLoop<Counter>, msg: u32) {
        self.messages.push(msg);
        if msg == 0 {
            event_loop.shutdown();
        }
    }

    fn timeout(&mut self, _: &mut EventLoop<Counter>, timeout: u32) {
        self.timeouts.push(timeout);
    }

    fn tick(&mut self, _: &mut EventLoop<Counter>) {
        self.ticks += 1;
    }
}

fn counter() -> Counter {
    Counter { ticks: 0, timeouts: Vec::new(), messages: Vec::new() }
}

#[test]
fn run_once_takes_milliseconds() {
    let mut event_loop = EventLoop::new().unwrap();
    let mut handler = counter();
    // Nothing to do: returns after (about) 100 ms.
    event_loop.run_once(&mut handler, Some(100)).unwrap();
    event_loop.run_once(&mut handler, Some(0)).unwrap();
    assert_eq!(handler.ticks, 2);
}

#[test]
fn channel_from_a_shared_reference() {
    let event_loop: EventLoop<Counter> = EventLoop::new().unwrap();
    let sender: Sender<u32> = {
        let shared: &EventLoop<Counter> = &event_loop;
        shared.channel()
    };
    let mut event_loop = event_loop;
    let (done_tx, done_rx) = mpsc::channel();
    let t = thread::spawn(move || {
        sender.send(7).unwrap();
        sender.send(0).unwrap();
        done_tx.send(()).unwrap();
    });
    let mut handler = counter();
    event_loop.run(&mut handler).unwrap();
    t.join().unwrap();
    done_rx.recv().unwrap();
    assert_eq!(handler.messages, vec![7, 0]);
}

#[test]
fn config_setters_on_a_mutable_config() {
    let mut config = EventLoopConfig::new();
    config.notify_capacity(8).timer_tick_ms(1);
    config.timer_wheel_size(1024);
    config.messages_per_tick(64).timer_capacity(1024);
    let mut event_loop: EventLoop<Counter> = EventLoop::configured(config).unwrap();
    let mut handler = counter();
    event_loop.run_once(&mut handler, Some(0)).unwrap();
}

fn schedule(event_loop: &mut EventLoop<Counter>) -> io::Result<()> {
    // TimerError converts into io::Error, so `?` works in an io::Result function.
    let timeout = try!(event_loop.timeout_ms(1, 10));
    let _cleared = event_loop.clear_timeout(timeout);
    event_loop.timeout_ms(2, 1)?;
    Ok(())
}

#[test]
fn timeout_ms_with_the_question_mark() {
    let mut config = EventLoopConfig::new();
    config.timer_tick_ms(1);
    let mut event_loop = EventLoop::configured(config).unwrap();
    schedule(&mut event_loop).unwrap();
    let mut handler = counter();
    for _ in 0..1000 {
        if !handler.timeouts.is_empty() {
            break;
        }
        event_loop.run_once(&mut handler, Some(10)).unwrap();
    }
    assert_eq!(handler.timeouts, vec![2]);
}

#[test]
fn tokens_stay_usable() {
    assert_eq!(Token(3).as_usize(), 3);
}
