//! TCP sources: connect, accept, close/reset/half-close readiness, Try* semantics, the
//! builder, socket options, and fd flags.

mod util;

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
#[cfg(unix)]
use std::os::fd::AsRawFd;
use std::time::Duration;
#[cfg(windows)]
use util::AsRawFd;

use ferrio::tcp::{TcpBuilder, TcpListener, TcpStream};
use ferrio::{EventSet, Events, Poll, PollOpt, Token, TryAccept, TryRead, TryWrite};
use socket2::SockRef;
use util::{
    accept_one, any_local_addr, any_local_ipv6_addr, assert_error_kind, assert_nonblocking_cloexec,
    assert_would_block, expect_events, expect_no_events, ipv6_available, next_readiness, tcp_pair,
    tcp_pair_on, wait_connected,
};

const T: Token = Token(1);

/// An address on which nothing listens: bind a listener, note its port, drop it.
fn closed_port_addr() -> SocketAddr {
    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    listener.local_addr().unwrap()
}

#[test]
fn connect_completion_is_reported_as_writable() {
    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    let addr = listener.local_addr().unwrap();
    let stream = TcpStream::connect(&addr).unwrap();
    let mut poll = Poll::new().unwrap();
    poll.register(&stream, T, EventSet::writable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    assert_eq!(
        next_readiness(&mut poll, &mut events, T),
        EventSet::writable()
    );
    assert!(stream.take_error().unwrap().is_none());
    stream.take_socket_error().unwrap();
    assert_eq!(stream.peer_addr().unwrap(), addr);
    let accepted = accept_one(&listener);
    assert_eq!(accepted.peer_addr().unwrap(), stream.local_addr().unwrap());
}

#[test]
fn connect_refused_is_reported_as_error_or_hup_with_socket_error() {
    let addr = closed_port_addr();
    let stream = match TcpStream::connect(&addr) {
        Ok(stream) => stream,
        // Linux reports loopback refusals through readiness, but a synchronous refusal is
        // also correct behaviour.
        Err(e) => {
            assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
            util::precondition_missing(
                "connect was refused synchronously: the readiness path is not exercised",
            );
            return;
        }
    };
    let mut poll = Poll::new().unwrap();
    poll.register(
        &stream,
        T,
        EventSet::readable() | EventSet::writable(),
        PollOpt::edge(),
    )
    .unwrap();
    let mut events = Events::with_capacity(8);
    let kind = next_readiness(&mut poll, &mut events, T);
    assert!(kind.is_error() || kind.is_hup(), "{kind:?}");
    // Linux epoll reports a refused connect as EPOLLERR | EPOLLHUP (plus in/out).
    assert!(kind.is_error() && kind.is_hup(), "{kind:?}");
    // mio 0.5's form: the pending error as Err.
    let err = stream.take_socket_error().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    // Taking it cleared it (Windows says so too; Wine 8 keeps reporting it).
    let again = stream.take_error().unwrap();
    assert_eq!(again.is_none(), !util::under_wine(), "{again:?}");
    if !util::under_wine() {
        stream.take_socket_error().unwrap();
    }
    assert_error_kind(stream.peer_addr(), io::ErrorKind::NotConnected);
}

#[test]
fn peer_close_is_exactly_readable_and_hup() {
    let (client, mut server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(&server, T, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    expect_no_events(&mut poll, &mut events);
    drop(client);
    assert_eq!(
        next_readiness(&mut poll, &mut events, T),
        util::half_close(poll.backend())
    );
    let mut buf = [0u8; 8];
    assert_eq!(server.try_read(&mut buf).unwrap(), Some(0));
}

#[test]
fn reset_is_reported_as_error_or_hup_and_read_gives_connection_reset() {
    let (client, mut server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(&server, T, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    client.set_linger(Some(Duration::ZERO)).unwrap();
    drop(client);
    let kind = next_readiness(&mut poll, &mut events, T);
    assert!(kind.is_error() || kind.is_hup(), "{kind:?}");
    let mut buf = [0u8; 8];
    let read = server.try_read(&mut buf);
    if util::under_wine() {
        // Wine 8 consumes the reset while it checks readiness: the read then sees EOF.
        assert!(
            matches!(read, Ok(Some(0)))
                || matches!(&read, Err(e) if e.kind() == io::ErrorKind::ConnectionReset),
            "{read:?}"
        );
    } else {
        assert_error_kind(read, io::ErrorKind::ConnectionReset);
    }
}

#[test]
fn peer_write_shutdown_gives_readable_hup_then_eof_and_we_can_still_write() {
    let (mut client, mut server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(&server, T, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);

    client.write_all(b"last").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let kind = next_readiness(&mut poll, &mut events, T);
    let closed = util::half_close(poll.backend());
    if util::under_wine() {
        // Wine 8 reports a FIN only once the data before it is read (it checks with a peek).
        assert!(kind == EventSet::readable() || kind == closed, "{kind:?}");
    } else {
        assert_eq!(kind, closed);
    }
    let mut buf = [0u8; 8];
    assert_eq!(server.try_read(&mut buf).unwrap(), Some(4));
    assert_eq!(&buf[..4], b"last");
    assert_eq!(server.try_read(&mut buf).unwrap(), Some(0));

    // Our write side is still open: writable, with no hup or error bits.
    poll.reregister(&server, T, EventSet::writable(), PollOpt::edge())
        .unwrap();
    assert_eq!(
        next_readiness(&mut poll, &mut events, T),
        EventSet::writable()
    );
    assert_eq!(server.try_write(b"reply").unwrap(), Some(5));

    let mut cpoll = Poll::new().unwrap();
    cpoll
        .register(&client, T, EventSet::readable(), PollOpt::edge())
        .unwrap();
    expect_events(&mut cpoll, &mut events, vec![(T, EventSet::readable())]);
    assert_eq!(client.try_read(&mut buf).unwrap(), Some(5));
    assert_eq!(&buf[..5], b"reply");
}

#[test]
fn our_write_shutdown_gives_peer_readable_hup_and_we_can_still_read() {
    let (mut client, mut server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(&client, Token(10), EventSet::readable(), PollOpt::edge())
        .unwrap();
    poll.register(&server, Token(20), EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);

    server.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        next_readiness(&mut poll, &mut events, Token(10)),
        util::half_close(poll.backend())
    );
    let mut buf = [0u8; 8];
    assert_eq!(client.try_read(&mut buf).unwrap(), Some(0));
    // Writing after our own write shutdown fails.
    #[cfg(unix)]
    assert_error_kind(server.write(b"no"), io::ErrorKind::BrokenPipe);
    // Winsock: WSAESHUTDOWN.
    #[cfg(windows)]
    assert_eq!(server.write(b"no").unwrap_err().raw_os_error(), Some(10058));

    assert_eq!(client.try_write(b"still").unwrap(), Some(5));
    let kind = next_readiness(&mut poll, &mut events, Token(20));
    // Our read side is open and nothing closed it: readable only.
    assert_eq!(kind, EventSet::readable());
    assert_eq!(server.try_read(&mut buf).unwrap(), Some(5));
    assert_eq!(&buf[..5], b"still");
}

#[test]
fn accept_shapes_match_mio_0_5() {
    // The inherent accept gives the peer's address too; TryAccept gives the stream alone.
    fn stream_of<L: TryAccept<Output = TcpStream>>(listener: &L) -> Option<TcpStream> {
        listener.accept().unwrap()
    }
    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    let addr = listener.local_addr().unwrap();
    let first = std::net::TcpStream::connect(addr).unwrap();
    let second = std::net::TcpStream::connect(addr).unwrap();
    let mut poll = Poll::new().unwrap();
    poll.register(&listener, T, EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(4);
    let mut peers = Vec::new();
    let mut streams = Vec::new();
    while peers.len() + streams.len() < 2 {
        expect_events(&mut poll, &mut events, vec![(T, EventSet::readable())]);
        if peers.is_empty() {
            if let Some((stream, peer)) = listener.accept().unwrap() {
                peers.push((stream, peer));
            }
        } else if let Some(stream) = stream_of(&listener) {
            streams.push(stream);
        }
    }
    let (accepted, peer) = &peers[0];
    assert_eq!(*peer, accepted.peer_addr().unwrap());
    let locals = [first.local_addr().unwrap(), second.local_addr().unwrap()];
    assert!(locals.contains(peer));
    assert!(locals.contains(&streams[0].peer_addr().unwrap()));
    assert!(stream_of(&listener).is_none());
}

#[test]
fn try_read_try_write_and_try_accept_semantics() {
    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    // TryAccept: None while nothing is pending.
    assert!(TryAccept::accept(&listener).unwrap().is_none());
    let mut client = TcpStream::connect(&listener.local_addr().unwrap()).unwrap();
    let mut server = accept_one(&listener);
    wait_connected(&client);

    let mut buf = [0u8; 16];
    assert_eq!(server.try_read(&mut buf).unwrap(), None);
    assert_would_block(server.read(&mut buf));
    assert_eq!(client.try_write(b"abc").unwrap(), Some(3));
    // Reading through `&TcpStream` works as well.
    let mut poll = Poll::new().unwrap();
    poll.register(&server, T, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    expect_events(&mut poll, &mut events, vec![(T, EventSet::readable())]);
    assert_eq!((&server).try_read(&mut buf).unwrap(), Some(3));
    assert_eq!(server.try_read(&mut buf).unwrap(), None);
    // An empty buffer reads Some(0) without blocking semantics mattering.
    assert_eq!(client.try_write(b"").unwrap(), Some(0));

    drop(client);
    let closed = util::half_close(poll.backend());
    expect_events(&mut poll, &mut events, vec![(T, closed)]);
    assert_eq!(server.try_read(&mut buf).unwrap(), Some(0));
    // EOF is sticky.
    assert_eq!(server.try_read(&mut buf).unwrap(), Some(0));
}

#[test]
fn listener_accept_returns_none_after_draining_backlog() {
    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut poll = Poll::new().unwrap();
    poll.register(&listener, T, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    let clients: Vec<_> = (0..5).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    let mut accepted = Vec::new();
    while accepted.len() < clients.len() {
        expect_events(&mut poll, &mut events, vec![(T, EventSet::readable())]);
        while let Some((stream, peer)) = listener.accept().unwrap() {
            assert_eq!(peer.ip(), addr.ip());
            accepted.push(stream);
        }
    }
    assert_eq!(accepted.len(), 5);
    assert!(listener.accept().unwrap().is_none());
    expect_no_events(&mut poll, &mut events);
}

// Windows has no SO_REUSEPORT.
#[cfg(unix)]
#[test]
fn builder_reuse_port_lets_two_listeners_share_a_port() {
    let addr = any_local_addr();
    let first = TcpBuilder::for_addr(&addr)
        .unwrap()
        .reuse_port(true)
        .unwrap()
        .bind(&addr)
        .unwrap()
        .listen(128)
        .unwrap();
    let port_addr = first.local_addr().unwrap();
    let second = TcpBuilder::v4()
        .unwrap()
        .reuse_port(true)
        .unwrap()
        .bind(&port_addr)
        .unwrap()
        .listen(128)
        .unwrap();
    assert_eq!(second.local_addr().unwrap(), port_addr);
    assert_nonblocking_cloexec(first.as_raw_fd());
    assert_nonblocking_cloexec(second.as_raw_fd());

    // A connection lands on one of them.
    let mut poll = Poll::new().unwrap();
    poll.register(&first, Token(1), EventSet::readable(), PollOpt::level())
        .unwrap();
    poll.register(&second, Token(2), EventSet::readable(), PollOpt::level())
        .unwrap();
    let _client = TcpStream::connect(&port_addr).unwrap();
    let mut events = Events::with_capacity(8);
    let got = next_any(&mut poll, &mut events);
    let listener = if got == Token(1) { &first } else { &second };
    assert!(listener.accept().unwrap().is_some());

    // Without SO_REUSEPORT the port is taken.
    let err = TcpBuilder::v4().unwrap().bind(&port_addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
}

#[cfg(unix)]
fn next_any(poll: &mut Poll, events: &mut Events) -> Token {
    for _ in 0..10 {
        if let Some(&(token, _)) = util::poll_events(poll, events).first() {
            return token;
        }
    }
    panic!("no event");
}

#[test]
fn builder_sets_buffer_sizes_and_nodelay() {
    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    let stream = TcpBuilder::v4()
        .unwrap()
        .send_buffer_size(64 * 1024)
        .unwrap()
        .recv_buffer_size(48 * 1024)
        .unwrap()
        .nodelay(true)
        .unwrap()
        .connect(&listener.local_addr().unwrap())
        .unwrap();
    let sock = SockRef::from(&stream);
    // Linux doubles the requested size for bookkeeping overhead.
    assert!(sock.send_buffer_size().unwrap() >= 64 * 1024);
    assert!(sock.recv_buffer_size().unwrap() >= 48 * 1024);
    assert!(stream.nodelay().unwrap());
    assert_nonblocking_cloexec(stream.as_raw_fd());
    wait_connected(&stream);

    let builder = TcpBuilder::v4().unwrap().reuse_address(true).unwrap();
    let l = builder.bind(&any_local_addr()).unwrap().listen(16).unwrap();
    assert!(SockRef::from(&l).reuse_address().unwrap());
}

#[test]
fn builder_v6_only() {
    if !ipv6_available() {
        util::precondition_missing("IPv6: cannot bind [::1]");
        return;
    }
    let unspecified: SocketAddr = "[::]:0".parse().unwrap();
    let only = TcpBuilder::v6()
        .unwrap()
        .only_v6(true)
        .unwrap()
        .bind(&unspecified)
        .unwrap()
        .listen(16)
        .unwrap();
    assert!(SockRef::from(&only).only_v6().unwrap());
    let port = only.local_addr().unwrap().port();
    let stream =
        TcpStream::connect(&SocketAddr::from(([0u16, 0, 0, 0, 0, 0, 0, 1], port))).unwrap();
    wait_connected(&stream);
    assert!(accept_one(&only).peer_addr().unwrap().is_ipv6());

    // A dual-stack listener accepts IPv4 connections as v4-mapped addresses.
    let dual = TcpBuilder::v6()
        .unwrap()
        .only_v6(false)
        .unwrap()
        .bind(&unspecified)
        .unwrap()
        .listen(16)
        .unwrap();
    assert!(!SockRef::from(&dual).only_v6().unwrap());
    let port = dual.local_addr().unwrap().port();
    let v4 = TcpStream::connect(&SocketAddr::from(([127, 0, 0, 1], port))).unwrap();
    wait_connected(&v4);
    let accepted = accept_one(&dual);
    match accepted.peer_addr().unwrap() {
        SocketAddr::V6(a) => assert_eq!(a.ip().to_ipv4_mapped(), Some([127, 0, 0, 1].into())),
        other => panic!("expected a v4-mapped peer, got {other}"),
    }

    // only_v6 on an IPv4 socket is an error, not a panic.
    // Wine 8 accepts IPV6_V6ONLY on an IPv4 socket; Linux and Windows refuse it.
    let v4_only_v6 = TcpBuilder::v4().unwrap().only_v6(true);
    assert_eq!(v4_only_v6.is_err(), !util::under_wine());
}

#[test]
fn all_fds_are_nonblocking_and_cloexec() {
    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    assert_nonblocking_cloexec(listener.as_raw_fd());
    let client = TcpStream::connect(&listener.local_addr().unwrap()).unwrap();
    assert_nonblocking_cloexec(client.as_raw_fd());
    let server = accept_one(&listener);
    assert_nonblocking_cloexec(server.as_raw_fd());
    assert_nonblocking_cloexec(client.try_clone().unwrap().as_raw_fd());
    assert_nonblocking_cloexec(listener.try_clone().unwrap().as_raw_fd());

    // from_std switches blocking std sockets to non-blocking (std creates them cloexec).
    let std_listener = std::net::TcpListener::bind(any_local_addr()).unwrap();
    let std_stream = std::net::TcpStream::connect(std_listener.local_addr().unwrap()).unwrap();
    #[cfg(unix)]
    assert_eq!(
        util::fd_flags(std_stream.as_raw_fd()).unwrap(),
        (false, true)
    );
    let wrapped = TcpStream::from_std(std_stream).unwrap();
    assert_nonblocking_cloexec(wrapped.as_raw_fd());
    let wrapped_listener = TcpListener::from_std(std_listener).unwrap();
    assert_nonblocking_cloexec(wrapped_listener.as_raw_fd());

    let std_unconnected = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )
    .unwrap();
    let connecting =
        TcpStream::connect_stream(std_unconnected.into(), &listener.local_addr().unwrap()).unwrap();
    assert_nonblocking_cloexec(connecting.as_raw_fd());
    wait_connected(&connecting);
}

#[test]
fn peek_does_not_consume() {
    let (mut client, mut server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(&server, T, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    let mut buf = [0u8; 16];
    assert_would_block(server.peek(&mut buf));
    client.write_all(b"hello").unwrap();
    expect_events(&mut poll, &mut events, vec![(T, EventSet::readable())]);
    assert_eq!(server.peek(&mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"hello");
    let mut buf2 = [0u8; 16];
    assert_eq!(server.try_read(&mut buf2).unwrap(), Some(5));
    assert_eq!(&buf2[..5], b"hello");
}

#[test]
fn socket_options_roundtrip() {
    let (client, _server) = tcp_pair();
    client.set_nodelay(true).unwrap();
    assert!(client.nodelay().unwrap());
    client.set_nodelay(false).unwrap();
    assert!(!client.nodelay().unwrap());

    client.set_keepalive(Some(60)).unwrap();
    if util::under_wine() {
        // Wine 8 has no TCP_KEEPIDLE to read the time back (WSAENOPROTOOPT).
        let err = client.keepalive().unwrap_err();
        assert_eq!(err.raw_os_error(), Some(10042), "{err:?}");
    } else {
        assert_eq!(client.keepalive().unwrap(), Some(Duration::from_secs(60)));
    }
    client.set_keepalive(None).unwrap();
    assert_eq!(client.keepalive().unwrap(), None);
    client
        .set_keepalive_time(Some(Duration::from_secs(90)))
        .unwrap();
    if util::under_wine() {
        assert_eq!(client.keepalive().unwrap_err().raw_os_error(), Some(10042));
    } else {
        assert_eq!(client.keepalive().unwrap(), Some(Duration::from_secs(90)));
    }
    for bad in [
        client.set_keepalive(Some(0)),
        client.set_keepalive_time(Some(Duration::from_millis(500))),
        client.set_keepalive(Some(u32::MAX)),
    ] {
        assert_eq!(bad.unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }

    client.set_ttl(42).unwrap();
    assert_eq!(client.ttl().unwrap(), 42);

    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    listener.set_ttl(17).unwrap();
    assert_eq!(listener.ttl().unwrap(), 17);
    assert!(listener.take_error().unwrap().is_none());
    listener.take_socket_error().unwrap();

    client.set_linger(Some(Duration::from_secs(1))).unwrap();
    assert_eq!(
        SockRef::from(&client).linger().unwrap(),
        Some(Duration::from_secs(1))
    );
}

#[test]
fn writing_to_a_closed_peer_errors_without_killing_the_process() {
    let (mut client, server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(&client, T, EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(8);
    drop(server);
    let closed = util::half_close(poll.backend());
    expect_events(&mut poll, &mut events, vec![(T, closed)]);
    // The first write after the peer closed may be accepted (the peer answers with RST);
    // later writes fail. SIGPIPE is never raised (MSG_NOSIGNAL), or this process would die.
    let mut last = None;
    for _ in 0..10 {
        match client.write(b"into the void") {
            Ok(n) => {
                assert!(n > 0);
                // Wait (bounded) for the peer's RST: Linux then sets the socket error, which
                // epoll reports as error readiness.
                expect_events(&mut poll, &mut events, vec![(T, EventSet::error())]);
            }
            Err(e) => {
                last = Some(e);
                break;
            }
        }
    }
    let err = last.expect("writes to a closed peer kept succeeding");
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ),
        "{err:?}"
    );
    // Still failing, still alive; the vectored path too.
    let err = client
        .write_vectored(&[IoSlice::new(b"a"), IoSlice::new(b"b")])
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ),
        "{err:?}"
    );
}

#[test]
fn vectored_write_and_read() {
    let (mut client, mut server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(&server, T, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    let n = client
        .write_vectored(&[
            IoSlice::new(b"hello "),
            IoSlice::new(b""),
            IoSlice::new(b"world"),
        ])
        .unwrap();
    assert_eq!(n, 11);
    expect_events(&mut poll, &mut events, vec![(T, EventSet::readable())]);
    let mut a = [0u8; 4];
    let mut b = [0u8; 16];
    let n = server
        .read_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)])
        .unwrap();
    assert_eq!(n, 11);
    assert_eq!(&a, b"hell");
    assert_eq!(&b[..7], b"o world");
    // Through `&TcpStream` too.
    let n = (&client).write_vectored(&[IoSlice::new(b"!")]).unwrap();
    assert_eq!(n, 1);
    expect_events(&mut poll, &mut events, vec![(T, EventSet::readable())]);
    assert_eq!((&server).read(&mut b).unwrap(), 1);
}

#[test]
fn ipv6_loopback_stream() {
    if !ipv6_available() {
        util::precondition_missing("IPv6: cannot bind [::1]");
        return;
    }
    let (mut client, mut server) = tcp_pair_on(any_local_ipv6_addr());
    assert!(client.local_addr().unwrap().is_ipv6());
    assert_eq!(client.peer_addr().unwrap(), server.local_addr().unwrap());
    assert_nonblocking_cloexec(server.as_raw_fd());
    let mut poll = Poll::new().unwrap();
    poll.register(&server, T, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    client.write_all(b"v6").unwrap();
    expect_events(&mut poll, &mut events, vec![(T, EventSet::readable())]);
    let mut buf = [0u8; 4];
    assert_eq!(server.try_read(&mut buf).unwrap(), Some(2));
    assert_eq!(&buf[..2], b"v6");
}
