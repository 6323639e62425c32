//! Registrations made on threads that then exit: the registration belongs to the `Poll`, not
//! to the thread that made it, on every backend.
#![cfg(unix)]

mod util;

use std::thread;
use std::time::Duration;

use ferrio::unix::UnixStream;
use ferrio::{Backend, EventSet, Events, Poll, PollOpt, Token, TryRead, TryWrite};

use util::*;

/// A thread registers a source while the poller is blocked, then exits; the source becomes
/// ready only afterwards, several times: every readiness is reported, in every mode.
#[test]
fn a_source_registered_by_an_exited_thread_during_a_blocked_poll_keeps_reporting() {
    for opts in [PollOpt::edge(), PollOpt::level(), PollOpt::oneshot()] {
        for (backend, mut poll) in polls() {
            let mut events = Events::with_capacity(8);
            eprintln!("scenario: {backend} {opts:?}");
            let (a, mut b) = UnixStream::pair().unwrap();
            let registry = poll.registry().clone();
            let t = thread::spawn(move || {
                // Let the poller block first (bounded: the poll below waits 10 s at most, and
                // any registration ends it or is seen by it).
                thread::sleep(Duration::from_millis(50));
                registry
                    .register(&a, Token(1), EventSet::readable(), opts)
                    .unwrap();
                a
            });
            // Blocked while the thread registers (nothing is ready: returns on timeout or
            // on a spurious wake-up).
            poll_once(&mut poll, &mut events, Duration::from_millis(300));
            let a = t.join().unwrap();
            // The registering thread is gone. Now the source becomes ready, three times.
            for round in 0..3 {
                b.try_write(b"x").unwrap();
                let got = next_readiness(&mut poll, &mut events, Token(1));
                assert!(
                    got.is_readable(),
                    "{backend} {opts:?} round {round}: {got:?}"
                );
                let mut buf = [0u8; 8];
                assert_eq!((&a).try_read(&mut buf).unwrap(), Some(1));
                if opts.is_oneshot() {
                    poll.reregister(&a, Token(1), EventSet::readable(), opts)
                        .unwrap();
                }
            }
        }
    }
}

/// Another thread's deregistration of one source submits what was queued, a registration
/// made on the poller's thread included; that thread exits. The queued source still reports.
#[test]
fn a_registration_submitted_by_another_threads_deregister_survives_that_thread() {
    for opts in [PollOpt::edge(), PollOpt::level()] {
        for (backend, mut poll) in polls() {
            let mut events = Events::with_capacity(8);
            eprintln!("scenario: {backend} {opts:?}");
            let (x, mut x_peer) = UnixStream::pair().unwrap();
            let (y, _y_peer) = UnixStream::pair().unwrap();
            poll.register(&y, Token(2), EventSet::readable(), opts)
                .unwrap();
            poll_once(&mut poll, &mut events, Duration::ZERO);
            // Queued (not yet submitted on io_uring: no poll is running).
            poll.register(&x, Token(1), EventSet::readable(), opts)
                .unwrap();
            let registry = poll.registry().clone();
            thread::spawn(move || {
                registry.deregister(&y).unwrap();
                y
            })
            .join()
            .unwrap();
            for round in 0..3 {
                x_peer.try_write(b"x").unwrap();
                let got = next_readiness(&mut poll, &mut events, Token(1));
                assert!(
                    got.is_readable(),
                    "{backend} {opts:?} round {round}: {got:?}"
                );
                let mut buf = [0u8; 8];
                assert_eq!((&x).try_read(&mut buf).unwrap(), Some(1));
            }
        }
    }
}

/// A `Poll` set up and polled on one thread (its registrations and re-arms submitted there)
/// is handed to another thread, and the first exits: every source and the waker still report.
#[test]
fn a_poll_handed_to_another_thread_outlives_the_thread_that_set_it_up() {
    for opts in [PollOpt::edge(), PollOpt::level(), PollOpt::oneshot()] {
        for backend in Backend::ALL {
            let setup = thread::spawn(move || {
                let mut poll = Poll::with_backend(backend).unwrap();
                let waker = ferrio::Waker::new(poll.registry(), Token(9)).unwrap();
                let mut events = Events::with_capacity(8);
                let mut pairs = Vec::new();
                for i in 0..4 {
                    let (a, b) = UnixStream::pair().unwrap();
                    poll.register(&a, Token(i), EventSet::readable(), opts)
                        .unwrap();
                    pairs.push((a, b));
                }
                poll_once(&mut poll, &mut events, Duration::ZERO);
                (poll, waker, pairs)
            });
            let (mut poll, waker, mut pairs) = setup.join().unwrap();
            if poll.backend() != backend {
                precondition_missing(&format!("{backend} runs here (fell back)"));
                continue;
            }
            let worker = thread::spawn(move || {
                let mut events = Events::with_capacity(8);
                for (i, (a, b)) in pairs.iter_mut().enumerate() {
                    b.try_write(b"x").unwrap();
                    let got = next_readiness(&mut poll, &mut events, Token(i));
                    assert!(got.is_readable(), "{backend} {opts:?} source {i}: {got:?}");
                    let mut buf = [0u8; 4];
                    (&*a).try_read(&mut buf).unwrap();
                }
                waker.wake().unwrap();
                expect_events(
                    &mut poll,
                    &mut events,
                    vec![(Token(9), EventSet::readable())],
                );
            });
            worker.join().unwrap();
        }
    }
}

/// Another thread deregisters and drops level-triggered streams while the poller polls in a
/// tight loop (each report of a level source queues its re-arm for the next poll): every
/// dropped stream really closes (its peer reads EOF), however the deregistration and the
/// poller's submission interleave.
#[test]
fn streams_deregistered_while_the_poller_rearms_them_really_close() {
    use std::io::Read;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    for backend in Backend::ALL {
        let mut poll = Poll::with_backend(backend).unwrap();
        if poll.backend() != backend {
            precondition_missing(&format!("{backend} runs here (fell back)"));
            continue;
        }
        let registry = poll.registry().clone();
        let stop = Arc::new(AtomicBool::new(false));
        let reported = Arc::new(AtomicUsize::new(0));
        let poller = {
            let stop = stop.clone();
            let reported = reported.clone();
            thread::spawn(move || {
                let mut events = Events::with_capacity(64);
                while !stop.load(Ordering::Relaxed) {
                    match poll.poll(&mut events, Some(Duration::from_millis(1))) {
                        Ok(n) => {
                            reported.fetch_add(n, Ordering::Relaxed);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => panic!("{backend}: {e}"),
                    }
                }
            })
        };
        let mut stuck = 0;
        for i in 0..300 {
            let (ours, mut peer) = tcp_pair_with_std_peer();
            registry
                .register(&ours, Token(i), EventSet::writable(), PollOpt::level())
                .unwrap();
            // Let the poller report it (and queue its re-arm) a few times; bounded.
            let seen = reported.load(Ordering::Relaxed);
            let start = std::time::Instant::now();
            while reported.load(Ordering::Relaxed) < seen + 2 {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "{backend}: stream {i} (a reused fd number) was never reported"
                );
                thread::yield_now();
            }
            registry.deregister(&ours).unwrap();
            drop(ours);
            peer.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut buf = [0u8; 8];
            match peer.read(&mut buf) {
                Ok(0) => {}
                other => {
                    stuck += 1;
                    eprintln!("{backend}: stream {i} not closed: {other:?}");
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        poller.join().unwrap();
        assert_eq!(
            stuck, 0,
            "{backend}: {stuck} of 300 dropped streams stayed open"
        );
    }
}

/// While the poller waits, another thread deregisters and closes a source and registers a
/// new one that gets the same fd number: the new registration is reported (it is not
/// dropped as the closed fd the wait saw), and no event of the old file reaches its token.
#[test]
fn an_fd_number_reused_during_a_blocked_poll_keeps_its_new_registration() {
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    for backend in Backend::ALL {
        let mut poll = Poll::with_backend(backend).unwrap();
        if poll.backend() != backend {
            precondition_missing(&format!("{backend} runs here (fell back)"));
            continue;
        }
        let registry = poll.registry().clone();
        let stop = Arc::new(AtomicBool::new(false));
        // The last token reported, +1 (0: none yet).
        let last = Arc::new(AtomicUsize::new(0));
        let hups = Arc::new(AtomicUsize::new(0));
        let poller = {
            let (stop, last, hups) = (stop.clone(), last.clone(), hups.clone());
            thread::spawn(move || {
                let mut events = Events::with_capacity(64);
                while !stop.load(Ordering::Relaxed) {
                    match poll.poll(&mut events, Some(Duration::from_millis(2))) {
                        Ok(_) => {
                            for e in events.iter() {
                                if e.kind().is_hup() {
                                    hups.fetch_add(1, Ordering::Relaxed);
                                }
                                last.store(e.token().0 + 1, Ordering::Relaxed);
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => panic!("{backend}: {e}"),
                    }
                }
            })
        };
        let mut reused = 0;
        let (mut cur, mut cur_peer) = UnixStream::pair().unwrap();
        for i in 1..=500usize {
            registry
                .register(&cur, Token(i), EventSet::writable(), PollOpt::level())
                .unwrap();
            let start = std::time::Instant::now();
            while last.load(Ordering::Relaxed) != i + 1 {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "{backend}: registration {i} (fd {}) never reported",
                    cur.as_raw_fd()
                );
                thread::yield_now();
            }
            // Close it (peer too: a hang-up the wait may see) and reuse the number.
            let old_fd = cur.as_raw_fd();
            registry.deregister(&cur).unwrap();
            drop(cur);
            drop(cur_peer);
            let (a, b) = UnixStream::pair().unwrap();
            if a.as_raw_fd() == old_fd || b.as_raw_fd() == old_fd {
                reused += 1;
            }
            (cur, cur_peer) = if b.as_raw_fd() == old_fd {
                (b, a)
            } else {
                (a, b)
            };
        }
        stop.store(true, Ordering::Relaxed);
        poller.join().unwrap();
        assert!(reused > 0, "{backend}: no fd number was reused");
        assert_eq!(
            hups.load(Ordering::Relaxed),
            0,
            "{backend}: a closed file's hang-up was reported under a live token"
        );
    }
}
