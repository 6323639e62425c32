//! Oneshot registrations: one event, then disarmed (even while still ready) until
//! `reregister` re-arms them.

mod util;

use std::io::Write;

use ferrio::udp::UdpSocket;
use ferrio::{EventSet, Events, Poll, PollOpt, Token, TryRead};
use util::{any_local_addr, expect_events, expect_no_events, next_readiness, tcp_pair};

const T: Token = Token(5);

#[test]
fn level_oneshot_reports_once_then_disarms_until_reregister() {
    let (mut client, mut server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    let opts = PollOpt::level() | PollOpt::oneshot();
    poll.register(&server, T, EventSet::readable(), opts)
        .unwrap();
    let mut events = Events::with_capacity(8);

    client.write_all(b"data").unwrap();
    assert_eq!(
        next_readiness(&mut poll, &mut events, T),
        EventSet::readable()
    );
    // Still readable (nothing was read) and level-triggered, but disarmed.
    expect_no_events(&mut poll, &mut events);
    expect_no_events(&mut poll, &mut events);

    poll.reregister(&server, T, EventSet::readable(), opts)
        .unwrap();
    assert_eq!(
        next_readiness(&mut poll, &mut events, T),
        EventSet::readable()
    );
    expect_no_events(&mut poll, &mut events);

    let mut buf = [0u8; 8];
    assert_eq!(server.try_read(&mut buf).unwrap(), Some(4));
    // Disarmed: new data does not produce an event either.
    client.write_all(b"more").unwrap();
    expect_no_events(&mut poll, &mut events);
    poll.reregister(&server, T, EventSet::readable(), opts)
        .unwrap();
    expect_events(&mut poll, &mut events, vec![(T, EventSet::readable())]);
}

#[test]
fn edge_oneshot_reports_once_then_disarms_until_reregister() {
    let a = UdpSocket::bound(&any_local_addr()).unwrap();
    let b = UdpSocket::bound(&any_local_addr()).unwrap();
    let dest = b.local_addr().unwrap();
    let mut poll = Poll::new().unwrap();
    let opts = PollOpt::edge() | PollOpt::oneshot();
    poll.register(&b, T, EventSet::readable(), opts).unwrap();
    let mut events = Events::with_capacity(8);

    a.send_to(b"1", &dest).unwrap();
    expect_events(&mut poll, &mut events, vec![(T, EventSet::readable())]);
    // A new datagram is a new edge, but the registration is disarmed.
    a.send_to(b"2", &dest).unwrap();
    expect_no_events(&mut poll, &mut events);

    // Re-arming reports the readiness that is already there.
    poll.reregister(&b, T, EventSet::readable(), opts).unwrap();
    expect_events(&mut poll, &mut events, vec![(T, EventSet::readable())]);
    expect_no_events(&mut poll, &mut events);
}

#[test]
fn reregister_can_rearm_with_a_new_token_and_interest() {
    let (_client, server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(
        &server,
        T,
        EventSet::writable(),
        PollOpt::edge() | PollOpt::oneshot(),
    )
    .unwrap();
    let mut events = Events::with_capacity(8);
    assert_eq!(
        next_readiness(&mut poll, &mut events, T),
        EventSet::writable()
    );
    expect_no_events(&mut poll, &mut events);

    poll.reregister(
        &server,
        Token(6),
        EventSet::writable(),
        PollOpt::level() | PollOpt::oneshot(),
    )
    .unwrap();
    assert_eq!(
        next_readiness(&mut poll, &mut events, Token(6)),
        EventSet::writable()
    );
    expect_no_events(&mut poll, &mut events);
}

#[test]
fn oneshot_source_can_still_be_deregistered_after_firing() {
    let (_client, server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(&server, T, EventSet::writable(), PollOpt::oneshot())
        .unwrap();
    let mut events = Events::with_capacity(8);
    expect_events(&mut poll, &mut events, vec![(T, EventSet::writable())]);
    // Disarmed is still registered: deregister succeeds, and a second one is NotFound.
    poll.deregister(&server).unwrap();
    assert_eq!(
        poll.deregister(&server).unwrap_err().kind(),
        std::io::ErrorKind::NotFound
    );
}
