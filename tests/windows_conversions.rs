//! Windows: conversions between ferrio's sockets and std's socket types (`AsRawSocket`,
//! `AsSocket`, `IntoRawSocket`, `FromRawSocket`, `From<OwnedSocket>`, `From<Source> for
//! OwnedSocket`, `into_std`): adopting switches the socket to non-blocking, converting a
//! registered source away deregisters it and leaves the socket open.

#![cfg(windows)]

mod util;

use std::io::{Read, Write};
use std::os::windows::io::{AsRawSocket, AsSocket, FromRawSocket, IntoRawSocket, OwnedSocket};

use ferrio::tcp::{TcpListener, TcpStream};
use ferrio::udp::UdpSocket;
use ferrio::{EventSet, Events, Poll, PollOpt, Token};
use util::{any_local_addr, expect_events, expect_no_events, tcp_pair};

#[test]
fn the_raw_socket_is_the_one_the_source_uses() {
    let (client, server) = tcp_pair();
    assert_eq!(
        client.as_raw_socket(),
        client.as_socket().as_raw_socket(),
        "AsSocket and AsRawSocket agree"
    );
    assert_ne!(client.as_raw_socket(), server.as_raw_socket());
}

#[test]
fn converting_a_registered_stream_away_deregisters_it_and_keeps_it_open() {
    let (client, server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    poll.register(&server, Token(1), EventSet::readable(), PollOpt::level())
        .unwrap();
    let raw = server.as_raw_socket();
    let owned = OwnedSocket::from(server);
    assert_eq!(owned.as_raw_socket(), raw, "the same socket");
    (&client).write_all(b"after").unwrap();
    // The old registration is gone: no event for its token.
    expect_no_events(&mut poll, &mut events);
    // The socket is open, non-blocking, and can be adopted and registered again.
    let again = TcpStream::from(owned);
    poll.register(&again, Token(2), EventSet::readable(), PollOpt::level())
        .unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(2), EventSet::readable())],
    );
    let mut buf = [0u8; 8];
    assert_eq!((&again).read(&mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"after");
}

#[test]
fn raw_round_trips_keep_the_socket() {
    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    let addr = listener.local_addr().unwrap();
    let raw = listener.into_raw_socket();
    // SAFETY: `raw` came from `into_raw_socket` and nothing else owns it.
    let listener = unsafe { TcpListener::from_raw_socket(raw) };
    assert_eq!(listener.local_addr().unwrap(), addr);
    let udp = UdpSocket::bound(&any_local_addr()).unwrap();
    let udp_addr = udp.local_addr().unwrap();
    let std_udp = udp.into_std();
    assert_eq!(std_udp.local_addr().unwrap(), udp_addr);
}

#[test]
fn adopting_a_blocking_socket_makes_it_non_blocking() {
    // A blocking std listener with nothing pending: once adopted, accept must not block.
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listener = TcpListener::from(OwnedSocket::from(std_listener));
    assert!(listener.accept().unwrap().is_none());
    let std_udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp = UdpSocket::from(OwnedSocket::from(std_udp));
    let mut buf = [0u8; 4];
    assert_eq!(udp.recv_from(&mut buf).unwrap(), None);
}
