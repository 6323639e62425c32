//! Loom model of the `Waker`'s coalescing protocol (the epoll backend's `wake_pending` flag).
//!
//! Run with: `RUSTFLAGS="--cfg loom" cargo test --release --test loom_waker`
//!
//! This is a model of the protocol, not the backend's code: the backend makes real syscalls,
//! which loom cannot run. It copies the protocol step for step (see `src/sys/epoll.rs`):
//!
//! ```text
//! wake():   if pending.swap(true) was false: write the eventfd (one new edge)
//! select(): epoll_wait (returns once per edge), then clear `pending`
//! ```
//!
//! The eventfd is a loom `Notify`: a write leaves one permit (several writes before a wait
//! still give one report, as an edge-triggered eventfd does), and a wait without a permit
//! blocks, so a lost wake-up is a loom deadlock. The property: threads that publish work
//! and then call `wake` never leave a receiver that polls until it sees all the work blocked
//! forever.
//!
//! The model also shows why the clear must be a read-modify-write: with a plain release
//! store the receiver's next check of the work can miss a wake that coalesced into the
//! report it just got (the store-buffer pattern), and it then sleeps forever. The ignored
//! test `plain_store_clear_loses_a_wake` shows loom finding that execution (loom reports the
//! deadlock and then aborts the test binary, so it is not part of the normal run):
//! `RUSTFLAGS="--cfg loom" cargo test --release --test loom_waker -- --ignored`.
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, AtomicUsize};
use loom::sync::{Arc, Notify};
use loom::thread;
use std::sync::atomic::Ordering;

#[derive(Clone, Copy)]
enum Clear {
    /// `pending.swap(false, AcqRel)`: what the backend does.
    Swap,
    /// `pending.store(false, Release)`: the broken variant.
    Store,
}

struct ModelWaker {
    pending: AtomicBool,
    eventfd: Notify,
    clear: Clear,
}

impl ModelWaker {
    fn new(clear: Clear) -> ModelWaker {
        ModelWaker {
            pending: AtomicBool::new(false),
            eventfd: Notify::new(),
            clear,
        }
    }

    fn wake(&self) {
        if self.pending.swap(true, Ordering::AcqRel) {
            return; // coalesced: a write since the last select is on its way
        }
        self.eventfd.notify();
    }

    fn select(&self) {
        self.eventfd.wait();
        match self.clear {
            Clear::Swap => {
                self.pending.swap(false, Ordering::AcqRel);
            }
            Clear::Store => self.pending.store(false, Ordering::Release),
        }
    }
}

/// Two threads publish work and wake; the receiver polls until it has seen both.
fn two_wakers(clear: Clear) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(move || {
        let waker = Arc::new(ModelWaker::new(clear));
        let work = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let waker = Arc::clone(&waker);
                let work = Arc::clone(&work);
                thread::spawn(move || {
                    work.fetch_add(1, Ordering::Release);
                    waker.wake();
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

#[test]
fn no_wake_is_lost() {
    two_wakers(Clear::Swap);
}

/// One thread wakes repeatedly; every round's work is seen.
#[test]
fn repeated_wakes_from_one_thread_are_seen() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(|| {
        let waker = Arc::new(ModelWaker::new(Clear::Swap));
        let work = Arc::new(AtomicUsize::new(0));
        let t = {
            let waker = Arc::clone(&waker);
            let work = Arc::clone(&work);
            thread::spawn(move || {
                for _ in 0..3 {
                    work.fetch_add(1, Ordering::Release);
                    waker.wake();
                }
            })
        };
        while work.load(Ordering::Acquire) < 3 {
            waker.select();
        }
        t.join().unwrap();
    });
}

#[test]
#[ignore = "demonstrates the lost wake-up of the broken variant; loom aborts the binary"]
fn plain_store_clear_loses_a_wake() {
    two_wakers(Clear::Store);
}
