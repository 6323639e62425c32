//! Pipes: readiness of both ends, close of either end, and writes to a closed pipe that
//! return `BrokenPipe` instead of killing the process with `SIGPIPE`.

// Not built on Windows: ferrio's pipes are Unix-only (`ferrio::unix`).
#![cfg(unix)]

mod util;

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::AsRawFd;

use ferrio::unix::pipe;
use ferrio::{EventSet, Events, Poll, PollOpt, Token, TryRead, TryWrite};
use util::{
    assert_error_kind, assert_nonblocking_cloexec, assert_would_block, expect_events,
    expect_no_events, next_readiness,
};

const R: Token = Token(1);
const W: Token = Token(2);

#[test]
fn pipe_ends_are_nonblocking_and_cloexec() {
    let (reader, writer) = pipe().unwrap();
    assert_nonblocking_cloexec(reader.as_raw_fd());
    assert_nonblocking_cloexec(writer.as_raw_fd());
}

#[test]
fn reader_readable_then_readable_hup_after_writer_drop() {
    let (mut reader, mut writer) = pipe().unwrap();
    let mut poll = Poll::new().unwrap();
    poll.register(&reader, R, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    let mut buf = [0u8; 16];
    assert_would_block(reader.read(&mut buf));
    expect_no_events(&mut poll, &mut events);

    writer.write_all(b"abc").unwrap();
    assert_eq!(
        next_readiness(&mut poll, &mut events, R),
        EventSet::readable()
    );
    assert_eq!(reader.try_read(&mut buf).unwrap(), Some(3));

    writer.write_all(b"de").unwrap();
    drop(writer);
    // Epoll reports EPOLLIN | EPOLLHUP for a pipe whose writers are all closed: a hang-up,
    // which ferrio reports as both directions closed.
    assert_eq!(
        next_readiness(&mut poll, &mut events, R),
        EventSet::readable() | EventSet::hup() | EventSet::read_closed() | EventSet::write_closed()
    );
    assert_eq!(reader.try_read(&mut buf).unwrap(), Some(2));
    assert_eq!(reader.try_read(&mut buf).unwrap(), Some(0));
}

#[test]
fn writer_fills_up_then_gets_writable_edge() {
    let (mut reader, mut writer) = pipe().unwrap();
    let mut poll = Poll::new().unwrap();
    poll.register(&writer, W, EventSet::writable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    assert_eq!(
        next_readiness(&mut poll, &mut events, W),
        EventSet::writable()
    );

    let chunk = [7u8; 4096];
    let mut written = 0;
    while let Some(n) = writer.try_write(&chunk).unwrap() {
        written += n;
    }
    assert!(written > 0);
    expect_no_events(&mut poll, &mut events);

    // Draining the reader frees space: a writable edge.
    let mut buf = [0u8; 8192];
    let mut read = 0;
    while let Some(n) = reader.try_read(&mut buf).unwrap() {
        read += n;
    }
    assert_eq!(read, written);
    expect_events(&mut poll, &mut events, vec![(W, EventSet::writable())]);
}

#[test]
fn writing_to_a_pipe_without_reader_is_broken_pipe_not_sigpipe() {
    let (reader, mut writer) = pipe().unwrap();
    let mut poll = Poll::new().unwrap();
    poll.register(&writer, W, EventSet::writable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    assert_eq!(
        next_readiness(&mut poll, &mut events, W),
        EventSet::writable()
    );
    drop(reader);
    // Epoll reports EPOLLOUT | EPOLLERR for a pipe whose readers are all closed.
    let kind = next_readiness(&mut poll, &mut events, W);
    assert!(kind.is_error(), "{kind:?}");
    // If SIGPIPE were raised, the default action would kill this test process.
    assert_error_kind(writer.write(b"x"), io::ErrorKind::BrokenPipe);
    assert_error_kind(
        writer.write_vectored(&[IoSlice::new(b"a"), IoSlice::new(b"b")]),
        io::ErrorKind::BrokenPipe,
    );
    assert_error_kind(writer.try_write(b"y"), io::ErrorKind::BrokenPipe);
}

#[test]
fn pipe_sources_deregister_on_drop() {
    let (reader, mut writer) = pipe().unwrap();
    let mut poll = Poll::new().unwrap();
    poll.register(&reader, R, EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(8);
    drop(reader);
    let _ = writer.write(b"x");
    expect_no_events(&mut poll, &mut events);
}
