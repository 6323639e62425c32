//! Behaviours of mio 1.x's test suite, translated to ferrio and run on every backend of the
//! build: shutdown close events, write-then-drop, registration from another thread during a
//! blocked poll, many edge sources through a one-event buffer, zero-length and truncated
//! datagrams, extreme poll timeouts.
#![cfg(unix)]

mod util;

use std::io::{Read, Write};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ferrio::tcp::{Shutdown, TcpListener, TcpStream};
use ferrio::udp::UdpSocket;
use ferrio::unix::{UnixDatagram, UnixStream};
use ferrio::{Backend, EventSet, Events, Poll, PollOpt, Token, TryRead, TryWrite, Waker};

use util::*;

/// Our own `shutdown(Read)` is reported to us as read-closed (hup where the OS has
/// `POLLRDHUP`), in edge and level mode.
#[test]
fn own_shutdown_read_is_a_read_close_event() {
    for opts in [PollOpt::edge(), PollOpt::level()] {
        for (backend, mut poll) in polls() {
            let mut events = Events::with_capacity(8);
            let (client, _server) = tcp_pair();
            poll.register(&client, Token(1), EventSet::readable(), opts)
                .unwrap();
            expect_no_events(&mut poll, &mut events);
            client.shutdown(Shutdown::Read).unwrap();
            let got = next_readiness(&mut poll, &mut events, Token(1));
            assert!(
                got.contains(half_close(backend)),
                "{backend} {opts:?}: shutdown(Read) gave {got:?}"
            );
        }
    }
}

/// The server's `shutdown(Write)` reaches the client as readable + read-closed; a later
/// `shutdown(Both)` by the client is reported as hup (both directions closed) on the
/// backends that report hup for half-closes.
#[test]
fn peer_shutdown_write_then_own_shutdown_both() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let (client, server) = tcp_pair();
        poll.register(
            &client,
            Token(1),
            EventSet::readable() | EventSet::writable(),
            PollOpt::edge(),
        )
        .unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(1), EventSet::writable())],
        );
        server.shutdown(Shutdown::Write).unwrap();
        let got = next_readiness(&mut poll, &mut events, Token(1));
        assert!(got.contains(half_close(backend)), "{backend}: {got:?}");
        client.shutdown(Shutdown::Both).unwrap();
        let got = next_readiness(&mut poll, &mut events, Token(1));
        assert!(got.is_hup(), "{backend}: shutdown(Both) gave {got:?}");
        let mut buf = [0u8; 4];
        assert_eq!((&client).try_read(&mut buf).unwrap(), Some(0));
    }
}

/// A client writes and drops its stream at once: the server, registered edge-triggered,
/// reads every byte and then EOF.
#[test]
fn write_then_drop_delivers_every_byte_then_eof() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let listener = TcpListener::bind(&any_local_addr()).unwrap();
        let mut client = TcpStream::connect(&listener.local_addr().unwrap()).unwrap();
        let server = accept_one(&listener);
        wait_connected(&client);
        poll.register(&server, Token(2), EventSet::readable(), PollOpt::edge())
            .unwrap();
        let mut data = vec![0u8; 64 * 1024];
        fill_pattern(&mut data, 0);
        let mut sent = 0;
        while sent < data.len() {
            match client.try_write(&data[sent..]).unwrap() {
                Some(n) => sent += n,
                None => break,
            }
        }
        drop(client);
        let mut got = Vec::new();
        let mut buf = [0u8; 8192];
        'outer: for _ in 0..100 {
            expect_events(
                &mut poll,
                &mut events,
                vec![(Token(2), EventSet::readable())],
            );
            loop {
                match (&server).try_read(&mut buf).unwrap() {
                    Some(0) => break 'outer,
                    Some(n) => got.extend_from_slice(&buf[..n]),
                    None => break,
                }
            }
        }
        assert_eq!(got.len(), sent, "{backend}");
        check_pattern(&got, 0);
    }
}

/// While the main thread is blocked in `poll(None)`, another thread registers a ready
/// source, then reregisters a second from readable to writable: both end the blocked polls.
/// A deregistration from another thread of a ready source is never reported afterwards.
#[test]
fn registration_from_another_thread_ends_a_blocked_poll() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let (a, _a_peer) = UnixStream::pair().unwrap();
        let registry = poll.registry().clone();
        let t = thread::spawn(move || {
            registry
                .register(&a, Token(1), EventSet::writable(), PollOpt::edge())
                .unwrap();
            a
        });
        let start = Instant::now();
        poll.poll(&mut events, Some(Duration::from_secs(10)))
            .unwrap();
        let a = t.join().unwrap();
        assert!(
            events.iter().any(|e| e.token() == Token(1)),
            "{backend}: the blocked poll did not see the registration ({:?})",
            start.elapsed()
        );
        // Reregister from readable to writable during a blocked poll.
        let (b, _b_peer) = UnixStream::pair().unwrap();
        poll.register(&b, Token(2), EventSet::readable(), PollOpt::edge())
            .unwrap();
        expect_no_events(&mut poll, &mut events);
        let registry = poll.registry().clone();
        let t = thread::spawn(move || {
            registry
                .reregister(&b, Token(2), EventSet::writable(), PollOpt::edge())
                .unwrap();
            b
        });
        poll.poll(&mut events, Some(Duration::from_secs(10)))
            .unwrap();
        let b = t.join().unwrap();
        if !events.iter().any(|e| e.token() == Token(2)) {
            // A spurious wake-up is allowed; the next poll must report it.
            let got = next_readiness(&mut poll, &mut events, Token(2));
            assert!(got.is_writable(), "{backend}: {got:?}");
        }
        // Deregister from another thread: never reported after the call returned.
        poll.deregister(&a).unwrap();
        let registry = poll.registry().clone();
        let t = thread::spawn(move || {
            registry.deregister(&b).unwrap();
            b
        });
        let _b = t.join().unwrap();
        expect_no_events(&mut poll, &mut events);
        drop(a);
    }
}

/// Twenty edge-triggered sources become ready at once and are polled through a one-event
/// buffer: every one is reported (none is lost because the buffer was full), each once.
#[test]
fn many_ready_edge_sources_through_a_one_event_buffer() {
    for opts in [PollOpt::edge(), PollOpt::oneshot(), PollOpt::level()] {
        for (backend, mut poll) in polls() {
            let mut events = Events::with_capacity(1);
            let mut pairs = Vec::new();
            for i in 0..20 {
                let (a, b) = UnixStream::pair().unwrap();
                poll.register(&a, Token(i), EventSet::readable(), opts)
                    .unwrap();
                pairs.push((a, b));
            }
            for (_, b) in &mut pairs {
                b.try_write(b"x").unwrap();
            }
            let mut seen = vec![0usize; 20];
            for _ in 0..200 {
                poll_once(&mut poll, &mut events, Duration::from_millis(100));
                for e in events.iter() {
                    seen[e.token().0] += 1;
                }
                if seen.iter().all(|&n| n > 0) {
                    break;
                }
            }
            assert!(
                seen.iter().all(|&n| n > 0),
                "{backend} {opts:?}: sources never reported: {seen:?}"
            );
            if !opts.is_level() {
                expect_no_events(&mut poll, &mut events);
                assert!(
                    seen.iter().all(|&n| n == 1),
                    "{backend} {opts:?}: reported more than once: {seen:?}"
                );
            }
        }
    }
}

/// Zero-length datagrams are datagrams: readable is reported and `recv_from` returns
/// `Some((0, addr))`; a datagram larger than the buffer is truncated to it and the rest is
/// gone (the next receive would block).
#[test]
fn zero_length_and_truncated_datagrams() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let a = UdpSocket::bound(&any_local_addr()).unwrap();
        let b = UdpSocket::bound(&any_local_addr()).unwrap();
        poll.register(&b, Token(1), EventSet::readable(), PollOpt::edge())
            .unwrap();
        let b_addr = b.local_addr().unwrap();
        assert_eq!(a.send_to(&[], &b_addr).unwrap(), Some(0));
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(1), EventSet::readable())],
        );
        let mut buf = [0u8; 8];
        let (n, from) = b.recv_from(&mut buf).unwrap().expect("a datagram");
        assert_eq!((n, from), (0, a.local_addr().unwrap()), "{backend}");
        assert!(b.recv_from(&mut buf).unwrap().is_none(), "{backend}");

        let big = [7u8; 100];
        assert_eq!(a.send_to(&big, &b_addr).unwrap(), Some(100));
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(1), EventSet::readable())],
        );
        let mut small = [0u8; 10];
        let (n, _) = b.recv_from(&mut small).unwrap().expect("a datagram");
        assert_eq!(n, 10, "{backend}: truncated datagram length");
        assert_eq!(small, [7u8; 10]);
        assert!(b.recv_from(&mut buf).unwrap().is_none(), "{backend}");
        // A receive into an empty buffer consumes a datagram too.
        a.send_to(b"hello", &b_addr).unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(1), EventSet::readable())],
        );
        let r = b.recv_from(&mut []).unwrap();
        assert_eq!(r.map(|(n, _)| n), Some(0), "{backend}");
        assert!(b.recv_from(&mut buf).unwrap().is_none(), "{backend}");
    }
}

/// Unix datagram pair: zero-length datagrams, and a shutdown of both directions is reported.
#[test]
fn unix_datagram_zero_length_and_shutdown() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let (a, b) = UnixDatagram::pair().unwrap();
        poll.register(&b, Token(1), EventSet::readable(), PollOpt::edge())
            .unwrap();
        assert_eq!(a.send(&[]).unwrap(), Some(0));
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(1), EventSet::readable())],
        );
        let mut buf = [0u8; 4];
        assert_eq!(b.recv(&mut buf).unwrap(), Some(0), "{backend}");
        assert_eq!(b.recv(&mut buf).unwrap(), None, "{backend}");
        b.shutdown(Shutdown::Both).unwrap();
        let got = next_readiness(&mut poll, &mut events, Token(1));
        assert!(got.is_readable() || got.is_hup(), "{backend}: {got:?}");
    }
}

/// Extreme timeouts: `Duration::MAX` with a ready source returns at once; with a waker woken
/// from another thread it returns; one nanosecond with nothing ready returns 0.
#[test]
fn extreme_poll_timeouts() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let (a, mut b) = UnixStream::pair().unwrap();
        poll.register(&a, Token(1), EventSet::readable(), PollOpt::level())
            .unwrap();
        assert_eq!(
            poll.poll(&mut events, Some(Duration::from_nanos(1)))
                .unwrap(),
            0
        );
        assert_eq!(poll.poll(&mut events, Some(Duration::ZERO)).unwrap(), 0);
        b.try_write(b"x").unwrap();
        let n = poll.poll(&mut events, Some(Duration::MAX)).unwrap();
        assert_eq!(n, 1, "{backend}");
        let mut buf = [0u8; 4];
        (&a).try_read(&mut buf).unwrap();
        let waker = Arc::new(Waker::new(poll.registry(), Token(2)).unwrap());
        let w = waker.clone();
        let t = thread::spawn(move || w.wake().unwrap());
        let n = poll.poll(&mut events, Some(Duration::MAX)).unwrap();
        t.join().unwrap();
        assert!(
            n == 1 && events.get(0).unwrap().token() == Token(2),
            "{backend}: {n}"
        );
        let max_ish = Duration::new(u64::MAX, 999_999_999);
        let w = waker.clone();
        let t = thread::spawn(move || w.wake().unwrap());
        poll.poll(&mut events, Some(max_ish)).unwrap();
        t.join().unwrap();
        let big_ms = Duration::from_millis(i32::MAX as u64 + 1);
        waker.wake().unwrap();
        poll.poll(&mut events, Some(big_ms)).unwrap();
        assert_eq!(
            events.get(0).map(|e| e.token()),
            Some(Token(2)),
            "{backend}"
        );
    }
}

/// A waker whose poll has a timeout and no wake returns 0 after the timeout (not before),
/// and many wakes from one thread before a poll are one event.
#[test]
fn waker_coalesces_and_timeout_without_wake_is_zero() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let waker = Waker::new(poll.registry(), Token(3)).unwrap();
        let start = Instant::now();
        assert_eq!(
            poll.poll(&mut events, Some(Duration::from_millis(30)))
                .unwrap(),
            0
        );
        assert!(
            start.elapsed() >= Duration::from_millis(30),
            "{backend}: {:?}",
            start.elapsed()
        );
        for _ in 0..1000 {
            waker.wake().unwrap();
        }
        poll.poll(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        let wakes = events.iter().filter(|e| e.token() == Token(3)).count();
        assert_eq!(wakes, 1, "{backend}");
        assert_eq!(
            poll.poll(&mut events, Some(Duration::from_millis(10)))
                .unwrap(),
            0,
            "{backend}"
        );
    }
}

/// A source registered in two different pollers: allowed by epoll (separate registrations),
/// refused or allowed alike on every backend; when allowed, both report.
#[test]
fn one_source_in_two_polls() {
    let mut answers = Vec::new();
    for (backend, mut poll) in polls() {
        let mut other = Poll::with_backend(backend).unwrap();
        let mut events = Events::with_capacity(8);
        let (a, mut b) = UnixStream::pair().unwrap();
        poll.register(&a, Token(1), EventSet::readable(), PollOpt::edge())
            .unwrap();
        let r = other.register(&a, Token(2), EventSet::readable(), PollOpt::edge());
        answers.push((backend, r.as_ref().map_err(|e| e.kind()).copied()));
        b.try_write(b"x").unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(1), EventSet::readable())],
        );
        if r.is_ok() {
            expect_events(
                &mut other,
                &mut events,
                vec![(Token(2), EventSet::readable())],
            );
        }
        drop(a);
        // Both polls still work afterwards.
        let (c, mut d) = UnixStream::pair().unwrap();
        other
            .register(&c, Token(3), EventSet::readable(), PollOpt::edge())
            .unwrap();
        d.try_write(b"y").unwrap();
        expect_events(
            &mut other,
            &mut events,
            vec![(Token(3), EventSet::readable())],
        );
    }
    let first = answers[0].1;
    assert!(
        answers.iter().all(|a| a.1 == first),
        "backends disagree: {answers:?}"
    );
}

/// A std peer reads slowly (stalls): the edge-triggered writer gets writable again when the
/// peer drains, on every backend.
#[test]
fn writable_again_after_a_stalled_peer_drains() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let (mut ours, mut peer) = tcp_pair_with_std_peer();
        poll.register(&ours, Token(1), EventSet::writable(), PollOpt::edge())
            .unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(1), EventSet::writable())],
        );
        let chunk = [1u8; 65536];
        let mut total = 0usize;
        while let Some(n) = ours.try_write(&chunk).unwrap() {
            total += n;
        }
        assert!(total > 0);
        expect_no_events(&mut poll, &mut events);
        let reader = thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 20];
            let mut read = 0;
            peer.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            while read < total {
                read += peer.read(&mut buf).unwrap();
            }
            peer
        });
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(1), EventSet::writable())],
        );
        let mut peer = reader.join().unwrap();
        ours.try_write(b"end").unwrap();
        let mut end = [0u8; 3];
        peer.read_exact(&mut end).unwrap();
        let _ = peer.write(b"");
        let _ = backend;
    }
}

/// Thousands of sources ready at once, more than io_uring's submission (256) and completion
/// (4096) queues hold and the events buffer by far: every one is reported, in every mode,
/// and after draining nothing more is (edge, oneshot).
#[test]
fn thousands_ready_at_once_overflow_nothing() {
    const N: usize = 5000;
    for opts in [PollOpt::edge(), PollOpt::level(), PollOpt::oneshot()] {
        for (backend, mut poll) in polls() {
            let mut events = Events::with_capacity(64);
            let mut pairs = Vec::with_capacity(N);
            for i in 0..N {
                let (a, mut b) = UnixStream::pair().unwrap();
                poll.register(
                    &a,
                    Token(i),
                    EventSet::readable() | EventSet::writable(),
                    opts,
                )
                .unwrap();
                b.try_write(b"x").unwrap();
                pairs.push((a, b));
            }
            let mut seen = vec![false; N];
            let mut left = N;
            for _ in 0..10 * N {
                poll_once(&mut poll, &mut events, Duration::from_millis(500));
                for e in events.iter() {
                    let i = e.token().0;
                    if !seen[i] {
                        seen[i] = true;
                        left -= 1;
                    }
                    if opts.is_level() {
                        // Stop the source: drain and drop interest.
                        poll.reregister(&pairs[i].0, Token(i), EventSet::none(), opts)
                            .unwrap();
                    }
                }
                if left == 0 {
                    break;
                }
            }
            assert_eq!(left, 0, "{backend} {opts:?}: {left} of {N} never reported");
            if !opts.is_level() {
                // Edge and oneshot: each reported (about) once; nothing more now.
                let mut more = 0;
                let mut polls_with_events = 0;
                let mut dup_tokens = std::collections::HashSet::new();
                for _ in 0..1000 {
                    poll_once(&mut poll, &mut events, Duration::from_millis(50));
                    if events.is_empty() {
                        break;
                    }
                    polls_with_events += 1;
                    more += events.len();
                    dup_tokens.extend(events.iter().map(|e| e.token().0));
                }
                // io_uring: sources whose multishot poll the overflowing completion queue
                // ended are reported once more when it is re-armed (documented on
                // `Backend::Uring`): spurious, at most once per source, and it ends.
                let allowed = if backend == Backend::Uring && opts.is_edge() && !opts.is_oneshot() {
                    dup_tokens.len()
                } else {
                    0
                };
                assert!(
                    polls_with_events < 1000,
                    "{backend} {opts:?}: events never stop"
                );
                assert_eq!(
                    more, allowed,
                    "{backend} {opts:?}: {more} more events ({} tokens) in {polls_with_events} polls",
                    dup_tokens.len()
                );
            } else {
                expect_no_events(&mut poll, &mut events);
            }
        }
    }
}

/// mio issue 776: a fresh connection registered for readable and writable reports, and a read
/// with nothing sent is `WouldBlock` (`None`), not an error, on every backend.
#[test]
fn a_connected_stream_with_nothing_to_read_would_block() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(16);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = TcpStream::connect(&listener.local_addr().unwrap()).unwrap();
        poll.register(
            &stream,
            Token(1),
            EventSet::readable() | EventSet::writable(),
            PollOpt::edge(),
        )
        .unwrap();
        let (_peer, _) = listener.accept().unwrap();
        next_readiness(&mut poll, &mut events, Token(1));
        let mut buf = [0u8; 64];
        let r = (&stream).try_read(&mut buf);
        assert!(matches!(r, Ok(None)), "{backend}: {r:?}");
    }
}

/// mio issue 1205: a listener with a pending connection, deregistered before the poll: a
/// blocking poll then returns only the waker's event.
#[test]
fn a_deregistered_listener_with_a_pending_connection_reports_nothing() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(16);
        let waker = Arc::new(Waker::new(poll.registry(), Token(10)).unwrap());
        let listener = TcpListener::bind(&any_local_addr()).unwrap();
        poll.register(&listener, Token(1), EventSet::readable(), PollOpt::edge())
            .unwrap();
        poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty());
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        poll.deregister(&listener).unwrap();
        let w = waker.clone();
        let t = thread::spawn(move || w.wake().unwrap());
        let n = poll_once(&mut poll, &mut events, Duration::from_secs(10));
        t.join().unwrap();
        let got: Vec<_> = events.iter().map(|e| (e.token(), e.kind())).collect();
        assert_eq!(n, 1, "{backend}: {got:?}");
        assert_eq!(got[0].0, Token(10), "{backend}: {got:?}");
        assert!(got[0].1.is_readable());
    }
}

/// mio issue 1403: a datagram from an unbound Unix socket arrives whole, from an unnamed
/// address.
#[test]
fn an_unbound_unix_datagram_sender_is_unnamed() {
    let dir = std::env::temp_dir().join(format!("ferrio-adv-1403-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sock");
    let receiver = UnixDatagram::bind(&path).unwrap();
    let sender = UnixDatagram::unbound().unwrap();
    let buf = [1u8; 1024];
    let n = sender.send_to(&buf, &path).unwrap().unwrap();
    let mut got = [0u8; 2048];
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(4);
    poll.register(&receiver, Token(1), EventSet::readable(), PollOpt::edge())
        .unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(1), EventSet::readable())],
    );
    let (len, addr) = receiver.recv_from(&mut got).unwrap().unwrap();
    assert_eq!(len, n);
    assert!(addr.as_pathname().is_none(), "{addr:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
