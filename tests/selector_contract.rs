//! Promises every selector backend keeps (the `Selector` trait in `src/sys/mod.rs`), each
//! checked on every backend explicitly (`Poll::with_backend`), whatever `FERRIO_BACKEND` says.
//! Each test here was written against a defect found from outside on one backend.

mod util;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::thread;
use std::time::{Duration, Instant};

use ferrio::tcp::TcpStream;
#[cfg(unix)]
use ferrio::unix::pipe;
use ferrio::{Backend, EventSet, Events, Poll, PollOpt, Token, TryRead, Waker};
use util::{expect_events, expect_no_events, next_readiness, tcp_pair_with_std_peer};

const T: Token = Token(1);
const W: Token = Token(2);

/// Every backend this machine runs (io_uring's absence fails under `FERRIO_STRICT`).
fn backends() -> Vec<(Backend, Poll)> {
    Backend::ALL
        .into_iter()
        .filter_map(|backend| {
            let poll = Poll::with_backend(backend).unwrap();
            if poll.backend() != backend {
                util::precondition_missing(&format!(
                    "{backend}: {}",
                    poll.fallback_reason().unwrap()
                ));
                return None;
            }
            Some((backend, poll))
        })
        .collect()
}

/// The readiness of the first event for `token` within a few bounded polls, or `None`.
fn readiness_of(poll: &mut Poll, events: &mut Events, token: Token) -> Option<EventSet> {
    for _ in 0..10 {
        poll.poll(events, Some(Duration::from_millis(500))).unwrap();
        if let Some(event) = events.iter().find(|e| e.token() == token) {
            return Some(event.kind());
        }
    }
    None
}

/// Reads from `peer` (blocking, bounded) until EOF; fails if the socket stays open.
fn assert_peer_sees_eof(backend: Backend, peer: &mut std::net::TcpStream) {
    peer.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 64];
    loop {
        match peer.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) => panic!("{backend}: the dropped socket was never closed (no EOF): {e}"),
        }
    }
}

/// io_uring: a source registered and dropped (or deregistered) before the next `poll` kept its
/// file open, so the peer never saw EOF.
#[test]
fn a_source_dropped_or_deregistered_before_the_next_poll_is_really_closed() {
    for (backend, mut poll) in backends() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut events = Events::with_capacity(8);
        for deregister_first in [false, true] {
            let ours = TcpStream::connect(&addr).unwrap();
            let (mut peer, _) = listener.accept().unwrap();
            poll.register(
                &ours,
                T,
                EventSet::readable() | EventSet::writable(),
                PollOpt::edge(),
            )
            .unwrap();
            if deregister_first {
                poll.deregister(&ours).unwrap();
            }
            drop(ours);
            assert_peer_sees_eof(backend, &mut peer);
            // The poll goes on working.
            poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
        }
    }
}

/// io_uring: a timed poll returned `Ok(0)` at once when only the backend's own completions
/// (a removal, a cancelled poll) arrived. The wait is never shorter than its timeout.
#[test]
fn a_timed_poll_with_nothing_to_report_waits_out_its_timeout() {
    const TIMEOUT: Duration = Duration::from_millis(200);
    for (backend, mut poll) in backends() {
        let mut events = Events::with_capacity(8);
        // Work whose completions are the backend's own: registrations removed again.
        #[cfg(unix)]
        let (a, _b) = {
            let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
            (ferrio::unix::UnixStream::from_std(a).unwrap(), b)
        };
        #[cfg(windows)]
        let (a, _b) = util::tcp_pair();
        for _ in 0..4 {
            poll.register(&a, T, EventSet::readable(), PollOpt::edge())
                .unwrap();
            poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
            poll.deregister(&a).unwrap();
        }
        let started = Instant::now();
        let n = poll.poll(&mut events, Some(TIMEOUT)).unwrap();
        let waited = started.elapsed();
        assert_eq!(n, 0, "{backend}");
        assert!(
            waited >= TIMEOUT,
            "{backend}: a {TIMEOUT:?} poll with nothing to report returned after {waited:?}"
        );
    }
}

/// poll(2): after a readable event the program did not read, a half-close (the peer's FIN, or
/// our `shutdown(Read)`) was never reported. It is readable + hup, as on epoll.
#[test]
fn a_half_close_after_an_unread_readable_event_is_reported() {
    for (backend, mut poll) in backends() {
        let mut events = Events::with_capacity(8);
        for ours_shuts_down in [false, true] {
            if ours_shuts_down && util::under_wine() {
                // Wine 8 reports our own shutdown(Read) as readable only, never as a hup.
                continue;
            }
            let (ours, mut peer) = tcp_pair_with_std_peer();
            poll.register(&ours, T, EventSet::readable(), PollOpt::edge())
                .unwrap();
            peer.write_all(b"unread").unwrap();
            assert!(
                next_readiness(&mut poll, &mut events, T).is_readable(),
                "{backend}"
            );
            if ours_shuts_down {
                ours.shutdown(Shutdown::Read).unwrap();
            } else {
                peer.shutdown(Shutdown::Write).unwrap();
            }
            if !util::half_close_is_hup(backend) {
                // Documented (`Backend::Poll` without POLLRDHUP): nothing new is visible to
                // poll(2) (POLLIN was set and reported already), so no event comes until the
                // program reads, as the edge contract asks; then the EOF is reported.
                let mut buf = [0u8; 16];
                let mut eof = false;
                for _ in 0..10 {
                    match (&ours).try_read(&mut buf).unwrap() {
                        Some(0) => {
                            eof = true;
                            break;
                        }
                        Some(_) => continue,
                        None => {
                            assert!(next_readiness(&mut poll, &mut events, T).is_readable());
                        }
                    }
                }
                assert!(
                    eof,
                    "{backend} (ours_shuts_down: {ours_shuts_down}): no EOF"
                );
                poll.deregister(&ours).unwrap();
                continue;
            }
            if util::under_wine() {
                // Wine 8 reports a half-close only once the data before it is read (it checks
                // with a peek), so read it first; the half-close must then be reported.
                let mut buf = [0u8; 16];
                let _ = (&ours).read(&mut buf);
            }
            let readiness = next_readiness(&mut poll, &mut events, T);
            assert!(
                readiness.is_readable() && readiness.is_hup(),
                "{backend} (ours_shuts_down: {ours_shuts_down}): {readiness:?}"
            );
            poll.deregister(&ours).unwrap();
        }
    }
}

/// poll(2): data drained through a `try_clone` never re-armed the registered edge-triggered
/// handle, so no event ever followed.
#[test]
fn data_drained_through_a_clone_rearms_the_registered_edge() {
    for (backend, mut poll) in backends() {
        let mut events = Events::with_capacity(8);
        let (ours, mut peer) = tcp_pair_with_std_peer();
        let mut clone = ours.try_clone().unwrap();
        poll.register(&ours, T, EventSet::readable(), PollOpt::edge())
            .unwrap();
        for round in 0..3 {
            peer.write_all(b"ping").unwrap();
            let readiness = readiness_of(&mut poll, &mut events, T);
            assert!(
                readiness.is_some_and(|r| r.is_readable()),
                "{backend}: round {round}: no edge ({readiness:?})"
            );
            // Drain through the clone, which is not registered.
            let mut buf = [0u8; 64];
            let mut got = 0;
            while got < 4 {
                match clone.try_read(&mut buf).unwrap() {
                    Some(n) => got += n,
                    None => thread::yield_now(),
                }
            }
            assert_eq!(clone.try_read(&mut buf).unwrap(), None);
        }
        drop(ours);
    }
}

/// poll(2): with a one-event buffer and the waker woken before each poll, the waker took the
/// only slot every time and no IO event was ever reported. Nothing starves.
#[test]
fn a_waker_woken_before_every_poll_does_not_starve_io() {
    for (backend, mut poll) in backends() {
        #[cfg(unix)]
        let (reader, mut writer) = pipe().unwrap();
        // Windows: a loopback TCP pair stands in for the pipe.
        #[cfg(windows)]
        let (mut writer, reader) = util::tcp_pair();
        writer.write_all(b"x").unwrap();
        poll.register(&reader, T, EventSet::readable(), PollOpt::level())
            .unwrap();
        let waker = Waker::new(poll.registry(), W).unwrap();
        let mut events = Events::with_capacity(1);
        let (mut io, mut wakes) = (0, 0);
        for _ in 0..20 {
            waker.wake().unwrap();
            poll.poll(&mut events, Some(Duration::from_secs(5)))
                .unwrap();
            assert!(events.len() <= 1);
            for event in &events {
                match event.token() {
                    T => io += 1,
                    W => wakes += 1,
                    other => panic!("{backend}: unexpected {other:?}"),
                }
            }
        }
        assert!(io >= 5 && wakes >= 5, "{backend}: io {io}, wakes {wakes}");
    }
}

/// epoll: `wake()` followed at once by dropping the `Waker` left a blocked `poll(None)`
/// blocked forever. On every backend the wake lands, with the dropped waker's token.
#[test]
fn a_wake_followed_by_dropping_the_waker_still_ends_the_poll() {
    for (backend, mut poll) in backends() {
        let mut events = Events::with_capacity(4);
        // Before the poll starts.
        let waker = Waker::new(poll.registry(), W).unwrap();
        waker.wake().unwrap();
        drop(waker);
        let got = expect_events(&mut poll, &mut events, vec![(W, EventSet::readable())]);
        assert!(got.iter().all(|&(t, _)| t == W), "{backend}: {got:?}");
        // While the poll blocks (the wake may also land before it starts: the same promise).
        let waker = Waker::new(poll.registry(), W).unwrap();
        let t = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            waker.wake().unwrap();
            drop(waker);
        });
        let started = Instant::now();
        let mut seen = false;
        while !seen && started.elapsed() < Duration::from_secs(10) {
            poll.poll(&mut events, Some(Duration::from_secs(10)))
                .unwrap();
            seen = events.iter().any(|e| e.token() == W);
        }
        t.join().unwrap();
        assert!(seen, "{backend}: the wake was lost with the dropped Waker");
        // A new Waker works, and nothing is pending.
        let waker = Waker::new(poll.registry(), Token(3)).unwrap();
        expect_no_events(&mut poll, &mut events);
        waker.wake().unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(3), EventSet::readable())],
        );
    }
}

/// An empty pipe whose writer is gone is a hang-up, reported the same way by every backend
/// (poll(2) once added readable to it). Unix: ferrio's pipes are Unix-only.
#[cfg(unix)]
#[test]
fn an_empty_pipe_without_writers_reads_the_same_on_every_backend() {
    let mut kinds = Vec::new();
    for (backend, mut poll) in backends() {
        let (reader, writer) = pipe().unwrap();
        poll.register(&reader, T, EventSet::readable(), PollOpt::edge())
            .unwrap();
        drop(writer);
        let mut events = Events::with_capacity(4);
        let kind = next_readiness(&mut poll, &mut events, T);
        assert!(kind.is_hup(), "{backend}: {kind:?}");
        kinds.push((backend, kind));
    }
    let (first, kind) = kinds[0];
    for &(backend, other) in &kinds[1..] {
        assert_eq!(other, kind, "{backend} differs from {first}");
    }
}
