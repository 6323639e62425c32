//! The finer readiness flags (read-closed, write-closed, priority) next to the merged `hup`,
//! as Linux reports them for each way a connection closes: the exact `EventSet` per case, on
//! every backend (`FERRIO_BACKEND=poll`, `FERRIO_BACKEND=uring` run this file too; poll(2)
//! and io_uring's POLL_ADD report the same bits as epoll on Linux).

// Not built on Windows: it checks the readiness flags Linux gives per close case (and Unix sockets, pipes).
#![cfg(unix)]

mod util;

use std::io::{self, Write};
use std::net::Shutdown;
use std::time::Duration;

use ferrio::unix::{pipe, UnixStream};
use ferrio::{EventSet, Events, IoEvent, Poll, PollOpt, Token, TryRead, TryWrite};
use socket2::SockRef;
use util::{
    assert_error_kind, expect_events, half_close, half_close_is_hup, next_readiness, tcp_pair,
};

const T: Token = Token(1);

fn rw() -> EventSet {
    EventSet::readable() | EventSet::writable()
}

/// The readiness of `source` under a level-triggered registration for `interest`.
fn readiness_of<E: ferrio::Evented>(source: &E, interest: EventSet) -> EventSet {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(4);
    poll.register(source, T, interest, PollOpt::level())
        .unwrap();
    next_readiness(&mut poll, &mut events, T)
}

/// Waits until `source`'s readiness (level-triggered) contains `expected`, and returns it.
fn readiness_containing<E: ferrio::Evented>(
    source: &E,
    interest: EventSet,
    expected: EventSet,
) -> EventSet {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(4);
    poll.register(source, T, interest, PollOpt::level())
        .unwrap();
    let seen = expect_events(&mut poll, &mut events, vec![(T, expected)]);
    seen.into_iter()
        .rev()
        .find(|&(token, kind)| token == T && kind.contains(expected))
        .map(|(_, kind)| kind)
        .unwrap()
}

/// The backend `Poll::new()` picks in this run (`FERRIO_BACKEND`).
fn backend() -> ferrio::Backend {
    Poll::new().unwrap().backend()
}

#[test]
fn peer_write_shutdown_is_read_closed_only() {
    let (client, mut server) = tcp_pair();
    client.shutdown(Shutdown::Write).unwrap();
    if !half_close_is_hup(backend()) {
        // poll(2) without POLLRDHUP (the portable form): the half-close is readable only,
        // and the read that follows returns 0 (documented on `Backend::Poll`).
        assert_eq!(readiness_of(&server, rw()), rw());
    } else {
        let kind = readiness_containing(&server, rw(), EventSet::read_closed());
        assert_eq!(
            kind,
            rw() | EventSet::hup() | EventSet::read_closed(),
            "the write side is still open"
        );
        let ev = IoEvent::new(kind, T);
        assert!(ev.is_read_closed() && ev.is_hup() && !ev.is_write_closed() && !ev.is_error());
    }
    let mut buf = [0u8; 4];
    assert_eq!(server.try_read(&mut buf).unwrap(), Some(0));
    assert_eq!(server.try_write(b"still open").unwrap(), Some(10));
}

#[test]
fn our_read_shutdown_is_read_closed_too() {
    let (_client, mut server) = tcp_pair();
    server.shutdown(Shutdown::Read).unwrap();
    assert_eq!(
        readiness_of(&server, EventSet::readable()),
        half_close(backend())
    );
    let mut buf = [0u8; 4];
    assert_eq!(server.try_read(&mut buf).unwrap(), Some(0));
}

#[test]
fn our_write_shutdown_is_not_reported_on_linux() {
    // Linux has no readiness bit for "this side shut down writing": the socket stays
    // writable (a write then fails), so write-closed is not set. Documented on EventSet.
    let (_client, mut server) = tcp_pair();
    server.shutdown(Shutdown::Write).unwrap();
    assert_eq!(readiness_of(&server, rw()), EventSet::writable());
    assert_error_kind(server.write(b"x"), io::ErrorKind::BrokenPipe);
}

#[test]
fn peer_read_shutdown_is_not_reported_on_linux() {
    // TCP does not tell the peer about shutdown(Read): nothing changes on our side.
    let (client, mut server) = tcp_pair();
    client.shutdown(Shutdown::Read).unwrap();
    assert_eq!(readiness_of(&server, rw()), EventSet::writable());
    assert_eq!(server.try_write(b"ok").unwrap(), Some(2));
}

#[test]
fn both_directions_shut_down_is_read_and_write_closed() {
    let (_client, server) = tcp_pair();
    server.shutdown(Shutdown::Both).unwrap();
    assert_eq!(
        readiness_of(&server, rw()),
        rw() | EventSet::hup() | EventSet::read_closed() | EventSet::write_closed()
    );
}

#[test]
fn reset_is_error_and_both_closed() {
    let (client, mut server) = tcp_pair();
    client.set_linger(Some(Duration::ZERO)).unwrap();
    drop(client);
    let kind = readiness_containing(&server, rw(), EventSet::error());
    assert_eq!(
        kind,
        rw() | EventSet::error()
            | EventSet::hup()
            | EventSet::read_closed()
            | EventSet::write_closed()
    );
    let mut buf = [0u8; 4];
    assert_error_kind(server.try_read(&mut buf), io::ErrorKind::ConnectionReset);
}

#[test]
fn unix_peer_close_is_a_hang_up() {
    // A Unix stream whose peer is gone: both directions are closed (EPOLLRDHUP | EPOLLHUP).
    let (a, b) = UnixStream::pair().unwrap();
    drop(a);
    assert_eq!(
        readiness_of(&b, EventSet::readable()),
        EventSet::readable() | EventSet::hup() | EventSet::read_closed() | EventSet::write_closed()
    );
}

#[test]
fn pipe_writer_without_reader_is_write_closed() {
    let (reader, mut writer) = pipe().unwrap();
    drop(reader);
    assert_eq!(
        readiness_of(&writer, EventSet::writable()),
        EventSet::writable() | EventSet::error() | EventSet::write_closed()
    );
    assert_error_kind(writer.write(b"x"), io::ErrorKind::BrokenPipe);
}

#[test]
fn pipe_reader_without_writer_is_read_closed() {
    // An empty pipe whose writers are gone: a hang-up. epoll and io_uring report EPOLLHUP
    // alone (no EPOLLIN, as nothing is left to read); the poll(2) backend adds readable for a
    // readable interest, as it does on every hang-up. read_closed and hup are set everywhere.
    let (mut reader, writer) = pipe().unwrap();
    drop(writer);
    let kind = readiness_of(&reader, EventSet::readable());
    let closed = EventSet::hup() | EventSet::read_closed() | EventSet::write_closed();
    assert_eq!(kind - EventSet::readable(), closed, "{kind:?}");
    let mut buf = [0u8; 1];
    assert_eq!(reader.try_read(&mut buf).unwrap(), Some(0));
}

#[test]
fn a_healthy_connection_reports_no_closed_or_priority_bits() {
    let (client, server) = tcp_pair();
    (&client).write_all(b"data").unwrap();
    let kind = readiness_containing(&server, rw(), EventSet::readable());
    assert_eq!(kind, rw());
}

/// Out-of-band data (TCP urgent) is priority readiness (EPOLLPRI), reported with readable, for
/// a registration that asks for priority; one that asks only for readable is not told about it
/// (an urgent byte alone is not readable data).
#[test]
fn out_of_band_data_is_priority() {
    let (client, server) = tcp_pair();
    // One urgent byte and nothing else: only EPOLLPRI is raised, not EPOLLIN.
    let sent = SockRef::from(&client).send_out_of_band(b"!").unwrap();
    assert_eq!(sent, 1);
    let kind = readiness_containing(
        &server,
        EventSet::readable() | EventSet::priority(),
        EventSet::priority(),
    );
    assert!(kind.is_priority() && kind.is_readable(), "{kind:?}");
    let mut byte = [std::mem::MaybeUninit::new(0u8)];
    assert_eq!(
        SockRef::from(&server).recv_out_of_band(&mut byte).unwrap(),
        1
    );
    // SAFETY: initialised above (and written by the kernel).
    assert_eq!(unsafe { byte[0].assume_init() }, b'!');
}

#[test]
fn out_of_band_data_is_not_reported_without_priority_interest() {
    let (client, server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(4);
    poll.register(&server, T, EventSet::readable(), PollOpt::level())
        .unwrap();
    assert_eq!(SockRef::from(&client).send_out_of_band(b"!").unwrap(), 1);
    util::expect_no_events(&mut poll, &mut events);
}
