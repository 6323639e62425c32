//! A program that makes its own `Waker` on an `EventLoop`'s registry (as mio 1.x programs do)
//! and then asks the loop for its channel, on every backend of the build: `channel()` must not
//! abort the program (it used to panic: the loop's channel wanted the `Poll`'s single waker
//! slot, which the program's `Waker` held); messages are delivered, and the program's `Waker`
//! still wakes the loop under its own token.
#![cfg(unix)]

mod util;

use std::thread;
use std::time::Duration;

use ferrio::{Backend, EventLoop, EventLoopConfig, EventSet, Handler, Timeout, Token, Waker};

use util::*;

const WAKE: Token = Token(77);

struct Both {
    messages: Vec<u32>,
    woken: usize,
    stall: Option<Timeout>,
}

impl Handler for Both {
    type Timeout = ();
    type Message = u32;

    fn ready(&mut self, event_loop: &mut EventLoop<Both>, token: Token, events: EventSet) {
        // The channel's wake-ups share the program's waker here, so a message may bring a
        // (spurious) event for its token too.
        assert_eq!(token, WAKE, "{events:?}");
        self.woken += 1;
        self.maybe_done(event_loop);
    }

    fn notify(&mut self, event_loop: &mut EventLoop<Both>, msg: u32) {
        self.messages.push(msg);
        self.maybe_done(event_loop);
    }

    fn timeout(&mut self, _: &mut EventLoop<Both>, _: ()) {
        panic!(
            "the loop stalled: messages {:?}, woken {}",
            self.messages, self.woken
        );
    }
}

impl Both {
    fn maybe_done(&mut self, event_loop: &mut EventLoop<Both>) {
        if self.messages.len() == 20 && self.woken > 0 {
            event_loop.shutdown();
        }
    }
}

#[test]
fn a_channel_after_a_user_waker_works_and_both_wake_the_loop() {
    for backend in Backend::ALL {
        let mut config = EventLoopConfig::new();
        config.backend(backend);
        let mut event_loop = EventLoop::<Both>::configured(&config).unwrap();
        if event_loop.registry().backend() != backend {
            precondition_missing(&format!("{backend} runs here (fell back)"));
            continue;
        }
        let waker = Waker::new(event_loop.registry(), WAKE).unwrap();
        let sender = event_loop
            .try_channel()
            .unwrap_or_else(|e| panic!("{backend}: no channel next to a user's Waker: {e}"));
        // channel() too (it panicked where try_channel failed).
        let other = event_loop.channel();
        let mut both = Both {
            messages: Vec::new(),
            woken: 0,
            stall: None,
        };
        both.stall = Some(event_loop.timeout((), Duration::from_secs(30)).unwrap());
        let t = thread::spawn(move || {
            for i in 0..10 {
                sender.send(i).unwrap();
                other.send(100 + i).unwrap();
            }
            waker.wake().unwrap();
            waker
        });
        event_loop.run(&mut both).unwrap();
        let waker = t.join().unwrap();
        let mut got = both.messages.clone();
        got.sort_unstable();
        let want: Vec<u32> = (0..10).chain(100..110).collect();
        assert_eq!(got, want, "{backend}");
        assert!(both.woken > 0, "{backend}");
        assert!(event_loop.clear_timeout(both.stall.take().unwrap()));
        // The program's Waker stays the Poll's: a second one is still refused cleanly.
        assert_error_kind(
            Waker::new(event_loop.registry(), Token(78)),
            std::io::ErrorKind::AlreadyExists,
        );
        drop(waker);
    }
}
