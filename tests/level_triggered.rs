//! Level-triggered readiness: reported on every poll while the condition holds, with the exact
//! `EventSet` (no stray hup or error bits on healthy sockets).

mod util;

use std::io::Write;

use ferrio::tcp::{TcpListener, TcpStream};
use ferrio::udp::UdpSocket;
use ferrio::{EventSet, Events, Poll, PollOpt, Token, TryRead};
use util::{any_local_addr, expect_no_events, next_readiness, poll_events, tcp_pair};

const T: Token = Token(3);

#[test]
fn listener_reports_pending_connection_until_accepted() {
    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    let mut poll = Poll::new().unwrap();
    poll.register(&listener, T, EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(8);
    expect_no_events(&mut poll, &mut events);

    let _client = TcpStream::connect(&listener.local_addr().unwrap()).unwrap();
    assert_eq!(
        next_readiness(&mut poll, &mut events, T),
        EventSet::readable()
    );
    // Not accepted yet: reported again, on every poll.
    for _ in 0..3 {
        assert_eq!(
            poll_events(&mut poll, &mut events),
            vec![(T, EventSet::readable())]
        );
    }
    assert!(listener.accept().unwrap().is_some());
    assert!(listener.accept().unwrap().is_none());
    expect_no_events(&mut poll, &mut events);
}

#[test]
fn stream_reports_readable_until_read() {
    let (mut client, mut server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(&server, T, EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(8);
    expect_no_events(&mut poll, &mut events);

    client.write_all(b"level").unwrap();
    assert_eq!(
        next_readiness(&mut poll, &mut events, T),
        EventSet::readable()
    );
    for _ in 0..3 {
        assert_eq!(
            poll_events(&mut poll, &mut events),
            vec![(T, EventSet::readable())]
        );
    }
    // Reading part of the data: still readable.
    let mut buf = [0u8; 2];
    assert_eq!(server.try_read(&mut buf).unwrap(), Some(2));
    assert_eq!(
        poll_events(&mut poll, &mut events),
        vec![(T, EventSet::readable())]
    );
    let mut buf = [0u8; 16];
    assert_eq!(server.try_read(&mut buf).unwrap(), Some(3));
    assert_eq!(&buf[..3], b"vel");
    expect_no_events(&mut poll, &mut events);
}

#[test]
fn stream_readable_and_writable_interest_reports_both_merged() {
    let (mut client, server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(
        &server,
        T,
        EventSet::readable() | EventSet::writable(),
        PollOpt::level(),
    )
    .unwrap();
    let mut events = Events::with_capacity(8);
    // A healthy idle connection: writable only, every poll.
    for _ in 0..2 {
        assert_eq!(
            poll_events(&mut poll, &mut events),
            vec![(T, EventSet::writable())]
        );
    }
    client.write_all(b"x").unwrap();
    assert_eq!(
        next_readiness(&mut poll, &mut events, T),
        EventSet::readable() | EventSet::writable()
    );
    // One event per source per poll, readable and writable merged.
    assert_eq!(
        poll_events(&mut poll, &mut events),
        vec![(T, EventSet::readable() | EventSet::writable())]
    );
}

#[test]
fn udp_reports_readable_until_received() {
    let a = UdpSocket::bound(&any_local_addr()).unwrap();
    let b = UdpSocket::bound(&any_local_addr()).unwrap();
    let mut poll = Poll::new().unwrap();
    poll.register(&b, T, EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(8);
    expect_no_events(&mut poll, &mut events);

    assert_eq!(
        a.send_to(b"one", &b.local_addr().unwrap()).unwrap(),
        Some(3)
    );
    assert_eq!(
        a.send_to(b"two", &b.local_addr().unwrap()).unwrap(),
        Some(3)
    );
    assert_eq!(
        next_readiness(&mut poll, &mut events, T),
        EventSet::readable()
    );
    assert_eq!(
        poll_events(&mut poll, &mut events),
        vec![(T, EventSet::readable())]
    );
    let mut buf = [0u8; 16];
    assert_eq!(
        b.recv_from(&mut buf).unwrap(),
        Some((3, a.local_addr().unwrap()))
    );
    // One datagram left: still readable.
    assert_eq!(
        poll_events(&mut poll, &mut events),
        vec![(T, EventSet::readable())]
    );
    assert_eq!(
        b.recv_from(&mut buf).unwrap(),
        Some((3, a.local_addr().unwrap()))
    );
    assert_eq!(&buf[..3], b"two");
    expect_no_events(&mut poll, &mut events);
}

#[test]
fn udp_writable_interest_is_reported_every_poll() {
    let a = UdpSocket::bound(&any_local_addr()).unwrap();
    let b = UdpSocket::bound(&any_local_addr()).unwrap();
    let mut poll = Poll::new().unwrap();
    poll.register(
        &b,
        T,
        EventSet::readable() | EventSet::writable(),
        PollOpt::level(),
    )
    .unwrap();
    let mut events = Events::with_capacity(8);
    for _ in 0..2 {
        assert_eq!(
            poll_events(&mut poll, &mut events),
            vec![(T, EventSet::writable())]
        );
    }
    a.send_to(b"d", &b.local_addr().unwrap()).unwrap();
    assert_eq!(
        next_readiness(&mut poll, &mut events, T),
        EventSet::readable() | EventSet::writable()
    );
    let mut buf = [0u8; 4];
    assert!(b.recv_from(&mut buf).unwrap().is_some());
    assert_eq!(
        poll_events(&mut poll, &mut events),
        vec![(T, EventSet::writable())]
    );
}

#[test]
fn level_wins_over_edge_when_both_are_given() {
    let (mut client, server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(
        &server,
        T,
        EventSet::readable(),
        PollOpt::edge() | PollOpt::level(),
    )
    .unwrap();
    let mut events = Events::with_capacity(8);
    client.write_all(b"lw").unwrap();
    assert_eq!(
        next_readiness(&mut poll, &mut events, T),
        EventSet::readable()
    );
    // Edge would report once; level reports again without any new data.
    assert_eq!(
        poll_events(&mut poll, &mut events),
        vec![(T, EventSet::readable())]
    );
}

#[test]
fn empty_poll_opt_means_level() {
    let (mut client, server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(&server, T, EventSet::readable(), PollOpt::empty())
        .unwrap();
    let mut events = Events::with_capacity(8);
    client.write_all(b"e").unwrap();
    assert_eq!(
        next_readiness(&mut poll, &mut events, T),
        EventSet::readable()
    );
    assert_eq!(
        poll_events(&mut poll, &mut events),
        vec![(T, EventSet::readable())]
    );
}
