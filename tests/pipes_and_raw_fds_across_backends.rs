//! Pipes and raw fds on every backend of the build and in every mode: a pipe with two writers
//! hangs up only when the last one closes; a full pipe whose reader closes wakes its writer
//! with an error and the write is `BrokenPipe`; an edge-triggered raw fd read outside ferrio
//! (with `libc::read`) still gets an event for the next data.
#![cfg(unix)]

mod util;

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use ferrio::unix::{pipe, EventedFd, PipeWriter, UnixStream};
use ferrio::{EventSet, Events, PollOpt, Token, TryRead, TryWrite};

use util::*;

const MODES: [PollOpt; 2] = [PollOpt::edge(), PollOpt::level()];

/// Two writers on one pipe: closing the first is no hang-up (the reader sees its data and then
/// would-block, not end of stream); closing the second is readable + hup and end of stream.
#[test]
fn a_pipe_hangs_up_only_when_its_last_writer_closes() {
    for opts in MODES {
        for (backend, mut poll) in polls() {
            let what = format!("{backend} {opts:?}");
            let mut events = Events::with_capacity(8);
            let (reader, mut first) = pipe().unwrap();
            let mut second =
                PipeWriter::from_fd(first.as_fd().try_clone_to_owned().unwrap()).unwrap();
            poll.register(&reader, Token(1), EventSet::readable(), opts)
                .unwrap();
            first.write_all(b"one").unwrap();
            drop(first);
            let got = next_readiness(&mut poll, &mut events, Token(1));
            assert!(got.is_readable(), "{what}: {got:?}");
            assert!(!got.is_hup(), "{what}: hup with a writer left: {got:?}");
            let mut buf = [0u8; 8];
            assert_eq!((&reader).try_read(&mut buf).unwrap(), Some(3), "{what}");
            assert_eq!((&reader).try_read(&mut buf).unwrap(), None, "{what}");
            if !opts.is_level() {
                expect_no_events(&mut poll, &mut events);
            }
            second.write_all(b"two").unwrap();
            drop(second);
            let mut union = EventSet::none();
            for _ in 0..10 {
                poll_once(
                    &mut poll,
                    &mut events,
                    std::time::Duration::from_millis(500),
                );
                for e in events.iter() {
                    union |= e.kind();
                }
                if union.is_hup() {
                    break;
                }
            }
            assert!(
                union.is_readable() && union.is_hup(),
                "{what}: the last writer's close gave {union:?}"
            );
            assert_eq!((&reader).try_read(&mut buf).unwrap(), Some(3), "{what}");
            assert_eq!((&reader).try_read(&mut buf).unwrap(), Some(0), "{what}");
        }
    }
}

/// A full pipe (the writer has seen would-block) whose reader closes: the writer is woken
/// with error readiness in every mode, and its next write is `BrokenPipe` (no `SIGPIPE`).
#[test]
fn a_full_pipe_whose_reader_closes_wakes_the_writer_with_an_error() {
    for opts in [PollOpt::edge(), PollOpt::level(), PollOpt::oneshot()] {
        for (backend, mut poll) in polls() {
            let what = format!("{backend} {opts:?}");
            let mut events = Events::with_capacity(8);
            let (reader, writer) = pipe().unwrap();
            let chunk = [7u8; 4096];
            while (&writer).try_write(&chunk).unwrap().is_some() {}
            poll.register(&writer, Token(1), EventSet::writable(), opts)
                .unwrap();
            expect_no_events(&mut poll, &mut events);
            drop(reader);
            let got = next_readiness(&mut poll, &mut events, Token(1));
            assert!(got.is_error(), "{what}: the reader's close gave {got:?}");
            let err = (&writer).try_write(b"x").unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{what}: {err}");
        }
    }
}

/// Reads from `fd` with `libc::read` until it would block; returns the bytes read.
fn raw_drain(fd: std::os::fd::RawFd) -> usize {
    let mut total = 0;
    let mut buf = [0u8; 256];
    loop {
        // SAFETY: `buf` is valid for writes of its length; a bad fd is an error.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return total;
        }
        total += n as usize;
    }
}

/// An edge-triggered raw fd (`EventedFd`) whose data is read with `libc::read`, which ferrio
/// does not see: after a poll that found it quiet, each later write is reported again
/// (poll(2) must notice the drain by itself, with its probe), twenty times in a row, for a
/// socket and a pipe.
#[test]
fn an_edge_triggered_raw_fd_read_outside_ferrio_is_reported_again() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let (a, mut b) = UnixStream::pair().unwrap();
        let a: OwnedFd = a.into();
        let (pr, mut pw) = pipe().unwrap();
        let pr: OwnedFd = pr.into();
        let fds = [a.as_raw_fd(), pr.as_raw_fd()];
        for (i, fd) in fds.iter().enumerate() {
            poll.register(
                &EventedFd(fd),
                Token(i),
                EventSet::readable(),
                PollOpt::edge(),
            )
            .unwrap();
        }
        for round in 0..20 {
            b.try_write(b"sock").unwrap();
            pw.try_write(b"pipe").unwrap();
            expect_events(
                &mut poll,
                &mut events,
                vec![
                    (Token(0), EventSet::readable()),
                    (Token(1), EventSet::readable()),
                ],
            );
            assert_eq!(raw_drain(fds[0]), 4, "{backend} round {round}");
            assert_eq!(raw_drain(fds[1]), 4, "{backend} round {round}");
            // A poll while the fds are quiet: poll(2)'s probe sees the drain here. (A raw fd
            // drained and refilled between two polls gets no new edge on poll(2), as
            // `Backend::Poll` documents; ferrio's own sources do, their IO re-arms them.)
            expect_no_events(&mut poll, &mut events);
        }
        for fd in &fds {
            poll.deregister(&EventedFd(fd)).unwrap();
        }
    }
}

/// An edge-triggered `Io` (mio 0.5's any-fd source) read through its `try_clone`: each new
/// write is reported on the registered original, also when it arrives before the next poll
/// (poll(2) must re-arm the original's registration on IO through the clone, as it does for
/// the typed sources' clones), twenty times in a row, for a socket and a pipe; and writes
/// through a clone of a registered writer re-arm its writable edge.
#[test]
fn an_io_read_through_its_clone_keeps_the_original_reporting() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let (a, mut b) = UnixStream::pair().unwrap();
        let sock = ferrio::Io::from(OwnedFd::from(a));
        let (pr, mut pw) = pipe().unwrap();
        let pipe_r = ferrio::Io::from(OwnedFd::from(pr));
        let clones = [sock.try_clone().unwrap(), pipe_r.try_clone().unwrap()];
        poll.register(&sock, Token(0), EventSet::readable(), PollOpt::edge())
            .unwrap();
        poll.register(&pipe_r, Token(1), EventSet::readable(), PollOpt::edge())
            .unwrap();
        b.try_write(b"sock").unwrap();
        pw.try_write(b"pipe").unwrap();
        for round in 0..20 {
            expect_events(
                &mut poll,
                &mut events,
                vec![
                    (Token(0), EventSet::readable()),
                    (Token(1), EventSet::readable()),
                ],
            );
            let mut buf = [0u8; 16];
            for clone in &clones {
                let mut clone = clone;
                assert_eq!(
                    clone.try_read(&mut buf).unwrap(),
                    Some(4),
                    "{backend} {round}"
                );
                assert_eq!(clone.try_read(&mut buf).unwrap(), None, "{backend} {round}");
            }
            // Refilled before the next poll: a new edge on every backend.
            b.try_write(b"sock").unwrap();
            pw.try_write(b"pipe").unwrap();
        }

        // The writable side: fill a pipe through a clone of the registered writer, drain it,
        // and the registered writer gets a new writable edge.
        let (r2, w2) = pipe().unwrap();
        let writer = ferrio::Io::from(OwnedFd::from(w2));
        let writer_clone = writer.try_clone().unwrap();
        poll.register(&writer, Token(2), EventSet::writable(), PollOpt::edge())
            .unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(2), EventSet::writable())],
        );
        let chunk = [1u8; 4096];
        while (&writer_clone).try_write(&chunk).unwrap().is_some() {}
        let mut sink = [0u8; 65536];
        while (&r2).try_read(&mut sink).unwrap().is_some() {}
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(2), EventSet::writable())],
        );
    }
}
