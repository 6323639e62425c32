//! IO calls with the buffers an adversarial or careless program passes, on every stream source
//! (TCP, Unix stream, pipe, `Io`) and every backend of the build: zero-length reads and writes
//! (no data lost, no false end of stream, readiness unharmed), buffers far larger than the
//! socket's (a partial write, then would-block, then everything arrives), and vectored writes
//! with more slices than the kernel takes in one call (`IOV_MAX`), which std's own streams
//! accept by writing a prefix.
#![cfg(unix)]

mod util;

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::time::Duration;

use ferrio::unix::{pipe, UnixStream};
use ferrio::{EventSet, Events, Poll, PollOpt, Token, TryRead, TryWrite};

use util::*;

/// A connected stream of each kind: `(name, writer, reader)`, both ends ferrio sources.
type Pair = (&'static str, Box<dyn Source>, Box<dyn Source>);

trait Source: Read + Write + ferrio::Evented {}
impl<T: Read + Write + ferrio::Evented> Source for T {}

/// A pipe's two ends as one `Read + Write` type each (the unused direction fails).
struct PipeEnd {
    reader: Option<ferrio::unix::PipeReader>,
    writer: Option<ferrio::unix::PipeWriter>,
}

impl Read for PipeEnd {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.as_mut().unwrap().read(buf)
    }
}

impl Write for PipeEnd {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer.as_mut().unwrap().write(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> std::io::Result<usize> {
        self.writer.as_mut().unwrap().write_vectored(bufs)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl ferrio::Evented for PipeEnd {
    fn register(
        &self,
        registry: &ferrio::Registry,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> std::io::Result<()> {
        match (&self.reader, &self.writer) {
            (Some(r), _) => r.register(registry, token, interest, opts),
            (_, Some(w)) => w.register(registry, token, interest, opts),
            _ => unreachable!(),
        }
    }
    fn reregister(
        &self,
        registry: &ferrio::Registry,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> std::io::Result<()> {
        match (&self.reader, &self.writer) {
            (Some(r), _) => r.reregister(registry, token, interest, opts),
            (_, Some(w)) => w.reregister(registry, token, interest, opts),
            _ => unreachable!(),
        }
    }
    fn deregister(&self, registry: &ferrio::Registry) -> std::io::Result<()> {
        match (&self.reader, &self.writer) {
            (Some(r), _) => r.deregister(registry),
            (_, Some(w)) => w.deregister(registry),
            _ => unreachable!(),
        }
    }
}

fn pairs() -> Vec<Pair> {
    let (tcp_a, tcp_b) = tcp_pair();
    let (ux_a, ux_b) = UnixStream::pair().unwrap();
    let (r, w) = pipe().unwrap();
    let (io_r, io_w) = pipe().unwrap();
    let io_r = ferrio::Io::from(std::os::fd::OwnedFd::from(io_r));
    let io_w = ferrio::Io::from(std::os::fd::OwnedFd::from(io_w));
    vec![
        ("tcp", Box::new(tcp_a), Box::new(tcp_b)),
        ("unix", Box::new(ux_a), Box::new(ux_b)),
        (
            "pipe",
            Box::new(PipeEnd {
                reader: None,
                writer: Some(w),
            }),
            Box::new(PipeEnd {
                reader: Some(r),
                writer: None,
            }),
        ),
        ("io", Box::new(io_w), Box::new(io_r)),
    ]
}

/// Reads exactly `want` bytes from `reader` (registered readable on `poll` as `token`),
/// polling (bounded) when it would block.
fn read_all(
    poll: &mut Poll,
    events: &mut Events,
    reader: &mut dyn Source,
    want: usize,
    what: &str,
) -> Vec<u8> {
    let mut got = Vec::with_capacity(want);
    let mut buf = vec![0u8; 1 << 16];
    let mut idle = 0;
    while got.len() < want {
        match reader.try_read(&mut buf).unwrap() {
            Some(0) => panic!("{what}: end of stream after {} of {want} bytes", got.len()),
            Some(n) => {
                got.extend_from_slice(&buf[..n]);
                idle = 0;
            }
            None => {
                idle += 1;
                assert!(
                    idle < 20,
                    "{what}: only {} of {want} bytes arrived",
                    got.len()
                );
                poll_once(poll, events, Duration::from_millis(250));
            }
        }
    }
    got
}

/// A zero-length write is `Some(0)` and sends nothing; a zero-length read is `Some(0)` without
/// consuming the data queued (it is not end of stream); readiness is unharmed in every mode:
/// the data written afterwards is reported and read whole.
#[test]
fn zero_length_reads_and_writes_lose_nothing() {
    for opts in [PollOpt::edge(), PollOpt::level()] {
        for (backend, mut poll) in polls() {
            for (kind, mut w, mut r) in pairs() {
                let what = format!("{backend} {kind} {opts:?}");
                let mut events = Events::with_capacity(8);
                poll.register(&*r, Token(1), EventSet::readable(), opts)
                    .unwrap();
                assert_eq!(w.try_write(&[]).unwrap(), Some(0), "{what}");
                assert_eq!(w.write_vectored(&[]).unwrap(), 0, "{what}");
                assert_eq!(
                    w.write_vectored(&[IoSlice::new(&[]), IoSlice::new(&[])])
                        .unwrap(),
                    0,
                    "{what}"
                );
                // Nothing was sent: no readable event (a zero-length write on a stream is no
                // message), and a read would block.
                expect_no_events(&mut poll, &mut events);
                let mut buf = [0u8; 8];
                assert_eq!(r.try_read(&mut buf).unwrap(), None, "{what}");
                assert_eq!(w.try_write(b"abc").unwrap(), Some(3), "{what}");
                expect_events(
                    &mut poll,
                    &mut events,
                    vec![(Token(1), EventSet::readable())],
                );
                // Zero-length reads do not consume.
                assert_eq!(r.try_read(&mut []).unwrap(), Some(0), "{what}");
                assert_eq!(r.read_vectored(&mut []).unwrap(), 0, "{what}");
                assert_eq!(
                    r.read_vectored(&mut [IoSliceMut::new(&mut [])]).unwrap(),
                    0,
                    "{what}"
                );
                assert_eq!(r.try_read(&mut buf).unwrap(), Some(3), "{what}");
                assert_eq!(&buf[..3], b"abc", "{what}");
                assert_eq!(r.try_read(&mut buf).unwrap(), None, "{what}");
                // The next write is reported as usual.
                assert_eq!(w.try_write(b"de").unwrap(), Some(2), "{what}");
                expect_events(
                    &mut poll,
                    &mut events,
                    vec![(Token(1), EventSet::readable())],
                );
                assert_eq!(r.try_read(&mut buf).unwrap(), Some(2), "{what}");
                poll.deregister(&*r).unwrap();
            }
        }
    }
}

/// A 32 MiB write to a stream whose reader is idle: `Some(n)` with `0 < n < len` (a partial
/// write, never an error or a blocking call), then `None` (would block) once full; the
/// writer is reported writable again after the reader drains, and every byte arrives in order.
#[test]
fn a_buffer_far_larger_than_the_socket_is_written_in_parts() {
    const LEN: usize = 32 << 20;
    let mut data = vec![0u8; LEN];
    fill_pattern(&mut data, 0);
    for (backend, mut poll) in polls() {
        for (kind, mut w, mut r) in pairs() {
            let what = format!("{backend} {kind}");
            let mut events = Events::with_capacity(8);
            poll.register(&*w, Token(1), EventSet::writable(), PollOpt::edge())
                .unwrap();
            poll.register(&*r, Token(2), EventSet::readable(), PollOpt::edge())
                .unwrap();
            let first = w.try_write(&data).unwrap().expect("room for something");
            assert!(first > 0 && first < LEN, "{what}: wrote {first}");
            let mut sent = first;
            // Full now (or soon): would block.
            let mut blocked = false;
            for _ in 0..64 {
                match w.try_write(&data[sent..]).unwrap() {
                    Some(n) => sent += n,
                    None => {
                        blocked = true;
                        break;
                    }
                }
            }
            assert!(blocked, "{what}: never would block ({sent} bytes sent)");
            let got = read_all(&mut poll, &mut events, &mut *r, sent, &what);
            check_pattern(&got, 0);
            // Drained: the writer is told, and the rest goes out.
            expect_events(
                &mut poll,
                &mut events,
                vec![(Token(1), EventSet::writable())],
            );
            let more = w.try_write(&data[sent..]).unwrap().expect("room again");
            assert!(more > 0, "{what}");
            let got = read_all(&mut poll, &mut events, &mut *r, more, &what);
            check_pattern(&got, sent);
            // A huge read buffer on an empty stream would block (no false end of stream).
            let mut huge = vec![0u8; LEN];
            assert_eq!(r.try_read(&mut huge).unwrap(), None, "{what}");
        }
    }
}

/// A vectored write of 3,000 one-byte slices, more than one `writev`/`sendmsg` takes
/// (`IOV_MAX`, 1,024 on Linux): std's streams write a prefix of them; ferrio's must too, not
/// fail with `EINVAL`. The bytes written arrive in order.
#[test]
fn a_vectored_write_with_more_slices_than_iov_max_writes_a_prefix() {
    let bytes: Vec<u8> = (0..3000).map(util::pattern).collect();
    let slices: Vec<IoSlice<'_>> = bytes.chunks(1).map(IoSlice::new).collect();
    for (backend, mut poll) in polls() {
        for (kind, mut w, mut r) in pairs() {
            let what = format!("{backend} {kind}");
            let mut events = Events::with_capacity(8);
            poll.register(&*r, Token(2), EventSet::readable(), PollOpt::level())
                .unwrap();
            let n = w
                .write_vectored(&slices)
                .unwrap_or_else(|e| panic!("{what}: write_vectored of 3000 slices: {e}"));
            assert!(n > 0 && n <= 3000, "{what}: wrote {n}");
            let got = read_all(&mut poll, &mut events, &mut *r, n, &what);
            assert_eq!(got, &bytes[..n], "{what}");
            // And the whole of it with write_all_vectored-style looping.
            let mut rest = &bytes[n..];
            while !rest.is_empty() {
                let slices: Vec<IoSlice<'_>> = rest.chunks(1).map(IoSlice::new).collect();
                let k = w.write_vectored(&slices).unwrap();
                assert!(k > 0, "{what}");
                let got = read_all(&mut poll, &mut events, &mut *r, k, &what);
                assert_eq!(got, &rest[..k], "{what}");
                rest = &rest[k..];
            }
        }
    }
}
