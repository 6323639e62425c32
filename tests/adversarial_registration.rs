//! Registration from outside, as an adversary would try it, on every backend of the build:
//! odd fds, extreme tokens, empty interest, mode changes with data pending, dropped sources
//! that must really close, clones registered separately, concurrent registries.
#![cfg(unix)]

mod util;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Duration;

use ferrio::tcp::{Shutdown, TcpListener, TcpStream};
use ferrio::unix::{EventedFd, UnixStream};
use ferrio::{Backend, EventSet, Events, Poll, PollOpt, Token, TryRead, TryWrite};

use util::*;

fn os_error<T: std::fmt::Debug>(r: std::io::Result<T>) -> Option<i32> {
    r.err().and_then(|e| e.raw_os_error())
}

/// A regular file, a directory, a closed fd and a negative fd are refused with the errors
/// epoll gives, on every backend, and leave no state behind.
#[test]
fn unpollable_fds_are_refused_alike() {
    let dir = std::env::temp_dir().join(format!("ferrio-adv-reg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = std::fs::File::create(dir.join("f")).unwrap();
    let dirf = std::fs::File::open(&dir).unwrap();
    let closed = {
        let f = std::fs::File::open("/dev/null").unwrap();
        f.as_raw_fd()
    };
    for (backend, poll) in polls() {
        for (what, fd, errno) in [
            ("a regular file", file.as_raw_fd(), libc::EPERM),
            ("a directory", dirf.as_raw_fd(), libc::EPERM),
            ("a negative fd", -1, libc::EBADF),
            ("i32::MIN", i32::MIN, libc::EBADF),
            ("a huge fd", i32::MAX, libc::EBADF),
        ] {
            let r = poll.register(&EventedFd(&fd), Token(1), EventSet::all(), PollOpt::edge());
            assert_eq!(os_error(r), Some(errno), "{backend}: {what}");
            // Nothing registered: reregister and deregister say so.
            let r = poll.reregister(&EventedFd(&fd), Token(1), EventSet::all(), PollOpt::edge());
            assert!(r.is_err(), "{backend}: reregister of {what} succeeded");
            assert!(
                poll.deregister(&EventedFd(&fd)).is_err(),
                "{backend}: deregister of {what} succeeded"
            );
        }
        // A closed fd (if its number was not reused meanwhile by a parallel test).
        if unsafe { libc::fcntl(closed, libc::F_GETFD) } == -1 {
            let r = poll.register(
                &EventedFd(&closed),
                Token(1),
                EventSet::all(),
                PollOpt::edge(),
            );
            assert_eq!(os_error(r), Some(libc::EBADF), "{backend}: closed fd");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `/dev/null` (a character device without a poll method, which epoll refuses with `EPERM`
/// and poll(2) would report as always ready): every backend refuses it alike.
#[test]
fn dev_null_gets_the_same_answer_on_every_backend() {
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .unwrap();
    let fd = null.as_raw_fd();
    let mut answers = Vec::new();
    for (backend, poll) in polls() {
        let r = poll.register(
            &EventedFd(&fd),
            Token(3),
            EventSet::readable(),
            PollOpt::level(),
        );
        answers.push((backend, os_error(r)));
        if r_is_ok(&answers) {
            poll.deregister(&EventedFd(&fd)).unwrap();
        }
    }
    assert!(
        answers.iter().all(|a| a.1 == Some(libc::EPERM)),
        "backends disagree on /dev/null: {answers:?}"
    );
}

fn r_is_ok(answers: &[(Backend, Option<i32>)]) -> bool {
    answers.last().unwrap().1.is_none()
}

/// Another poller's fd (an epoll fd) can be registered, and it reports readable when the
/// inner poller has an event, on every backend (Linux: epoll).
#[cfg(target_os = "linux")]
#[test]
fn an_epoll_fd_is_a_pollable_source() {
    use std::os::fd::FromRawFd;
    // SAFETY: plain syscall; the fd is owned below.
    let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    assert!(epfd >= 0);
    // SAFETY: epfd was just created and is owned by nothing else.
    let epfd = unsafe { OwnedFd::from_raw_fd(epfd) };
    let (a, mut b) = UnixStream::pair().unwrap();
    let mut ev = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: 7,
    };
    // SAFETY: valid fds and a valid event.
    let rc = unsafe {
        libc::epoll_ctl(
            epfd.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            a.as_raw_fd(),
            &mut ev,
        )
    };
    assert_eq!(rc, 0);
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let fd = epfd.as_raw_fd();
        poll.register(
            &EventedFd(&fd),
            Token(9),
            EventSet::readable(),
            PollOpt::level(),
        )
        .unwrap();
        expect_no_events(&mut poll, &mut events);
        b.try_write(b"x").unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(9), EventSet::readable())],
        );
        let mut buf = [0u8; 8];
        (&a).try_read(&mut buf).unwrap();
        poll.deregister(&EventedFd(&fd)).unwrap();
        let _ = backend;
    }
}

/// The largest usable tokens round-trip; `Token(usize::MAX)` is refused cleanly.
#[test]
fn extreme_tokens_round_trip() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let (a, mut b) = UnixStream::pair().unwrap();
        let (c, mut d) = UnixStream::pair().unwrap();
        poll.register(
            &a,
            Token(usize::MAX - 1),
            EventSet::readable(),
            PollOpt::edge(),
        )
        .unwrap();
        poll.register(&c, Token(0), EventSet::readable(), PollOpt::edge())
            .unwrap();
        b.try_write(b"x").unwrap();
        d.try_write(b"y").unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![
                (Token(usize::MAX - 1), EventSet::readable()),
                (Token(0), EventSet::readable()),
            ],
        );
        let (e, _f) = UnixStream::pair().unwrap();
        let r = poll.register(&e, Token(usize::MAX), EventSet::readable(), PollOpt::edge());
        assert!(r.is_err(), "{backend}: Token(usize::MAX) accepted");
        // The refusal left nothing behind: the fd registers fine afterwards.
        poll.register(&e, Token(5), EventSet::writable(), PollOpt::edge())
            .unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(5), EventSet::writable())],
        );
    }
}

/// Registered with empty interest, a source with data reports nothing; reregistered for
/// readable, the pending data is reported; reregistered to empty again, nothing more.
#[test]
fn empty_interest_reports_nothing_until_reregistered() {
    for opts in [PollOpt::edge(), PollOpt::level(), PollOpt::oneshot()] {
        for (backend, mut poll) in polls() {
            let mut events = Events::with_capacity(8);
            let (a, mut b) = UnixStream::pair().unwrap();
            poll.register(&a, Token(1), EventSet::none(), opts).unwrap();
            b.try_write(b"pending").unwrap();
            expect_no_events(&mut poll, &mut events);
            poll.reregister(&a, Token(1), EventSet::readable(), opts)
                .unwrap();
            let got = next_readiness(&mut poll, &mut events, Token(1));
            assert!(got.is_readable(), "{backend} {opts:?}: {got:?}");
            poll.reregister(&a, Token(1), EventSet::none(), opts)
                .unwrap();
            b.try_write(b"more").unwrap();
            expect_no_events(&mut poll, &mut events);
            // A half-close is also nothing while the interest is empty... but hup is
            // always reported by epoll for a full close; close the peer and see the
            // backends agree that something (hup) or nothing arrives.
        }
    }
}

/// Pending data through every mode change: edge -> level reports on every poll, level ->
/// oneshot reports once, oneshot (fired) -> edge reports again, edge -> level -> edge.
#[test]
fn mode_changes_with_data_pending() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let (a, mut b) = UnixStream::pair().unwrap();
        let t = Token(4);
        poll.register(&a, t, EventSet::readable(), PollOpt::edge())
            .unwrap();
        b.try_write(b"data").unwrap();
        assert!(next_readiness(&mut poll, &mut events, t).is_readable());
        expect_no_events(&mut poll, &mut events);

        poll.reregister(&a, t, EventSet::readable(), PollOpt::level())
            .unwrap();
        for i in 0..3 {
            let got = poll_events(&mut poll, &mut events);
            assert!(
                got.iter().any(|&(tok, k)| tok == t && k.is_readable()),
                "{backend}: level poll {i} after edge->level: {got:?}"
            );
        }

        poll.reregister(&a, t, EventSet::readable(), PollOpt::oneshot())
            .unwrap();
        assert!(next_readiness(&mut poll, &mut events, t).is_readable());
        expect_no_events(&mut poll, &mut events);
        // Still fired: more data reports nothing.
        b.try_write(b"more").unwrap();
        expect_no_events(&mut poll, &mut events);

        poll.reregister(&a, t, EventSet::readable(), PollOpt::edge())
            .unwrap();
        assert!(
            next_readiness(&mut poll, &mut events, t).is_readable(),
            "{backend}: oneshot(fired)->edge"
        );
        expect_no_events(&mut poll, &mut events);

        poll.reregister(
            &a,
            t,
            EventSet::readable(),
            PollOpt::edge() | PollOpt::oneshot(),
        )
        .unwrap();
        assert!(next_readiness(&mut poll, &mut events, t).is_readable());
        expect_no_events(&mut poll, &mut events);

        poll.reregister(&a, t, EventSet::readable(), PollOpt::level())
            .unwrap();
        let got = poll_events(&mut poll, &mut events);
        assert!(got.iter().any(|&(tok, _)| tok == t), "{backend}: {got:?}");
        // Drain: level stops.
        let mut buf = [0u8; 64];
        while let Some(n) = (&a).try_read(&mut buf).unwrap() {
            if n == 0 {
                break;
            }
        }
        expect_no_events(&mut poll, &mut events);
        // Token change on reregister: only the new token.
        b.try_write(b"z").unwrap();
        poll.reregister(&a, Token(40), EventSet::readable(), PollOpt::level())
            .unwrap();
        let got = poll_events(&mut poll, &mut events);
        assert!(
            got.iter().all(|&(tok, _)| tok == Token(40)) && !got.is_empty(),
            "{backend}: {got:?}"
        );
    }
}

/// Reads until EOF (or a reset: a socket closed with unread data sends RST) on a blocking std
/// peer, bounded by a read timeout: the socket on the other end was really closed.
fn peer_sees_eof(peer: &mut std::net::TcpStream) -> bool {
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match peer.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

/// A registered stream dropped in any state (never polled, polled and reported, reported but
/// not re-armed, reregistered, after a oneshot fired, level with data pending) really closes:
/// the peer reads EOF.
#[test]
fn a_dropped_registered_stream_really_closes() {
    let modes = [
        PollOpt::edge(),
        PollOpt::level(),
        PollOpt::oneshot(),
        PollOpt::edge() | PollOpt::oneshot(),
    ];
    let interests = [
        EventSet::readable(),
        EventSet::writable(),
        EventSet::readable() | EventSet::writable(),
        EventSet::none(),
    ];
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(16);
        for opts in modes {
            for interest in interests {
                for stage in 0..5 {
                    let (ours, mut peer) = tcp_pair_with_std_peer();
                    poll.register(&ours, Token(1), interest, opts).unwrap();
                    if stage >= 1 {
                        peer.write_all(b"hello").unwrap();
                        poll_once(&mut poll, &mut events, Duration::from_millis(50));
                    }
                    if stage >= 2 {
                        poll.reregister(&ours, Token(2), interest, opts).unwrap();
                    }
                    if stage >= 3 {
                        poll_once(&mut poll, &mut events, Duration::from_millis(10));
                    }
                    if stage == 4 {
                        poll.deregister(&ours).unwrap();
                    }
                    drop(ours);
                    assert!(
                        peer_sees_eof(&mut peer),
                        "{backend} {opts:?} {interest:?} stage {stage}: peer saw no EOF"
                    );
                }
            }
        }
        // The poll still works afterwards.
        let (a, mut b) = UnixStream::pair().unwrap();
        poll.register(&a, Token(3), EventSet::readable(), PollOpt::edge())
            .unwrap();
        b.try_write(b"x").unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(3), EventSet::readable())],
        );
    }
}

/// A `try_clone`d stream is a second fd on the same socket: both can be registered, under
/// their own tokens, and both report the readiness of the socket.
#[test]
fn try_cloned_streams_register_separately() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let (a, mut b) = UnixStream::pair().unwrap();
        let a2 = a.try_clone().unwrap();
        poll.register(&a, Token(1), EventSet::readable(), PollOpt::edge())
            .unwrap();
        poll.register(&a2, Token(2), EventSet::readable(), PollOpt::edge())
            .unwrap();
        b.try_write(b"x").unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![
                (Token(1), EventSet::readable()),
                (Token(2), EventSet::readable()),
            ],
        );
        // Dropping one leaves the other registered and reporting.
        drop(a);
        let mut buf = [0u8; 8];
        assert_eq!((&a2).try_read(&mut buf).unwrap(), Some(1));
        b.try_write(b"y").unwrap();
        let seen = expect_events(
            &mut poll,
            &mut events,
            vec![(Token(2), EventSet::readable())],
        );
        assert!(
            seen.iter().all(|&(t, _)| t == Token(2)),
            "{backend}: the dropped clone's token came back: {seen:?}"
        );
    }
}

/// A connect to a port nobody listens on is reported (writable or hup or error, and the
/// socket error is ECONNREFUSED) on every backend and in every mode.
#[test]
fn connect_to_a_closed_port_is_reported() {
    for opts in [PollOpt::edge(), PollOpt::level(), PollOpt::oneshot()] {
        for (backend, mut poll) in polls() {
            let mut events = Events::with_capacity(8);
            let port = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap()
            };
            let s = match TcpStream::connect(&port) {
                Ok(s) => s,
                Err(e) => {
                    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
                    continue;
                }
            };
            poll.register(
                &s,
                Token(1),
                EventSet::readable() | EventSet::writable(),
                opts,
            )
            .unwrap();
            let got = next_readiness(&mut poll, &mut events, Token(1));
            assert!(
                got.is_error() || got.is_hup(),
                "{backend} {opts:?}: a refused connect reported {got:?}"
            );
            let err = s.take_error().unwrap();
            assert_eq!(
                err.as_ref().and_then(|e| e.raw_os_error()),
                Some(libc::ECONNREFUSED),
                "{backend} {opts:?}"
            );
        }
    }
}

/// The peer resets the connection (SO_LINGER 0) while we are registered for reading only:
/// every backend reports it, and the read says ECONNRESET (or EOF after the reset was taken).
#[test]
fn a_reset_is_reported_to_a_reader() {
    for opts in [PollOpt::edge(), PollOpt::level()] {
        for (backend, mut poll) in polls() {
            let mut events = Events::with_capacity(8);
            let (ours, peer) = tcp_pair_with_std_peer();
            poll.register(&ours, Token(1), EventSet::readable(), opts)
                .unwrap();
            expect_no_events(&mut poll, &mut events);
            let fd = peer.as_raw_fd();
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: valid socket, valid option struct.
            let rc = unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    &linger as *const _ as *const libc::c_void,
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                )
            };
            assert_eq!(rc, 0);
            drop(peer);
            let got = next_readiness(&mut poll, &mut events, Token(1));
            assert!(
                got.is_hup() || got.is_error() || got.is_readable(),
                "{backend} {opts:?}: {got:?}"
            );
            let mut buf = [0u8; 8];
            let r = (&ours).try_read(&mut buf);
            assert!(
                matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset)
                    || matches!(r, Ok(Some(0))),
                "{backend} {opts:?}: read after reset: {r:?}"
            );
        }
    }
}

/// Half-close sequences on a registered edge-triggered stream: readable reported and not
/// read, then the peer's FIN; then read everything, read 0; then our shutdown(Write) and the
/// peer's reply still arrive.
#[test]
fn half_close_after_unread_data_then_read_after_hup() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let (ours, mut peer) = tcp_pair_with_std_peer();
        poll.register(&ours, Token(1), EventSet::readable(), PollOpt::edge())
            .unwrap();
        peer.write_all(b"abc").unwrap();
        assert!(next_readiness(&mut poll, &mut events, Token(1)).is_readable());
        // Not read. Now the FIN: reported where a half-close is hup (without POLLRDHUP
        // nothing new is visible to poll(2) until the program reads; see `Backend::Poll`).
        peer.shutdown(Shutdown::Write).unwrap();
        if half_close_is_hup(backend) {
            let got = next_readiness(&mut poll, &mut events, Token(1));
            assert!(
                got.contains(half_close(backend)),
                "{backend}: FIN after unread data: {got:?}"
            );
        }
        let mut buf = [0u8; 16];
        assert_eq!((&ours).try_read(&mut buf).unwrap(), Some(3));
        assert_eq!((&ours).try_read(&mut buf).unwrap(), Some(0));
        // We can still write; the peer reads it.
        (&ours).try_write(b"reply").unwrap();
        let mut got = [0u8; 5];
        peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"reply");
        ours.shutdown(Shutdown::Write).unwrap();
        assert!(peer_sees_eof(&mut peer), "{backend}");
    }
}

/// A listener and an unconnected socket: the listener reports readable per pending
/// connection; an unconnected stream socket reports hup (POLLHUP) or nothing, the same on
/// every backend.
#[test]
fn listener_and_unconnected_socket() {
    let mut answers = Vec::new();
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let l = TcpListener::bind(&any_local_addr()).unwrap();
        poll.register(&l, Token(1), EventSet::readable(), PollOpt::edge())
            .unwrap();
        expect_no_events(&mut poll, &mut events);
        let _c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(1), EventSet::readable())],
        );
        // An unconnected socket.
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_nonblocking(true).unwrap();
        let owned = OwnedFd::from(socket);
        let fd: RawFd = owned.as_raw_fd();
        poll.register(
            &EventedFd(&fd),
            Token(2),
            EventSet::readable() | EventSet::writable(),
            PollOpt::level(),
        )
        .unwrap();
        let got: Vec<_> = poll_events(&mut poll, &mut events)
            .into_iter()
            .filter(|&(t, _)| t == Token(2))
            .map(|(_, k)| k)
            .collect();
        answers.push((backend, got));
        poll.deregister(&EventedFd(&fd)).unwrap();
        drop(owned);
    }
    let first = answers[0].1.clone();
    assert!(
        answers.iter().all(|a| a.1 == first),
        "backends disagree on an unconnected socket: {answers:?}"
    );
}

/// The same fd through two handles (a ferrio source and a raw `EventedFd`): the second
/// registration is `AlreadyExists` on every backend; a raw deregistration of a source that
/// was never registered is `NotFound`; and the source's own deregistration still works after a
/// refused raw one.
#[test]
fn the_same_fd_through_two_handles() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let (a, mut b) = UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        poll.register(&a, Token(1), EventSet::readable(), PollOpt::edge())
            .unwrap();
        let e = poll
            .register(
                &EventedFd(&fd),
                Token(2),
                EventSet::readable(),
                PollOpt::edge(),
            )
            .unwrap_err();
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::AlreadyExists,
            "{backend}: {e}"
        );
        let (c, _d) = UnixStream::pair().unwrap();
        let cfd = c.as_raw_fd();
        let e = poll.deregister(&EventedFd(&cfd)).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{backend}: {e}");
        let e = poll
            .reregister(
                &EventedFd(&cfd),
                Token(3),
                EventSet::readable(),
                PollOpt::edge(),
            )
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{backend}: {e}");
        b.try_write(b"x").unwrap();
        let seen = expect_events(
            &mut poll,
            &mut events,
            vec![(Token(1), EventSet::readable())],
        );
        assert!(
            seen.iter().all(|&(t, _)| t == Token(1)),
            "{backend}: {seen:?}"
        );
        poll.deregister(&a).unwrap();
        expect_no_events(&mut poll, &mut events);
    }
}

/// A raw fd closed without being deregistered (the caller's mistake): the poller neither
/// spins (a timed poll still waits) nor reports the token forever.
#[test]
fn a_raw_fd_closed_while_registered_does_not_spin() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        poll.register(
            &EventedFd(&fd),
            Token(1),
            EventSet::readable(),
            PollOpt::level(),
        )
        .unwrap();
        drop(a);
        let mut reported = 0;
        let start = std::time::Instant::now();
        for _ in 0..5 {
            reported += poll_once(&mut poll, &mut events, Duration::from_millis(20));
        }
        assert!(
            reported <= 1,
            "{backend}: a closed fd reported {reported} times"
        );
        assert!(
            start.elapsed() >= Duration::from_millis(60),
            "{backend}: polls returned at once ({:?})",
            start.elapsed()
        );
    }
}

/// Reregister and deregister through a different `Poll` than the one a ferrio source is
/// registered with are clean errors, and leave the real registration working.
#[test]
fn changes_through_the_wrong_poll_are_refused() {
    for (backend, mut poll) in polls() {
        let other = Poll::with_backend(backend).unwrap();
        let mut events = Events::with_capacity(8);
        let (a, mut b) = UnixStream::pair().unwrap();
        poll.register(&a, Token(1), EventSet::readable(), PollOpt::edge())
            .unwrap();
        assert!(other
            .reregister(&a, Token(1), EventSet::writable(), PollOpt::edge())
            .is_err());
        assert!(other.deregister(&a).is_err(), "{backend}");
        b.try_write(b"x").unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(1), EventSet::readable())],
        );
        // Registering it with the other poll too is refused (a source in two polls).
        let r = other.register(&a, Token(2), EventSet::readable(), PollOpt::edge());
        assert!(
            r.is_err(),
            "{backend}: a registered ferrio source joined a second Poll"
        );
        poll.deregister(&a).unwrap();
        // Now it may move.
        other
            .register(&a, Token(2), EventSet::readable(), PollOpt::edge())
            .unwrap();
    }
}

/// 20,000 reregistrations of one ready source without a poll in between (more completions
/// than io_uring's queue holds), toggling interest and mode: every call succeeds, the next
/// polls report the final registration only, and the dropped source really closes.
#[test]
fn a_reregistration_storm_between_two_polls() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let (ours, mut peer) = tcp_pair_with_std_peer();
        peer.write_all(b"ready").unwrap();
        poll.register(&ours, Token(0), EventSet::readable(), PollOpt::edge())
            .unwrap();
        let modes = [PollOpt::edge(), PollOpt::level(), PollOpt::oneshot()];
        for i in 0..20_000usize {
            let interest = if i % 2 == 0 {
                EventSet::readable() | EventSet::writable()
            } else {
                EventSet::readable()
            };
            if let Err(e) = poll.reregister(&ours, Token(i % 7), interest, modes[i % 3]) {
                panic!("{backend}: reregister {i} failed: {e}");
            }
        }
        poll.reregister(&ours, Token(99), EventSet::readable(), PollOpt::level())
            .unwrap();
        for _ in 0..3 {
            let got = poll_events(&mut poll, &mut events);
            assert!(
                got.iter().all(|&(t, _)| t == Token(99)) && !got.is_empty(),
                "{backend}: after the storm: {got:?}"
            );
        }
        drop(ours);
        assert!(
            peer_sees_eof(&mut peer),
            "{backend}: the stormed source never closed"
        );
        // The poll is healthy.
        let (a, mut b) = UnixStream::pair().unwrap();
        poll.register(&a, Token(5), EventSet::readable(), PollOpt::edge())
            .unwrap();
        b.try_write(b"x").unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(5), EventSet::readable())],
        );
    }
}

/// A source registered with a `Poll` that was then dropped (a helper that waited for a
/// connect on a private `Poll` and returned without deregistering) can be registered with a
/// new `Poll`, and reports there, on every backend.
#[test]
fn a_source_of_a_dropped_poll_registers_with_a_new_one() {
    for backend in Backend::ALL {
        let (a, mut b) = UnixStream::pair().unwrap();
        {
            let mut first = Poll::with_backend(backend).unwrap();
            let mut events = Events::with_capacity(4);
            first
                .register(&a, Token(1), EventSet::writable(), PollOpt::edge())
                .unwrap();
            expect_events(
                &mut first,
                &mut events,
                vec![(Token(1), EventSet::writable())],
            );
            // Dropped with `a` still registered.
        }
        let mut second = Poll::with_backend(backend).unwrap();
        let mut events = Events::with_capacity(4);
        if let Err(e) = second.register(&a, Token(2), EventSet::readable(), PollOpt::edge()) {
            panic!("{backend}: registering with a new Poll after the old one was dropped: {e}");
        }
        b.try_write(b"x").unwrap();
        expect_events(
            &mut second,
            &mut events,
            vec![(Token(2), EventSet::readable())],
        );
        // While the first Poll lives, a second registration is still refused.
        let third = Poll::with_backend(backend).unwrap();
        assert!(third
            .register(&a, Token(3), EventSet::readable(), PollOpt::edge())
            .is_err());
        second.deregister(&a).unwrap();
    }
}

/// A `Registry` clone outliving its `Poll` keeps the selector alive but nothing can poll it:
/// a source registered through it can still move to a live `Poll`.
#[test]
fn a_registry_clone_of_a_dropped_poll_does_not_capture_sources() {
    for backend in Backend::ALL {
        let registry = Poll::with_backend(backend).unwrap().registry().clone();
        let (a, mut b) = UnixStream::pair().unwrap();
        registry
            .register(&a, Token(1), EventSet::readable(), PollOpt::edge())
            .unwrap();
        let mut live = Poll::with_backend(backend).unwrap();
        let mut events = Events::with_capacity(4);
        live.register(&a, Token(2), EventSet::readable(), PollOpt::edge())
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        b.try_write(b"x").unwrap();
        expect_events(
            &mut live,
            &mut events,
            vec![(Token(2), EventSet::readable())],
        );
        // The old registry no longer owns it.
        assert!(registry.deregister(&a).is_err());
    }
}
