//! UDP as programs written for mio 1.x use it, on every backend of the build: a connected socket
//! hears only its peer and can be reconnected, `peek_from` does not consume, a connected socket
//! whose peer's port is closed reports the ICMP error as error readiness and `take_error`
//! returns it once, an oversize datagram is a clean error that leaves the socket working, and
//! edge-triggered readiness comes again for each new datagram.
#![cfg(unix)]

mod util;

use std::io;
use std::time::Duration;

use ferrio::udp::UdpSocket;
use ferrio::{EventSet, Events, Poll, PollOpt, Token};

use util::*;

fn bound() -> UdpSocket {
    UdpSocket::bound(&any_local_addr()).unwrap()
}

/// Receives one datagram, polling `poll` (bounded) between attempts.
fn recv_one(
    poll: &mut Poll,
    events: &mut Events,
    socket: &UdpSocket,
    buf: &mut [u8],
) -> (usize, std::net::SocketAddr) {
    for _ in 0..20 {
        if let Some(got) = socket.recv_from(buf).unwrap() {
            return got;
        }
        poll_once(poll, events, Duration::from_millis(250));
    }
    panic!("no datagram arrived");
}

/// A connected socket receives only from its peer: a datagram from a third socket is dropped
/// by the kernel (never reported as coming from the peer), `recv` returns the peer's data, and
/// after `connect` to another socket only that one is heard and `send` goes there.
#[test]
fn a_connected_socket_hears_only_its_peer_and_can_be_reconnected() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let ours = bound();
        let peer1 = bound();
        let peer2 = bound();
        ours.connect(&peer1.local_addr().unwrap()).unwrap();
        assert_eq!(
            ours.peer_addr().unwrap(),
            peer1.local_addr().unwrap(),
            "{backend}"
        );
        poll.register(&ours, Token(1), EventSet::readable(), PollOpt::edge())
            .unwrap();
        // From the stranger first, then the peer: only the peer's datagram is queued.
        peer2
            .send_to(b"stranger", &ours.local_addr().unwrap())
            .unwrap();
        peer1.send_to(b"peer", &ours.local_addr().unwrap()).unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(1), EventSet::readable())],
        );
        let mut buf = [0u8; 16];
        let (n, from) = ours
            .recv_from(&mut buf)
            .unwrap()
            .expect("the peer's datagram");
        assert_eq!(
            (&buf[..n], from),
            (&b"peer"[..], peer1.local_addr().unwrap()),
            "{backend}"
        );
        assert_eq!(ours.recv(&mut buf).unwrap(), None, "{backend}");

        // Reconnected: the old peer is now the stranger.
        ours.connect(&peer2.local_addr().unwrap()).unwrap();
        assert_eq!(ours.send(b"to two").unwrap(), Some(6), "{backend}");
        peer1.send_to(b"old", &ours.local_addr().unwrap()).unwrap();
        peer2.send_to(b"new", &ours.local_addr().unwrap()).unwrap();
        let (n, from) = recv_one(&mut poll, &mut events, &ours, &mut buf);
        assert_eq!(
            (&buf[..n], from),
            (&b"new"[..], peer2.local_addr().unwrap()),
            "{backend}"
        );
        let (n, from) = recv_one(&mut poll, &mut events, &peer2, &mut [0u8; 16][..]);
        assert_eq!((n, from), (6, ours.local_addr().unwrap()), "{backend}");
        assert_eq!(ours.recv(&mut buf).unwrap(), None, "{backend}");
        // `send_to` another address on a connected socket is what the OS allows (Linux sends).
        assert_eq!(
            ours.send_to(b"x", &peer1.local_addr().unwrap()).unwrap(),
            Some(1),
            "{backend}"
        );
    }
}

/// `peek_from` returns the next datagram and its sender without consuming it; the receive
/// after it returns the same datagram; with edge triggering the peek does not lose the event
/// for the next datagram.
#[test]
fn peek_from_does_not_consume() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let a = bound();
        let b = bound();
        poll.register(&b, Token(1), EventSet::readable(), PollOpt::edge())
            .unwrap();
        a.send_to(b"first", &b.local_addr().unwrap()).unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(1), EventSet::readable())],
        );
        let mut buf = [0u8; 3];
        let (n, from) = b.peek_from(&mut buf).unwrap().expect("a datagram to peek");
        assert_eq!((&buf[..n], from), (&b"fir"[..], a.local_addr().unwrap()));
        let mut buf = [0u8; 16];
        let (n, _) = b.peek_from(&mut buf).unwrap().unwrap();
        assert_eq!(
            &buf[..n],
            b"first",
            "{backend}: peek truncated the datagram"
        );
        let (n, _) = b.recv_from(&mut buf).unwrap().unwrap();
        assert_eq!(&buf[..n], b"first", "{backend}");
        assert_eq!(b.peek_from(&mut buf).unwrap(), None, "{backend}");
        a.send_to(b"second", &b.local_addr().unwrap()).unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(1), EventSet::readable())],
        );
        let (n, _) = b.recv_from(&mut buf).unwrap().unwrap();
        assert_eq!(&buf[..n], b"second", "{backend}");
    }
}

/// A closed UDP port on loopback (a socket bound, its address taken, then dropped).
fn closed_udp_addr() -> std::net::SocketAddr {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap()
}

/// A connected socket sends to a closed port: the ICMP port-unreachable is the socket's pending
/// error, reported as error readiness (readable interest only, in every mode), and
/// `take_error` returns `ConnectionRefused` exactly once. After that, level triggering reports
/// nothing more, and the socket works again.
#[test]
fn a_send_to_a_closed_port_is_error_readiness_and_take_error_returns_it_once() {
    for opts in [PollOpt::edge(), PollOpt::level(), PollOpt::oneshot()] {
        for (backend, mut poll) in polls() {
            let mut events = Events::with_capacity(8);
            let socket = bound();
            socket.connect(&closed_udp_addr()).unwrap();
            poll.register(&socket, Token(7), EventSet::readable(), opts)
                .unwrap();
            expect_no_events(&mut poll, &mut events);
            assert_eq!(socket.send(b"anyone?").unwrap(), Some(7));
            let got = next_readiness(&mut poll, &mut events, Token(7));
            assert!(
                got.is_error(),
                "{backend} {opts:?}: the refused datagram gave {got:?}, not error"
            );
            let err = socket.take_error().unwrap().expect("a pending error");
            assert_eq!(
                err.kind(),
                io::ErrorKind::ConnectionRefused,
                "{backend} {opts:?}: {err}"
            );
            assert!(
                socket.take_error().unwrap().is_none(),
                "{backend} {opts:?}: take_error cleared nothing"
            );
            // The error is gone, nothing is queued: no event in any mode.
            expect_no_events(&mut poll, &mut events);
            // The socket is usable: reconnect to a live peer and hear it.
            let live = bound();
            socket.connect(&live.local_addr().unwrap()).unwrap();
            live.send_to(b"back", &socket.local_addr().unwrap())
                .unwrap();
            if opts.is_oneshot() {
                poll.reregister(&socket, Token(7), EventSet::readable(), opts)
                    .unwrap();
            }
            let mut buf = [0u8; 8];
            let (n, _) = recv_one(&mut poll, &mut events, &socket, &mut buf);
            assert_eq!(&buf[..n], b"back", "{backend} {opts:?}");
        }
    }
}

/// The same refused datagram seen by a reader instead of `take_error`: the receive returns the
/// `ConnectionRefused` error (clearing it), not a datagram and not a hang.
#[test]
fn a_refused_datagram_is_returned_by_the_next_receive() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let socket = bound();
        socket.connect(&closed_udp_addr()).unwrap();
        poll.register(&socket, Token(1), EventSet::readable(), PollOpt::level())
            .unwrap();
        socket.send(b"x").unwrap();
        let got = next_readiness(&mut poll, &mut events, Token(1));
        assert!(got.is_error(), "{backend}: {got:?}");
        let mut buf = [0u8; 8];
        let err = socket.recv(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{backend}");
        assert_eq!(socket.recv(&mut buf).unwrap(), None, "{backend}");
        expect_no_events(&mut poll, &mut events);
    }
}

/// A datagram larger than UDP allows (65,507 bytes of payload over IPv4) is a clean
/// `EMSGSIZE` error, not a panic and not a truncated send; the socket keeps working, also
/// its edge-triggered readiness (the failed send must not leave the source disarmed). The
/// largest datagram that fits is delivered whole.
#[test]
fn an_oversize_datagram_is_a_clean_error_and_the_largest_one_arrives_whole() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let a = bound();
        let b = bound();
        // Room for the largest datagram in b's receive queue.
        b.set_recv_buffer_size(1 << 20).unwrap();
        a.set_send_buffer_size(1 << 20).unwrap();
        poll.register(&a, Token(1), EventSet::writable(), PollOpt::edge())
            .unwrap();
        poll.register(&b, Token(2), EventSet::readable(), PollOpt::edge())
            .unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(1), EventSet::writable())],
        );
        let to = b.local_addr().unwrap();
        let huge = vec![0x5a; 65_508];
        let err = a.send_to(&huge, &to).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMSGSIZE), "{backend}: {err}");
        a.connect(&to).unwrap();
        let err = a.send(&vec![1u8; 1 << 17]).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMSGSIZE), "{backend}: {err}");
        let largest = vec![0xa5; 65_507];
        assert_eq!(a.send(&largest).unwrap(), Some(65_507), "{backend}");
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(2), EventSet::readable())],
        );
        let mut buf = vec![0u8; 70_000];
        let (n, _) = b.recv_from(&mut buf).unwrap().expect("the datagram");
        assert_eq!(n, 65_507, "{backend}");
        assert!(buf[..n].iter().all(|&x| x == 0xa5), "{backend}");
        // Edge-triggered readiness still comes for the next datagram.
        a.send(b"after").unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(2), EventSet::readable())],
        );
        let (n, _) = b.recv_from(&mut buf).unwrap().unwrap();
        assert_eq!(&buf[..n], b"after", "{backend}");
    }
}

/// Edge triggering, as mio 1.x's UDP tests check it: one event for two queued datagrams,
/// none while nothing new arrives (after both were read), and one again for the next one.
#[test]
fn edge_triggered_datagrams_give_a_new_event_for_each_new_arrival() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let a = bound();
        let b = bound();
        poll.register(&b, Token(1), EventSet::readable(), PollOpt::edge())
            .unwrap();
        let to = b.local_addr().unwrap();
        a.send_to(b"1", &to).unwrap();
        a.send_to(b"2", &to).unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(1), EventSet::readable())],
        );
        let mut buf = [0u8; 4];
        let mut got = Vec::new();
        while let Some((n, _)) = b.recv_from(&mut buf).unwrap() {
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"12", "{backend}");
        expect_no_events(&mut poll, &mut events);
        for round in 0..20u8 {
            a.send_to(&[round], &to).unwrap();
            expect_events(
                &mut poll,
                &mut events,
                vec![(Token(1), EventSet::readable())],
            );
            assert_eq!(
                b.recv_from(&mut buf).unwrap().map(|(n, _)| (n, buf[0])),
                Some((1, round)),
                "{backend}"
            );
            assert_eq!(b.recv_from(&mut buf).unwrap(), None, "{backend}");
        }
    }
}

/// An edge-triggered program that sees only an error event takes the error (`take_error`, no
/// read: the event did not say readable) and waits for the next event. A datagram that
/// arrives before that next poll is reported on every backend: the error event must not
/// leave the readable direction silenced (poll(2) disarms every direction after an error).
#[test]
fn a_datagram_after_a_taken_error_is_reported_even_before_the_next_poll() {
    for opts in [PollOpt::edge(), PollOpt::level()] {
        for (backend, mut poll) in polls() {
            let what = format!("{backend} {opts:?}");
            let mut events = Events::with_capacity(8);
            let socket = bound();
            socket.connect(&closed_udp_addr()).unwrap();
            poll.register(&socket, Token(7), EventSet::readable(), opts)
                .unwrap();
            socket.send(b"anyone?").unwrap();
            let got = next_readiness(&mut poll, &mut events, Token(7));
            assert!(got.is_error() && !got.is_readable(), "{what}: {got:?}");
            let err = socket.take_error().unwrap().expect("the refusal");
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{what}");
            // Reconnected to a live peer, which sends before we poll again.
            let live = bound();
            socket.connect(&live.local_addr().unwrap()).unwrap();
            live.send_to(b"late", &socket.local_addr().unwrap())
                .unwrap();
            // (Wait until it is queued, without an IO call on `socket` that would re-arm it.)
            let mut peek = [0u8; 8];
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            loop {
                // SAFETY: MSG_PEEK | MSG_DONTWAIT on a valid fd into a valid buffer.
                let n = unsafe {
                    libc::recv(
                        std::os::fd::AsRawFd::as_raw_fd(&socket),
                        peek.as_mut_ptr().cast(),
                        peek.len(),
                        libc::MSG_PEEK | libc::MSG_DONTWAIT,
                    )
                };
                if n > 0 {
                    break;
                }
                assert!(std::time::Instant::now() < deadline, "{what}: never queued");
                std::thread::yield_now();
            }
            expect_events(
                &mut poll,
                &mut events,
                vec![(Token(7), EventSet::readable())],
            );
            let mut buf = [0u8; 8];
            let (n, _) = socket.recv_from(&mut buf).unwrap().expect("the datagram");
            assert_eq!(&buf[..n], b"late", "{what}");
        }
    }
}
