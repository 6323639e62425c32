//! Loom model of the waker's coalescing protocol, on the crate's own code.
//!
//! Run with: `RUSTFLAGS="--cfg loom" cargo test --release --test loom_waker`
//!
//! Under `cfg(loom)` the crate builds `sys::waker::WakeState` (the coalescing flag every
//! backend's waker goes through) on loom's atomics, and `ferrio::__loom` exposes it. The model
//! calls that very code; only the OS notification is modelled: a loom `Notify` stands for the
//! eventfd (a write leaves one permit, several writes before a wait still give one report, as
//! an edge-triggered eventfd does), and a wait without a permit blocks, so a lost wake-up is a
//! loom deadlock:
//!
//! ```text
//! wake():   WakeState::wake(notify)    -- notify only if the flag was clear
//! select(): wait for the notification, then WakeState::take_pending()
//! ```
//!
//! The property: threads that publish work and then call `wake` never leave a receiver that
//! polls until it sees all the work blocked forever. Weakening `take_pending`'s read-modify-write
//! to a plain store (in `src/sys/waker.rs`) makes `no_wake_is_lost` fail: the receiver's next
//! check of the work can miss a wake that coalesced into the report it just got (the
//! store-buffer pattern).
#![cfg(loom)]

use std::io;
use std::sync::atomic::Ordering;

use ferrio::__loom::WakeState;
use ferrio::Token;
use loom::sync::atomic::{AtomicBool, AtomicUsize};
use loom::sync::{Arc, Notify};
use loom::thread;

struct ModelWaker {
    state: WakeState,
    eventfd: Notify,
    /// The next notification fails once (an eventfd write error), if set.
    fail_next: AtomicBool,
}

impl ModelWaker {
    fn new() -> ModelWaker {
        let state = WakeState::new();
        state.claim(Token(7)).unwrap();
        ModelWaker {
            state,
            eventfd: Notify::new(),
            fail_next: AtomicBool::new(false),
        }
    }

    fn wake(&self) -> io::Result<()> {
        self.state.wake(|| {
            if self.fail_next.swap(false, Ordering::AcqRel) {
                return Err(io::Error::other("injected notification failure"));
            }
            self.eventfd.notify();
            Ok(())
        })
    }

    fn select(&self) {
        self.eventfd.wait();
        self.state.take_pending();
    }
}

fn builder() -> loom::model::Builder {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder
}

/// Two threads publish work and wake; the receiver polls until it has seen both.
#[test]
fn no_wake_is_lost() {
    builder().check(|| {
        let waker = Arc::new(ModelWaker::new());
        let work = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let waker = Arc::clone(&waker);
                let work = Arc::clone(&work);
                thread::spawn(move || {
                    work.fetch_add(1, Ordering::Release);
                    waker.wake().unwrap();
                })
            })
            .collect();
        while work.load(Ordering::Acquire) < 2 {
            waker.select();
        }
        for t in threads {
            t.join().unwrap();
        }
    });
}

/// One thread wakes repeatedly; every round's work is seen.
#[test]
fn repeated_wakes_from_one_thread_are_seen() {
    builder().check(|| {
        let waker = Arc::new(ModelWaker::new());
        let work = Arc::new(AtomicUsize::new(0));
        let t = {
            let waker = Arc::clone(&waker);
            let work = Arc::clone(&work);
            thread::spawn(move || {
                for _ in 0..3 {
                    work.fetch_add(1, Ordering::Release);
                    waker.wake().unwrap();
                }
            })
        };
        while work.load(Ordering::Acquire) < 3 {
            waker.select();
        }
        t.join().unwrap();
    });
}

/// A failed notification is not swallowed: the flag is cleared, so the waker's next wake
/// notifies instead of coalescing into the notification that never happened.
#[test]
fn a_failed_notification_does_not_swallow_the_next_wake() {
    builder().check(|| {
        let waker = Arc::new(ModelWaker::new());
        let work = Arc::new(AtomicUsize::new(0));
        waker.fail_next.store(true, Ordering::Release);
        let t = {
            let waker = Arc::clone(&waker);
            let work = Arc::clone(&work);
            thread::spawn(move || {
                work.fetch_add(1, Ordering::Release);
                assert!(waker.wake().is_err());
                work.fetch_add(1, Ordering::Release);
                waker.wake().unwrap();
            })
        };
        while work.load(Ordering::Acquire) < 2 {
            waker.select();
        }
        t.join().unwrap();
        assert_eq!(waker.state.token(), Some(Token(7)));
    });
}
