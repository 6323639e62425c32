//! Handles that outlive or race their `Poll`, on every backend of the build: wakers used from
//! many threads while the `Poll` is dropped, a `Registry` clone and a `Waker` after the drop,
//! an event loop's `Sender`s used from many threads while the loop is dropped; and the waker's
//! share of a one-event buffer under a storm of ready sources.
#![cfg(unix)]

mod util;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use ferrio::unix::UnixStream;
use ferrio::{
    Backend, EventLoop, EventLoopConfig, EventSet, Events, Handler, NotifyError, Poll, PollOpt,
    Token, TryWrite, Waker,
};

use util::*;

/// The tests of this file run one at a time: some count this process's open fds.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn backends() -> Vec<Backend> {
    let mut out = Vec::new();
    for backend in Backend::ALL {
        let poll = Poll::with_backend(backend).unwrap();
        if poll.backend() != backend {
            precondition_missing(&format!("{backend} runs here (fell back)"));
            continue;
        }
        out.push(backend);
    }
    out
}

/// Eight threads call `wake` in a loop while the `Poll` is polled and then dropped under them:
/// no thread panics or gets an error, every thread stops, and once the wakers are gone every
/// fd of the `Poll` is closed.
#[test]
fn wakes_from_many_threads_while_the_poll_is_dropped() {
    let _serial = serial();
    for backend in backends() {
        for round in 0..10 {
            let before = open_fds();
            let mut poll = Poll::with_backend(backend).unwrap();
            let waker = Arc::new(Waker::new(poll.registry(), Token(9)).unwrap());
            let stop = Arc::new(AtomicBool::new(false));
            let wakes = Arc::new(AtomicUsize::new(0));
            let start = Arc::new(Barrier::new(9));
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    let (waker, stop, wakes, start) = (
                        Arc::clone(&waker),
                        Arc::clone(&stop),
                        Arc::clone(&wakes),
                        Arc::clone(&start),
                    );
                    thread::spawn(move || {
                        start.wait();
                        while !stop.load(Ordering::Relaxed) {
                            waker.wake().unwrap();
                            wakes.fetch_add(1, Ordering::Relaxed);
                        }
                        // A last burst after the Poll is certainly gone.
                        for _ in 0..100 {
                            waker.wake().unwrap();
                        }
                    })
                })
                .collect();
            start.wait();
            let mut events = Events::with_capacity(1);
            let n = poll_once(&mut poll, &mut events, Duration::from_secs(5));
            assert_eq!(n, 1, "{backend}: the wakes did not end the poll");
            assert_eq!(events.get(0).unwrap().token(), Token(9), "{backend}");
            // Drop the Poll in the middle of the storm (every round at a different point).
            for _ in 0..round {
                poll_once(&mut poll, &mut events, Duration::from_millis(10));
            }
            drop(poll);
            stop.store(true, Ordering::Relaxed);
            for t in threads {
                t.join().expect("a waking thread panicked");
            }
            assert!(wakes.load(Ordering::Relaxed) > 0, "{backend}");
            drop(waker);
            assert_eq!(
                open_fds(),
                before,
                "{backend} round {round}: the Poll's fds outlive it and its waker"
            );
        }
    }
}

/// A `Registry` clone of a dropped `Poll`: registering a source fails cleanly or succeeds
/// harmlessly (the source then registers with a new `Poll`), and a `Waker` made or used after
/// the drop is an error or a no-op, never a panic.
#[test]
fn a_registry_and_a_waker_of_a_dropped_poll_fail_cleanly() {
    let _serial = serial();
    for backend in backends() {
        let before = open_fds();
        {
            let poll = Poll::with_backend(backend).unwrap();
            let registry = poll.registry().clone();
            let waker = Waker::new(&registry, Token(1)).unwrap();
            drop(poll);
            waker.wake().unwrap();
            waker.wake().unwrap();
            drop(waker);
            // Another waker for the dropped Poll.
            match Waker::new(&registry, Token(2)) {
                Ok(w) => w.wake().unwrap(),
                Err(e) => assert!(!e.to_string().is_empty()),
            }
            let (a, mut b) = UnixStream::pair().unwrap();
            let _ = registry.register(&a, Token(3), EventSet::readable(), PollOpt::edge());
            let mut fresh = Poll::with_backend(backend).unwrap();
            fresh
                .register(&a, Token(4), EventSet::readable(), PollOpt::edge())
                .unwrap();
            b.try_write(b"x").unwrap();
            let mut events = Events::with_capacity(4);
            let got = expect_events(
                &mut fresh,
                &mut events,
                vec![(Token(4), EventSet::readable())],
            );
            assert!(
                got.iter().all(|(t, _)| *t == Token(4)),
                "{backend}: {got:?}"
            );
            drop(registry);
        }
        assert_eq!(open_fds(), before, "{backend}: fds left behind");
    }
}

/// A one-event buffer, twenty level-triggered sources always ready, and a waker woken before
/// every poll: the waker's event comes within a few polls each time (it is not starved by
/// the sources), and every source is still reported (the waker does not starve them).
#[test]
fn a_waker_and_a_storm_of_sources_share_a_one_event_buffer() {
    const N: usize = 20;
    let _serial = serial();
    for backend in backends() {
        let mut poll = Poll::with_backend(backend).unwrap();
        let pairs: Vec<_> = (0..N)
            .map(|_| {
                let (a, mut b) = UnixStream::pair().unwrap();
                b.try_write(b"x").unwrap();
                (a, b)
            })
            .collect();
        for (i, (a, _)) in pairs.iter().enumerate() {
            poll.register(a, Token(i), EventSet::readable(), PollOpt::level())
                .unwrap();
        }
        let waker = Waker::new(poll.registry(), Token(1000)).unwrap();
        let mut one = Events::with_capacity(1);
        let mut seen = vec![0usize; N];
        for wake in 0..20 {
            waker.wake().unwrap();
            let mut woken = false;
            for _ in 0..=N + 2 {
                let n = poll_once(&mut poll, &mut one, Duration::from_secs(1));
                assert_eq!(n, 1, "{backend}");
                let t = one.get(0).unwrap().token();
                if t == Token(1000) {
                    woken = true;
                    break;
                }
                seen[t.0] += 1;
            }
            assert!(
                woken,
                "{backend}: wake {wake} not reported within {} polls",
                N + 3
            );
        }
        // More polls without wakes: the sources get their turns.
        for _ in 0..3 * N {
            poll_once(&mut poll, &mut one, Duration::from_secs(1));
            if let Some(e) = one.get(0) {
                assert_ne!(e.token(), Token(1000), "{backend}: a wake reported twice");
                seen[e.token().0] += 1;
            }
        }
        assert!(
            seen.iter().all(|&n| n > 0),
            "{backend}: sources starved next to the waker: {seen:?}"
        );
    }
}

struct Nothing;

impl Handler for Nothing {
    type Timeout = ();
    type Message = u64;
}

/// Eight threads send to an event loop through clones of its `Sender` while the loop runs
/// and is then dropped: each send is delivered or refused with the message handed back
/// (`Full` or `Closed`), and after the drop every send is `Closed(Some(msg))`.
#[test]
fn senders_used_from_many_threads_while_the_loop_is_dropped() {
    let _serial = serial();
    for backend in backends() {
        let mut config = EventLoopConfig::new();
        config.backend(backend).notify_capacity(64);
        let mut event_loop = EventLoop::<Nothing>::configured(&config).unwrap();
        let sender = event_loop.channel();
        let dropped = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let sender = sender.clone();
                let dropped = Arc::clone(&dropped);
                thread::spawn(move || {
                    let mut closed_after_drop = 0;
                    for i in 0.. {
                        let msg = t << 32 | i;
                        let was_dropped = dropped.load(Ordering::Acquire);
                        match sender.send(msg) {
                            Ok(()) => assert!(!was_dropped, "sent to a dropped loop"),
                            Err(NotifyError::Full(m)) => {
                                assert!(!was_dropped, "Full from a dropped loop");
                                assert_eq!(m, msg)
                            }
                            Err(NotifyError::Closed(m)) => {
                                assert_eq!(m, Some(msg));
                                if was_dropped {
                                    closed_after_drop += 1;
                                    if closed_after_drop == 100 {
                                        break;
                                    }
                                }
                            }
                            Err(e) => panic!("unexpected {e:?}"),
                        }
                    }
                    assert!(sender.is_closed());
                })
            })
            .collect();
        let mut handler = Nothing;
        for _ in 0..5 {
            event_loop.run_once(&mut handler, Some(10)).unwrap();
        }
        drop(event_loop);
        dropped.store(true, Ordering::Release);
        for t in threads {
            t.join().expect("a sending thread failed");
        }
        match sender.send(1) {
            Err(NotifyError::Closed(Some(1))) => {}
            other => panic!("{backend}: after the drop: {other:?}"),
        }
    }
}
