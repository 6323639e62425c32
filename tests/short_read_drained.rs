//! `TryReadStream`: a short read from an edge-registered stream socket proves its receive
//! queue was drained, on every backend (epoll, poll(2), io_uring), so a reader that stops
//! there never loses data; and the documented exceptions (a FIN in the same event, urgent
//! data, fd passing) behave as documented.
//!
//! Every test runs on all three backends explicitly (not only the one `FERRIO_BACKEND`
//! selects); a backend that is not available is a failure, not a skip.

mod util;

use std::io::{self, Write};
use std::net::Shutdown;
#[cfg(unix)]
use std::os::fd::AsFd;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ferrio::tcp::TcpStream;
#[cfg(unix)]
use ferrio::unix::UnixStream;
use ferrio::{Backend, EventSet, Events, Poll, PollOpt, StreamRead, Token, TryReadStream};
use util::{
    check_pattern, expect_events, expect_no_events, fill_pattern, next_readiness, poll_once,
    tcp_pair_with_std_peer,
};

const STREAM: Token = Token(1);
/// Bound on one wait for an event that must come (the test fails instead of hanging).
const MUST_ARRIVE: Duration = Duration::from_secs(10);

/// A `Poll` on `backend`; the backend must really be in use.
fn poll_on(backend: Backend) -> Poll {
    let poll = Poll::with_backend(backend).unwrap();
    assert_eq!(
        poll.backend(),
        backend,
        "backend {backend} unavailable: {:?}",
        poll.fallback_reason()
    );
    poll
}

/// Reads like a server that trusts short reads: until `Drained` (when the event has no
/// hup/error), `WouldBlock` or `Eof`. Returns the bytes read and whether EOF was seen.
fn read_until_drained<S: TryReadStream>(
    stream: &mut S,
    kind: EventSet,
    buf: &mut [u8],
    offset: usize,
) -> (usize, bool) {
    let trust_short_read = !kind.is_hup() && !kind.is_error();
    let mut got = 0;
    loop {
        let read = stream.try_read_stream(buf).unwrap();
        check_pattern(&buf[..read.bytes()], offset + got);
        got += read.bytes();
        match read {
            StreamRead::Eof => return (got, true),
            StreamRead::WouldBlock => return (got, false),
            StreamRead::Drained(_) if trust_short_read => return (got, false),
            StreamRead::Drained(_) | StreamRead::Filled(_) => {}
        }
    }
}

/// Rounds the racing writer sends.
const ROUNDS: usize = 400;

/// The writer sends [`ROUNDS`] rounds of 1 to 20,000 bytes; each round is split into up to
/// three writes racing the reader, and the next round starts only when the reader has
/// acknowledged everything so far. If a short read ever left bytes in the queue without a
/// later edge, no event would come for the rest of the round: the reader's bounded poll then
/// fails the test. At the end the writer closes its side (EOF).
fn racing_writer<W: Write + Send + 'static>(
    mut peer: W,
) -> (thread::JoinHandle<()>, mpsc::Sender<usize>) {
    let (ack_tx, ack_rx) = mpsc::channel::<usize>();
    let writer = thread::spawn(move || {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut sent = 0;
        let mut chunk = vec![0u8; 20_000];
        for _ in 0..ROUNDS {
            let len = 1 + (next() % 20_000) as usize;
            fill_pattern(&mut chunk[..len], sent);
            let pieces = 1 + (next() % 3) as usize;
            let mut at = 0;
            for p in 0..pieces {
                let end = if p + 1 == pieces {
                    len
                } else {
                    at + (len - at) / 2
                };
                peer.write_all(&chunk[at..end]).unwrap();
                at = end;
                thread::yield_now();
            }
            sent += len;
            loop {
                let received = ack_rx
                    .recv_timeout(MUST_ARRIVE * 2)
                    .expect("reader stalled");
                assert!(received <= sent, "reader got {received} of {sent} bytes");
                if received == sent {
                    break;
                }
            }
        }
        drop(peer);
    });
    (writer, ack_tx)
}

/// Runs the racing-writer check for a reader `ours`, edge-registered on `poll`.
fn reader_never_stalls<S: TryReadStream + ferrio::Evented>(
    mut poll: Poll,
    mut ours: S,
    writer: thread::JoinHandle<()>,
    ack: mpsc::Sender<usize>,
    buf_len: usize,
) {
    poll.register(&ours, STREAM, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    let mut buf = vec![0u8; buf_len];
    let mut received = 0;
    let mut eof = false;
    while !eof {
        let n = poll_once(&mut poll, &mut events, MUST_ARRIVE);
        assert!(
            n > 0,
            "no event for {MUST_ARRIVE:?} after a short read at {received} bytes: \
             bytes were left in the queue without an edge"
        );
        let before = received;
        for event in events.iter() {
            assert_eq!(event.token(), STREAM);
            let (got, at_eof) = read_until_drained(&mut ours, event.kind(), &mut buf, received);
            received += got;
            eof |= at_eof;
        }
        if received > before {
            // The writer may already be gone at the end.
            let _ = ack.send(received);
        }
    }
    writer.join().expect("writer failed");
}

#[test]
fn tcp_reader_that_stops_at_short_reads_never_stalls_on_any_backend() {
    for backend in Backend::ALL {
        let (ours, peer) = tcp_pair_with_std_peer();
        peer.set_nodelay(true).unwrap();
        let (writer, ack) = racing_writer(peer);
        reader_never_stalls(poll_on(backend), ours, writer, ack, 16 * 1024);
    }
}

#[cfg(unix)]
#[test]
fn unix_reader_that_stops_at_short_reads_never_stalls_on_any_backend() {
    for backend in Backend::ALL {
        let (ours, theirs) = UnixStream::pair().unwrap();
        // A blocking std peer for the writer thread.
        let peer = std::os::unix::net::UnixStream::from(theirs_into_std(theirs));
        let (writer, ack) = racing_writer(peer);
        reader_never_stalls(poll_on(backend), ours, writer, ack, 16 * 1024);
    }
}

/// A ferrio `UnixStream` as a blocking std one, through a duplicated fd.
#[cfg(unix)]
fn theirs_into_std(stream: UnixStream) -> std::os::fd::OwnedFd {
    let fd = stream.as_fd().try_clone_to_owned().unwrap();
    drop(stream);
    let blocking = std::os::unix::net::UnixStream::from(fd);
    blocking.set_nonblocking(false).unwrap();
    blocking.into()
}

#[test]
fn short_read_is_drained_and_the_next_arrival_brings_an_edge() {
    for backend in Backend::ALL {
        let mut poll = poll_on(backend);
        let (mut ours, mut peer) = tcp_pair_with_std_peer();
        poll.register(&ours, STREAM, EventSet::readable(), PollOpt::edge())
            .unwrap();
        let mut events = Events::with_capacity(8);
        let mut buf = [0u8; 4096];
        for round in 0..3 {
            peer.write_all(&[round; 100]).unwrap();
            expect_events(&mut poll, &mut events, vec![(STREAM, EventSet::readable())]);
            assert_eq!(
                ours.try_read_stream(&mut buf).unwrap(),
                StreamRead::Drained(100)
            );
            assert!(buf[..100].iter().all(|&b| b == round));
            // Drained: no event until more data comes (the read that would only return
            // WouldBlock is not needed).
            expect_no_events(&mut poll, &mut events);
        }
        assert_eq!(
            ours.try_read_stream(&mut buf).unwrap(),
            StreamRead::WouldBlock
        );
    }
}

#[test]
fn filled_buffer_means_more_may_be_queued() {
    for backend in Backend::ALL {
        let mut poll = poll_on(backend);
        let (mut ours, mut peer) = tcp_pair_with_std_peer();
        poll.register(&ours, STREAM, EventSet::readable(), PollOpt::edge())
            .unwrap();
        let mut events = Events::with_capacity(8);
        peer.write_all(&[7u8; 100]).unwrap();
        expect_events(&mut poll, &mut events, vec![(STREAM, EventSet::readable())]);
        let mut small = [0u8; 64];
        assert_eq!(
            ours.try_read_stream(&mut small).unwrap(),
            StreamRead::Filled(64)
        );
        assert_eq!(
            ours.try_read_stream(&mut small).unwrap(),
            StreamRead::Drained(36)
        );
        assert_eq!(
            ours.try_read_stream(&mut small).unwrap(),
            StreamRead::WouldBlock
        );
    }
}

#[test]
fn buf_mut_reads_classify_by_the_first_chunk() {
    for backend in Backend::ALL {
        let mut poll = poll_on(backend);
        let (mut ours, mut peer) = tcp_pair_with_std_peer();
        poll.register(&ours, STREAM, EventSet::readable(), PollOpt::edge())
            .unwrap();
        let mut events = Events::with_capacity(8);
        peer.write_all(b"0123456789").unwrap();
        expect_events(&mut poll, &mut events, vec![(STREAM, EventSet::readable())]);
        let mut exact: Vec<u8> = Vec::with_capacity(4);
        assert_eq!(
            ours.try_read_stream_buf(&mut exact).unwrap(),
            StreamRead::Filled(4)
        );
        assert_eq!(exact, b"0123");
        let mut roomy: Vec<u8> = Vec::with_capacity(1024);
        assert_eq!(
            ours.try_read_stream_buf(&mut roomy).unwrap(),
            StreamRead::Drained(6)
        );
        assert_eq!(roomy, b"456789");
        // A buffer without room reads nothing and claims nothing.
        let mut none = [0u8; 0];
        assert_eq!(
            ours.try_read_stream(&mut none).unwrap(),
            StreamRead::Filled(0)
        );
        let mut full: &mut [u8] = &mut [];
        assert_eq!(
            ours.try_read_stream_buf(&mut full).unwrap(),
            StreamRead::Filled(0)
        );
        assert_eq!(
            ours.try_read_stream_buf(&mut roomy).unwrap(),
            StreamRead::WouldBlock
        );
    }
}

#[test]
fn data_and_fin_in_one_event_read_on_to_eof_when_hup() {
    for backend in Backend::ALL {
        let mut poll = poll_on(backend);
        let (mut ours, mut peer) = tcp_pair_with_std_peer();
        poll.register(&ours, STREAM, EventSet::readable(), PollOpt::edge())
            .unwrap();
        let mut events = Events::with_capacity(8);
        peer.write_all(b"last words").unwrap();
        peer.shutdown(Shutdown::Write).unwrap();
        if !util::half_close_is_hup(backend) || util::under_wine() {
            // Documented (`Backend::Poll` without POLLRDHUP): no hup tells of the FIN. The
            // short read is taken for a drain, and the read re-arms the emulated edge, so the
            // next event (the FIN is still pending) leads the reader to the EOF. Wine 8
            // reports a FIN only once the data before it is read: the data's event has no
            // hup, the short read is a drain, and the FIN brings its own event (with hup).
            assert!(next_readiness(&mut poll, &mut events, STREAM).is_readable());
            let mut buf = [0u8; 64];
            assert_eq!(
                ours.try_read_stream(&mut buf).unwrap(),
                StreamRead::Drained(10),
                "{backend}"
            );
            let kind = next_readiness(&mut poll, &mut events, STREAM);
            if util::under_wine() {
                assert!(kind.is_hup(), "{kind:?}");
            } else {
                assert!(kind.is_readable(), "{backend}: {kind:?}");
            }
            assert_eq!(ours.try_read_stream(&mut buf).unwrap(), StreamRead::Eof);
            continue;
        }
        // Wait for the event that carries the FIN (the data's edge may come first).
        let mut kind = next_readiness(&mut poll, &mut events, STREAM);
        while !kind.is_hup() {
            kind = next_readiness(&mut poll, &mut events, STREAM);
        }
        // The read stops at the FIN: short, yet the stream is not merely drained. The
        // documented rule (hup in the event: read on) finds the EOF.
        let mut buf = [0u8; 64];
        assert_eq!(
            ours.try_read_stream(&mut buf).unwrap(),
            StreamRead::Drained(10)
        );
        assert_eq!(&buf[..10], b"last words");
        assert_eq!(ours.try_read_stream(&mut buf).unwrap(), StreamRead::Eof);
        assert_eq!(ours.try_read_stream(&mut buf).unwrap(), StreamRead::Eof);
    }
}

#[test]
fn reset_is_an_error_not_a_drain() {
    for backend in Backend::ALL {
        let mut poll = poll_on(backend);
        let (mut ours, peer) = tcp_pair_with_std_peer();
        poll.register(&ours, STREAM, EventSet::readable(), PollOpt::edge())
            .unwrap();
        let mut events = Events::with_capacity(8);
        socket2::SockRef::from(&peer)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(peer); // RST
        let kind = next_readiness(&mut poll, &mut events, STREAM);
        assert!(kind.is_hup() || kind.is_error(), "{kind:?}");
        let mut buf = [0u8; 64];
        let read = ours.try_read_stream(&mut buf);
        if util::under_wine() && matches!(read, Ok(StreamRead::Eof)) {
            // Wine 8 consumes the reset while it checks readiness: the read sees EOF, which
            // is not a drain either.
            continue;
        }
        assert_eq!(read.unwrap_err().kind(), io::ErrorKind::ConnectionReset);
    }
}

/// The documented exception: Linux ends a TCP read at the urgent mark with data still
/// queued behind it, so such a short read is not a drain. (Linux's behaviour, on epoll.)
#[cfg(unix)]
#[test]
fn urgent_data_ends_a_read_early_as_documented() {
    let (mut ours, peer) = tcp_pair_with_std_peer();
    let mut poll = poll_on(Backend::Epoll);
    poll.register(&ours, STREAM, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    let sock = socket2::SockRef::from(&peer);
    (&peer).write_all(b"abc").unwrap();
    sock.send_out_of_band(b"!").unwrap();
    (&peer).write_all(b"def").unwrap();
    peer.shutdown(Shutdown::Write).unwrap();
    // Once the FIN is seen, everything before it is queued.
    let mut kind = next_readiness(&mut poll, &mut events, STREAM);
    while !kind.is_hup() {
        kind = next_readiness(&mut poll, &mut events, STREAM);
    }
    let mut buf = [0u8; 64];
    assert_eq!(
        ours.try_read_stream(&mut buf).unwrap(),
        StreamRead::Drained(3)
    );
    assert_eq!(&buf[..3], b"abc");
    // "def" was queued all along.
    assert_eq!(
        ours.try_read_stream(&mut buf).unwrap(),
        StreamRead::Drained(3)
    );
    assert_eq!(&buf[..3], b"def");
    assert_eq!(ours.try_read_stream(&mut buf).unwrap(), StreamRead::Eof);
}

/// The documented exception for Unix streams: a read ends after a message that carried file
/// descriptors, with later bytes still queued.
#[cfg(unix)]
#[test]
fn fd_passing_ends_a_unix_read_early_as_documented() {
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let mut poll = poll_on(Backend::Epoll);
    poll.register(&ours, STREAM, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    let (pipe_r, _pipe_w) = ferrio::unix::pipe().unwrap();
    assert_eq!(
        theirs.send_with_fds(b"abc", &[pipe_r.as_fd()]).unwrap(),
        Some(3)
    );
    (&theirs).write_all(b"def").unwrap();
    theirs.shutdown(Shutdown::Write).unwrap();
    let mut kind = next_readiness(&mut poll, &mut events, STREAM);
    while !kind.is_hup() {
        kind = next_readiness(&mut poll, &mut events, STREAM);
    }
    let mut buf = [0u8; 64];
    assert_eq!(
        ours.try_read_stream(&mut buf).unwrap(),
        StreamRead::Drained(3)
    );
    assert_eq!(&buf[..3], b"abc");
    assert_eq!(
        ours.try_read_stream(&mut buf).unwrap(),
        StreamRead::Drained(3)
    );
    assert_eq!(&buf[..3], b"def");
    assert_eq!(ours.try_read_stream(&mut buf).unwrap(), StreamRead::Eof);
}

#[test]
fn references_read_like_the_source() {
    let (ours, mut peer) = tcp_pair_with_std_peer();
    peer.write_all(b"xy").unwrap();
    let mut reference: &TcpStream = &ours;
    let mut buf = [0u8; 8];
    // Bounded wait for the bytes without an event loop: a level-triggered poll.
    let mut poll = poll_on(Backend::DEFAULT);
    poll.register(&ours, STREAM, EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(4);
    expect_events(&mut poll, &mut events, vec![(STREAM, EventSet::readable())]);
    assert_eq!(
        reference.try_read_stream(&mut buf).unwrap(),
        StreamRead::Drained(2)
    );
    assert_eq!(StreamRead::Drained(2).bytes(), 2);
    assert!(StreamRead::WouldBlock.is_drained());
    assert!(!StreamRead::Filled(8).is_drained());
    assert!(!StreamRead::Eof.is_drained());
}
