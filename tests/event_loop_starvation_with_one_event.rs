//! An `EventLoop` fetching one event per poll (`events_capacity(1)`) while twenty
//! level-triggered sources are ready all the time, on every backend of the build: messages
//! from other threads, timeouts and every source still get their turn (no starvation).
#![cfg(unix)]

mod util;

use std::thread;
use std::time::Duration;

use ferrio::unix::UnixStream;
use ferrio::{
    Backend, EventLoop, EventLoopConfig, EventSet, Handler, PollOpt, Timeout, Token, TryWrite,
};

use util::*;

const SOURCES: usize = 20;

struct Storm {
    ready: [usize; SOURCES],
    messages: Vec<u32>,
    timeouts: Vec<u32>,
    iterations: usize,
    stall: Option<Timeout>,
    backend: Backend,
}

impl Handler for Storm {
    type Timeout = u32;
    type Message = u32;

    fn ready(&mut self, event_loop: &mut EventLoop<Storm>, token: Token, events: EventSet) {
        assert!(events.is_readable(), "{}: {events:?}", self.backend);
        self.ready[token.0] += 1;
        self.maybe_done(event_loop);
    }

    fn notify(&mut self, event_loop: &mut EventLoop<Storm>, msg: u32) {
        self.messages.push(msg);
        self.maybe_done(event_loop);
    }

    fn timeout(&mut self, event_loop: &mut EventLoop<Storm>, t: u32) {
        assert_ne!(
            t,
            0,
            "{}: the loop stalled: {} messages, timeouts {:?}, sources {:?}",
            self.backend,
            self.messages.len(),
            self.timeouts,
            self.ready
        );
        self.timeouts.push(t);
        self.maybe_done(event_loop);
    }

    fn tick(&mut self, _: &mut EventLoop<Storm>) {
        self.iterations += 1;
    }
}

impl Storm {
    /// Ends the loop once every message, every timeout and every source arrived (the stall
    /// timeout fails the test if one never does).
    fn maybe_done(&mut self, event_loop: &mut EventLoop<Storm>) {
        if self.messages.len() == 100
            && self.timeouts.len() == 5
            && self.ready.iter().all(|&n| n > 0)
        {
            event_loop.shutdown();
        }
    }
}

#[test]
fn messages_timeouts_and_every_source_get_turns_through_a_one_event_buffer() {
    for backend in Backend::ALL {
        let mut config = EventLoopConfig::new();
        config.backend(backend).events_capacity(1);
        let mut event_loop = EventLoop::<Storm>::configured(&config).unwrap();
        if event_loop.registry().backend() != backend {
            precondition_missing(&format!("{backend} runs here (fell back)"));
            continue;
        }
        // Twenty sources, each with a byte nobody reads: level-triggered readable forever.
        let pairs: Vec<_> = (0..SOURCES)
            .map(|_| {
                let (a, mut b) = UnixStream::pair().unwrap();
                b.try_write(b"x").unwrap();
                (a, b)
            })
            .collect();
        for (i, (a, _)) in pairs.iter().enumerate() {
            event_loop
                .register(a, Token(i), EventSet::readable(), PollOpt::level())
                .unwrap();
        }
        let mut storm = Storm {
            ready: [0; SOURCES],
            messages: Vec::new(),
            timeouts: Vec::new(),
            iterations: 0,
            stall: None,
            backend,
        };
        // Timeouts at 1, 2, .. 5 ms, and one that fails the test if the loop stalls.
        for t in 1..=5u32 {
            let _ = event_loop
                .timeout(t, Duration::from_millis(t as u64))
                .unwrap();
        }
        storm.stall = Some(event_loop.timeout(0, Duration::from_secs(60)).unwrap());
        // Messages from two threads; the loop ends once all of them and every timeout came.
        let sender = event_loop.channel();
        let other = sender.clone();
        let t1 = thread::spawn(move || {
            for i in 1..=50 {
                while other.send(i).is_err() {
                    thread::yield_now();
                }
            }
        });
        let t2 = thread::spawn(move || {
            for i in 51..=100 {
                while sender.send(i).is_err() {
                    thread::yield_now();
                }
            }
        });
        event_loop.run(&mut storm).unwrap();
        t1.join().unwrap();
        t2.join().unwrap();
        let mut messages = storm.messages.clone();
        messages.sort_unstable();
        let expected: Vec<u32> = (1..=100).collect();
        assert_eq!(messages, expected, "{backend}: messages lost or doubled");
        assert_eq!(
            storm.timeouts,
            vec![1, 2, 3, 4, 5],
            "{backend}: timeouts starved or out of order"
        );
        assert!(
            storm.ready.iter().all(|&n| n > 0),
            "{backend}: sources starved ({} iterations): {:?}",
            storm.iterations,
            storm.ready
        );
        let stall = storm.stall.take().unwrap();
        assert!(event_loop.clear_timeout(stall), "{backend}");
    }
}
