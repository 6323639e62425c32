//! Unix sources: streams, listeners, datagrams, pipes and file-descriptor passing, driven
//! through a real `Poll`.
//!
//! Helpers live in this file (prefixed `unix_`) so that the shared `tests/util` stays
//! untouched. No test sleeps: each waits for readiness with a bounded number of polls, each
//! with a generous timeout that only matters if the test is broken.

// Not built on Windows: Unix-domain sockets, pipes and fd passing are Unix-only (`ferrio::unix`).
#![cfg(unix)]

mod util;

use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ferrio::unix::{
    pipe, PipeReader, UnixDatagram, UnixListener, UnixSocket, UnixStream, MAX_FDS_PER_MESSAGE,
};
use ferrio::{EventSet, Events, Poll, PollOpt, Token, TryAccept, TryRead, TryWrite};

/// A fresh, empty directory for socket files, removed (with its contents) on drop.
struct UnixTempDir {
    dir: PathBuf,
}

impl UnixTempDir {
    fn new() -> UnixTempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ferrio-unix-{}-{}", std::process::id(), n));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).expect("create temp dir");
        UnixTempDir { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for UnixTempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const UNIX_POLL_ROUNDS: usize = 50;
const UNIX_POLL_TIMEOUT: Duration = Duration::from_secs(5);

/// A `Poll` plus what it reported, per token, not yet consumed by a wait. Remembering the
/// other tokens' events matters under edge-triggering: an edge reported while waiting for
/// another token is not reported again.
struct UnixPoller {
    poll: Poll,
    events: Events,
    pending: Vec<(Token, EventSet)>,
}

impl UnixPoller {
    fn new() -> UnixPoller {
        UnixPoller {
            poll: Poll::new().expect("Poll::new"),
            events: Events::with_capacity(16),
            pending: Vec::new(),
        }
    }

    /// Polls until `token` has been reported with all of `want` (accumulated over polls),
    /// and returns (consuming) everything reported for it. Tolerates spurious events; panics
    /// after a bounded number of polls.
    fn wait_for(&mut self, token: Token, want: EventSet) -> EventSet {
        for _ in 0..UNIX_POLL_ROUNDS {
            if let Some(i) = self.pending.iter().position(|&(t, _)| t == token) {
                if self.pending[i].1.contains(want) {
                    return self.pending.swap_remove(i).1;
                }
            }
            self.poll
                .poll(&mut self.events, Some(UNIX_POLL_TIMEOUT))
                .expect("poll");
            for event in self.events.iter() {
                match self.pending.iter_mut().find(|(t, _)| *t == event.token()) {
                    Some((_, seen)) => seen.insert(event.kind()),
                    None => self.pending.push((event.token(), event.kind())),
                }
            }
        }
        panic!(
            "token {token:?}: wanted {want:?}, pending {:?}",
            self.pending
        );
    }
}

fn unix_assert_nonblocking_cloexec(fd: RawFd) {
    assert_eq!(
        util::fd_flags(fd).expect("fcntl"),
        (true, true),
        "fd {fd} must be non-blocking and close-on-exec"
    );
}

fn unix_assert_cloexec(fd: RawFd) {
    assert!(
        util::fd_flags(fd).expect("fcntl").1,
        "fd {fd} must be close-on-exec"
    );
}

/// Reads until `buf` is full, polling `token` for readability between attempts.
fn unix_read_exact(poller: &mut UnixPoller, token: Token, mut source: impl Read, buf: &mut [u8]) {
    let mut filled = 0;
    for _ in 0..UNIX_POLL_ROUNDS {
        while filled < buf.len() {
            match source.try_read(&mut buf[filled..]).expect("read") {
                Some(0) => panic!("unexpected end of stream after {filled} bytes"),
                Some(n) => filled += n,
                None => break,
            }
        }
        if filled == buf.len() {
            return;
        }
        poller.wait_for(token, EventSet::readable());
    }
    panic!("read only {filled} of {} bytes", buf.len());
}

#[test]
fn stream_connect_accept_echo_through_poll() {
    const LISTENER: Token = Token(0);
    const CLIENT: Token = Token(1);
    const SERVER: Token = Token(2);

    let dir = UnixTempDir::new();
    let path = dir.path("echo.sock");
    let listener = UnixListener::bind(&path).unwrap();
    unix_assert_nonblocking_cloexec(listener.as_raw_fd());
    assert_eq!(
        listener.local_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );
    assert!(listener.accept().unwrap().is_none());

    let mut poller = UnixPoller::new();
    poller
        .poll
        .register(&listener, LISTENER, EventSet::readable(), PollOpt::edge())
        .unwrap();

    let mut client = UnixStream::connect(&path).unwrap();
    unix_assert_nonblocking_cloexec(client.as_raw_fd());
    poller
        .poll
        .register(
            &client,
            CLIENT,
            EventSet::readable() | EventSet::writable(),
            PollOpt::edge(),
        )
        .unwrap();

    poller.wait_for(LISTENER, EventSet::readable());
    // With the peer's address (mio 0.5's `accept` and `TryAccept::accept` give the stream
    // alone; see `accept_shapes_match_mio_0_5`).
    let (server, peer) = listener
        .accept_with_addr()
        .unwrap()
        .expect("a pending connection");
    assert!(listener.accept().unwrap().is_none(), "drained");
    assert!(
        peer.is_unnamed(),
        "a connecting client has no name: {peer:?}"
    );
    unix_assert_nonblocking_cloexec(server.as_raw_fd());
    assert_eq!(
        server.local_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );
    assert_eq!(
        client.peer_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );
    assert!(client.local_addr().unwrap().is_unnamed());
    poller
        .poll
        .register(&server, SERVER, EventSet::readable(), PollOpt::edge())
        .unwrap();

    let seen = poller.wait_for(CLIENT, EventSet::writable());
    assert!(
        !seen.is_error() && !seen.is_hup(),
        "healthy socket: {seen:?}"
    );
    assert!(client.take_error().unwrap().is_none());
    assert_eq!(client.try_write(b"hello").unwrap(), Some(5));

    let mut buf = [0u8; 5];
    unix_read_exact(&mut poller, SERVER, &server, &mut buf);
    assert_eq!(&buf, b"hello");
    // Echo back through `&UnixStream`, vectored.
    let n = (&server)
        .write_vectored(&[IoSlice::new(b"hel"), IoSlice::new(b"lo")])
        .unwrap();
    assert_eq!(n, 5);

    let mut echoed = [0u8; 5];
    unix_read_exact(&mut poller, CLIENT, &mut client, &mut echoed);
    assert_eq!(&echoed, b"hello");
    assert_eq!(client.try_read(&mut echoed).unwrap(), None, "drained");
}

#[test]
fn stream_vectored_read_and_try_clone() {
    let (a, b) = UnixStream::pair().unwrap();
    unix_assert_nonblocking_cloexec(a.as_raw_fd());
    unix_assert_nonblocking_cloexec(b.as_raw_fd());
    let b2 = b.try_clone().unwrap();
    unix_assert_nonblocking_cloexec(b2.as_raw_fd());
    assert_ne!(b2.as_raw_fd(), b.as_raw_fd());

    assert_eq!((&a).write(b"abcdef").unwrap(), 6);
    let (mut x, mut y) = ([0u8; 2], [0u8; 8]);
    // Pairs deliver at once, so no readiness wait is needed.
    let n = (&b2)
        .read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)])
        .unwrap();
    assert_eq!(n, 6);
    assert_eq!(&x, b"ab");
    assert_eq!(&y[..4], b"cdef");
    assert!(format!("{a:?}").contains("UnixStream"));
}

#[test]
fn stream_reports_readable_and_hup_when_peer_closes() {
    let (a, b) = UnixStream::pair().unwrap();
    let mut poller = UnixPoller::new();
    poller
        .poll
        .register(&a, Token(1), EventSet::readable(), PollOpt::edge())
        .unwrap();
    drop(b);
    let seen = poller.wait_for(Token(1), EventSet::readable() | EventSet::hup());
    assert!(
        !seen.is_error(),
        "an orderly close is not an error: {seen:?}"
    );
    let mut buf = [0u8; 4];
    assert_eq!((&a).try_read(&mut buf).unwrap(), Some(0), "end of stream");
}

#[test]
fn stream_shutdown_write_gives_peer_end_of_stream() {
    let (a, b) = UnixStream::pair().unwrap();
    a.shutdown(Shutdown::Write).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!((&b).try_read(&mut buf).unwrap(), Some(0));
    let err = (&a).write(b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
}

#[test]
fn stream_write_to_closed_peer_is_broken_pipe() {
    let (mut a, b) = UnixStream::pair().unwrap();
    drop(b);
    assert_eq!(a.write(b"x").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    let err = a.write_vectored(&[IoSlice::new(b"x")]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    assert_eq!(
        a.try_write(b"x").unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );
}

#[test]
fn stream_connect_errors() {
    let dir = UnixTempDir::new();
    let err = UnixStream::connect(dir.path("nobody-here.sock")).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);

    // A datagram socket at the path is not a listener.
    let path = dir.path("dgram.sock");
    let _dgram = UnixDatagram::bind(&path).unwrap();
    let err = UnixStream::connect(&path).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EPROTOTYPE), "{err}");

    let err = UnixListener::bind(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
}

// --- SIGPIPE safety in a child with the default SIGPIPE disposition ---

/// Rust test binaries ignore SIGPIPE, which would hide a missing `MSG_NOSIGNAL`. So this test
/// runs `child_unix_sigpipe` in a child that restores the default action (terminate) and then
/// writes to closed peers: the child must see `BrokenPipe` and exit normally.
#[test]
fn writes_to_closed_peers_never_raise_sigpipe() {
    util::run_child_test(
        "child_unix_sigpipe",
        &[],
        "sigpipe child: all writes returned BrokenPipe",
    );
}

#[test]
#[ignore = "a child scenario: run by writes_to_closed_peers_never_raise_sigpipe"]
fn child_unix_sigpipe() {
    util::child_scenario("child_unix_sigpipe");
    // SAFETY: restoring the default disposition of SIGPIPE; no handler code is involved.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(previous, libc::SIG_ERR);
    // Make sure SIGPIPE is not blocked in this thread either, so a raised one would kill us.
    // SAFETY: sigset_t is plain data, filled in by pthread_sigmask.
    let mut mask: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: a null new set only queries the current mask into `mask`.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut mask) };
    assert_eq!(rc, 0);
    // SAFETY: `mask` was initialised above.
    assert_eq!(unsafe { libc::sigismember(&mask, libc::SIGPIPE) }, 0);

    let (mut a, b) = UnixStream::pair().unwrap();
    drop(b);
    assert_eq!(a.write(b"x").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    let err = a.write_vectored(&[IoSlice::new(b"x")]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    let (_r, w) = pipe().unwrap();
    let err = a.send_with_fds(b"x", &[w.as_fd()]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);

    let (reader, mut writer) = pipe().unwrap();
    drop(reader);
    assert_eq!(
        writer.write(b"x").unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );

    let (d, _d2) = UnixDatagram::pair().unwrap();
    d.shutdown(Shutdown::Write).unwrap();
    assert_eq!(d.send(b"x").unwrap_err().kind(), io::ErrorKind::BrokenPipe);

    println!("sigpipe child: all writes returned BrokenPipe");
}

// --- Datagrams ---

#[test]
fn datagram_send_to_recv_from_with_events() {
    let dir = UnixTempDir::new();
    let (path_a, path_b) = (dir.path("a.sock"), dir.path("b.sock"));
    let a = UnixDatagram::bind(&path_a).unwrap();
    let b = UnixDatagram::bind(&path_b).unwrap();
    unix_assert_nonblocking_cloexec(a.as_raw_fd());
    unix_assert_nonblocking_cloexec(b.as_raw_fd());
    assert_eq!(
        b.local_addr().unwrap().as_pathname(),
        Some(path_b.as_path())
    );

    let mut poller = UnixPoller::new();
    poller
        .poll
        .register(&b, Token(7), EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut buf = [0u8; 32];
    assert!(b.recv_from(&mut buf).unwrap().is_none());

    assert_eq!(a.send_to(b"ping", &path_b).unwrap(), Some(4));
    assert_eq!(a.send_to(b"", &path_b).unwrap(), Some(0));
    poller.wait_for(Token(7), EventSet::readable());
    let (n, from) = b.recv_from(&mut buf).unwrap().expect("a datagram");
    assert_eq!(&buf[..n], b"ping");
    assert_eq!(from.as_pathname(), Some(path_a.as_path()));
    // The empty datagram is a real datagram.
    let (n, from) = b.recv_from(&mut buf).unwrap().expect("the empty datagram");
    assert_eq!(n, 0);
    assert_eq!(from.as_pathname(), Some(path_a.as_path()));
    assert!(b.recv_from(&mut buf).unwrap().is_none());

    // An unbound sender is unnamed to the receiver.
    let anon = UnixDatagram::unbound().unwrap();
    unix_assert_nonblocking_cloexec(anon.as_raw_fd());
    assert_eq!(anon.send_to(b"anon", &path_b).unwrap(), Some(4));
    poller.wait_for(Token(7), EventSet::readable());
    let (n, from) = b.recv_from(&mut buf).unwrap().expect("a datagram");
    assert_eq!(&buf[..n], b"anon");
    assert!(from.is_unnamed());

    let err = a.send_to(b"x", dir.path("nobody.sock")).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
}

#[test]
fn datagram_connected_send_recv_and_pair() {
    let dir = UnixTempDir::new();
    let path = dir.path("server.sock");
    let server = UnixDatagram::bind(&path).unwrap();
    let client = UnixDatagram::unbound().unwrap();
    assert_eq!(
        client.send(b"x").unwrap_err().kind(),
        io::ErrorKind::NotConnected
    );
    client.connect(&path).unwrap();
    assert_eq!(
        client.peer_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );

    let mut poller = UnixPoller::new();
    poller
        .poll
        .register(&server, Token(1), EventSet::readable(), PollOpt::level())
        .unwrap();
    assert_eq!(client.send(b"hello").unwrap(), Some(5));
    poller.wait_for(Token(1), EventSet::readable());
    let mut buf = [0u8; 3];
    // A datagram longer than the buffer is truncated.
    assert_eq!(server.recv(&mut buf).unwrap(), Some(3));
    assert_eq!(&buf, b"hel");
    assert_eq!(server.recv(&mut buf).unwrap(), None);

    let (a, b) = UnixDatagram::pair().unwrap();
    unix_assert_nonblocking_cloexec(a.as_raw_fd());
    unix_assert_nonblocking_cloexec(b.as_raw_fd());
    let b2 = b.try_clone().unwrap();
    unix_assert_nonblocking_cloexec(b2.as_raw_fd());
    poller
        .poll
        .register(&b2, Token(2), EventSet::readable(), PollOpt::edge())
        .unwrap();
    assert_eq!(a.send(b"").unwrap(), Some(0));
    poller.wait_for(Token(2), EventSet::readable());
    assert_eq!(b.recv(&mut buf).unwrap(), Some(0), "empty datagram");
    assert_eq!(b.recv(&mut buf).unwrap(), None);
    assert!(a.take_error().unwrap().is_none());
    assert!(format!("{a:?}").contains("UnixDatagram"));

    // After the peer is gone, a connected send fails cleanly.
    drop((b, b2));
    let err = a.send(b"x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED), "{err}");
}

// --- Pipes ---

#[test]
fn pipe_reader_sees_readable_and_hup_after_writer_drops() {
    let (reader, mut writer) = pipe().unwrap();
    unix_assert_nonblocking_cloexec(reader.as_raw_fd());
    unix_assert_nonblocking_cloexec(writer.as_raw_fd());
    let mut poller = UnixPoller::new();
    poller
        .poll
        .register(&reader, Token(1), EventSet::readable(), PollOpt::edge())
        .unwrap();
    writer.write_all(b"last").unwrap();
    drop(writer);
    let seen = poller.wait_for(Token(1), EventSet::readable() | EventSet::hup());
    assert!(!seen.is_error(), "{seen:?}");
    let mut buf = [0u8; 8];
    assert_eq!((&reader).try_read(&mut buf).unwrap(), Some(4));
    assert_eq!((&reader).try_read(&mut buf).unwrap(), Some(0));
}

#[test]
fn pipe_writer_sees_error_after_reader_drops() {
    let (reader, writer) = pipe().unwrap();
    let mut poller = UnixPoller::new();
    poller
        .poll
        .register(&writer, Token(1), EventSet::writable(), PollOpt::edge())
        .unwrap();
    // The empty pipe is writable at once.
    poller.wait_for(Token(1), EventSet::writable());
    drop(reader);
    // epoll reports EPOLLERR (plus EPOLLOUT) for a pipe without readers, no EPOLLHUP.
    let seen = poller.wait_for(Token(1), EventSet::error());
    assert!(seen.is_writable(), "{seen:?}");
    assert!(!seen.is_hup(), "{seen:?}");
    let err = (&writer).write(b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
}

// --- File-descriptor passing ---

#[test]
fn fd_passing_three_fds_in_one_message() {
    let (a, b) = UnixStream::pair().unwrap();
    let mut poller = UnixPoller::new();
    poller
        .poll
        .register(&b, Token(1), EventSet::readable(), PollOpt::edge())
        .unwrap();

    let pipes: Vec<_> = (0..3).map(|_| pipe().unwrap()).collect();
    let writers: Vec<_> = pipes.iter().map(|(_, w)| w.as_fd()).collect();
    assert_eq!(a.send_with_fds(b"fds!", &writers).unwrap(), Some(4));
    // Plain bytes afterwards must not be merged with the fds of the earlier message.
    assert_eq!((&a).write(b"tail").unwrap(), 4);

    poller.wait_for(Token(1), EventSet::readable());
    let mut buf = [0u8; 16];
    let mut fds: [Option<OwnedFd>; MAX_FDS_PER_MESSAGE] = Default::default();
    let (n, count) = b
        .recv_with_fds(&mut buf, &mut fds)
        .unwrap()
        .expect("a message");
    assert_eq!(&buf[..n], b"fds!");
    assert_eq!(count, 3);
    assert!(fds[3..].iter().all(Option::is_none));

    for (i, (fd, (reader, writer))) in fds.iter_mut().zip(&pipes).enumerate() {
        let fd = fd.take().unwrap();
        assert_ne!(
            fd.as_raw_fd(),
            writer.as_raw_fd(),
            "a new fd, not the sender's"
        );
        unix_assert_cloexec(fd.as_raw_fd());
        // The sender's file was non-blocking, and the received fd shares its open file.
        unix_assert_nonblocking_cloexec(fd.as_raw_fd());
        let mut file = File::from(fd);
        file.write_all(&[b'0' + i as u8]).unwrap();
        let mut got = [0u8; 1];
        (&*reader).read_exact(&mut got).unwrap();
        assert_eq!(got[0], b'0' + i as u8);
    }

    // The trailing plain bytes arrive without fds.
    let mut fds: [Option<OwnedFd>; 2] = Default::default();
    let (n, count) = b
        .recv_with_fds(&mut buf, &mut fds)
        .unwrap()
        .expect("the tail");
    assert_eq!((&buf[..n], count), (&b"tail"[..], 0));
    assert_eq!(b.recv_with_fds(&mut buf, &mut fds).unwrap(), None);
}

/// Every write end we sent must end up closed, by us or the receiver: then each pipe's reader
/// sees end of stream. A leaked fd would leave the pipe open (`WouldBlock` instead).
fn unix_assert_all_writers_closed(readers: &[PipeReader]) {
    for reader in readers {
        let mut buf = [0u8; 1];
        assert_eq!(
            { reader }.try_read(&mut buf).unwrap(),
            Some(0),
            "a passed fd leaked"
        );
    }
}

#[test]
fn fd_passing_truncated_control_data_closes_fds_and_errors() {
    let (a, b) = UnixStream::pair().unwrap();
    let (readers, writers): (Vec<_>, Vec<_>) = (0..3).map(|_| pipe().unwrap()).unzip();
    let borrowed: Vec<_> = writers.iter().map(|w| w.as_fd()).collect();
    assert_eq!(a.send_with_fds(b"m1", &borrowed).unwrap(), Some(2));
    assert_eq!(a.send_with_fds(b"m2", &borrowed).unwrap(), Some(2));
    drop(borrowed);
    drop(writers);

    let mut buf = [0u8; 16];
    // Room for two fds only: the third does not fit.
    let mut fds: [Option<OwnedFd>; 2] = Default::default();
    let err = b.recv_with_fds(&mut buf, &mut fds).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("MSG_CTRUNC"), "{err}");
    assert!(fds.iter().all(Option::is_none), "slots untouched on error");

    // No room at all: the kernel discards all three.
    let err = b.recv_with_fds(&mut buf, &mut []).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);

    unix_assert_all_writers_closed(&readers);
}

#[test]
fn fd_passing_input_errors() {
    let (a, _b) = UnixStream::pair().unwrap();
    let (r, _w) = pipe().unwrap();
    let too_many = vec![r.as_fd(); MAX_FDS_PER_MESSAGE + 1];
    let err = a.send_with_fds(b"x", &too_many).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let err = a.send_with_fds(b"", &[r.as_fd()]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    // Without fds, send_with_fds is a plain send.
    assert_eq!(a.send_with_fds(b"x", &[]).unwrap(), Some(1));
}

#[test]
fn fd_passing_max_fds_in_one_message() {
    let (a, b) = UnixStream::pair().unwrap();
    let (r, _w) = pipe().unwrap();
    let many = vec![r.as_fd(); MAX_FDS_PER_MESSAGE];
    assert_eq!(a.send_with_fds(b"x", &many).unwrap(), Some(1));
    let mut buf = [0u8; 1];
    // A longer slot array than the limit is fine.
    let mut fds: Vec<Option<OwnedFd>> = (0..MAX_FDS_PER_MESSAGE + 8).map(|_| None).collect();
    let (n, count) = b.recv_with_fds(&mut buf, &mut fds).unwrap().unwrap();
    assert_eq!((n, count), (1, MAX_FDS_PER_MESSAGE));
    for fd in fds.iter().flatten() {
        unix_assert_nonblocking_cloexec(fd.as_raw_fd());
    }
}

// --- Paths ---

fn unix_assert_path_too_long(err: io::Error) {
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("sun_path"), "{err}");
}

#[test]
fn too_long_path_is_a_clear_error() {
    let long: PathBuf = std::env::temp_dir().join("x".repeat(200));
    unix_assert_path_too_long(UnixListener::bind(&long).unwrap_err());
    unix_assert_path_too_long(UnixStream::connect(&long).unwrap_err());
    unix_assert_path_too_long(UnixDatagram::bind(&long).unwrap_err());
    let d = UnixDatagram::unbound().unwrap();
    unix_assert_path_too_long(d.send_to(b"x", &long).unwrap_err());
    unix_assert_path_too_long(d.connect(&long).unwrap_err());

    let err = UnixListener::bind("").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(!Path::new(&long).exists());
}

#[test]
fn longest_path_that_fits_binds() {
    let dir = UnixTempDir::new();
    let prefix = dir.path("").as_os_str().len();
    if prefix + 1 >= 107 {
        return; // The temp dir itself is too long to test the boundary.
    }
    let fits = dir.path(&"p".repeat(107 - prefix));
    assert_eq!(fits.as_os_str().len(), 107);
    let listener = UnixListener::bind(&fits).unwrap();
    let _client = UnixStream::connect(&fits).unwrap();
    assert!(listener.accept().unwrap().is_some());

    let too_long = dir.path(&"p".repeat(108 - prefix));
    assert_eq!(too_long.as_os_str().len(), 108);
    unix_assert_path_too_long(UnixListener::bind(&too_long).unwrap_err());
}

#[test]
fn listener_try_clone_and_from_std() {
    let dir = UnixTempDir::new();
    let path = dir.path("l.sock");
    let std_listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let listener = UnixListener::from_std(std_listener).unwrap();
    assert!(util::fd_flags(listener.as_raw_fd()).unwrap().0);
    let clone = listener.try_clone().unwrap();
    unix_assert_nonblocking_cloexec(clone.as_raw_fd());
    assert!(listener.take_error().unwrap().is_none());

    let std_client = std::os::unix::net::UnixStream::connect(&path).unwrap();
    let client = UnixStream::from_std(std_client).unwrap();
    assert!(util::fd_flags(client.as_raw_fd()).unwrap().0);
    // Accept through the clone: both handles share one queue.
    let mut poller = UnixPoller::new();
    poller
        .poll
        .register(&clone, Token(3), EventSet::readable(), PollOpt::level())
        .unwrap();
    poller.wait_for(Token(3), EventSet::readable());
    let server = clone.accept().unwrap().expect("connection");
    assert!(listener.accept().unwrap().is_none());
    assert_eq!((&client).write(b"z").unwrap(), 1);
    let mut buf = [0u8; 1];
    assert_eq!((&server).read(&mut buf).unwrap(), 1);
    assert!(format!("{listener:?}").contains("UnixListener"));
}

// --- mio 0.5's shapes: UnixSocket, accept, fd passing with raw fds ---

#[test]
fn unix_socket_binds_listens_and_connects() {
    let dir = UnixTempDir::new();
    let path = dir.path("sock.sock");
    let socket = UnixSocket::stream().unwrap();
    unix_assert_nonblocking_cloexec(socket.as_raw_fd());
    let clone = socket.try_clone().unwrap();
    unix_assert_nonblocking_cloexec(clone.as_raw_fd());
    assert_ne!(clone.as_raw_fd(), socket.as_raw_fd());
    drop(clone);
    socket.bind(&path).unwrap();
    // Bound already: a second bind fails.
    assert_eq!(
        socket.bind(&dir.path("other.sock")).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    // A backlog beyond i32::MAX is capped, not an error.
    let listener = socket.listen(usize::MAX).unwrap();
    unix_assert_nonblocking_cloexec(listener.as_raw_fd());

    let (mut stream, connected) = UnixSocket::stream().unwrap().connect(&path).unwrap();
    assert!(connected, "Linux connects Unix sockets at once");
    unix_assert_nonblocking_cloexec(stream.as_raw_fd());
    let mut poller = UnixPoller::new();
    poller
        .poll
        .register(&listener, Token(1), EventSet::readable(), PollOpt::edge())
        .unwrap();
    poller.wait_for(Token(1), EventSet::readable());
    let server = listener.accept().unwrap().expect("a connection");
    assert_eq!(stream.try_write(b"hi").unwrap(), Some(2));
    let mut buf = [0u8; 2];
    poller
        .poll
        .register(&server, Token(2), EventSet::readable(), PollOpt::edge())
        .unwrap();
    unix_read_exact(&mut poller, Token(2), &server, &mut buf);
    assert_eq!(&buf, b"hi");
    assert!(format!("{:?}", UnixSocket::stream().unwrap()).contains("UnixSocket"));
}

#[test]
fn unix_socket_errors() {
    let dir = UnixTempDir::new();
    // Nothing there.
    let err = UnixSocket::stream()
        .unwrap()
        .connect(&dir.path("missing.sock"))
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    // Paths that do not fit are refused before any syscall.
    let long = dir.path(&"x".repeat(200));
    unix_assert_path_too_long(UnixSocket::stream().unwrap().bind(&long).unwrap_err());
    unix_assert_path_too_long(UnixSocket::stream().unwrap().connect(&long).unwrap_err());
    // A socket file that exists.
    let path = dir.path("taken.sock");
    let _first = UnixListener::bind(&path).unwrap();
    let err = UnixSocket::stream().unwrap().bind(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    // Connecting to a bound socket that is not listening.
    let bound = dir.path("bound.sock");
    let not_listening = UnixSocket::stream().unwrap();
    not_listening.bind(&bound).unwrap();
    let err = UnixSocket::stream().unwrap().connect(&bound).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
}

#[test]
fn accept_shapes_match_mio_0_5() {
    fn stream_of<L: TryAccept<Output = UnixStream>>(listener: &L) -> Option<UnixStream> {
        listener.accept().unwrap()
    }
    let dir = UnixTempDir::new();
    let path = dir.path("a.sock");
    let listener = UnixListener::bind(&path).unwrap();
    assert!(stream_of(&listener).is_none());
    let _c1 = UnixStream::connect(&path).unwrap();
    let _c2 = UnixStream::connect(&path).unwrap();
    let _c3 = UnixStream::connect(&path).unwrap();
    // Linux queues Unix connections at once: all three are pending now.
    let first: Option<UnixStream> = listener.accept().unwrap();
    assert!(first.is_some());
    assert!(stream_of(&listener).is_some());
    let (third, peer) = listener.accept_with_addr().unwrap().expect("third");
    assert!(peer.is_unnamed());
    assert_eq!(
        third.local_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );
    assert!(listener.accept().unwrap().is_none());
    assert!(listener.accept_with_addr().unwrap().is_none());
}

#[test]
fn mio_0_5_fd_passing_with_raw_fds() {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let (mut reader, writer) = pipe().unwrap();
    let mut buf = [0u8; 8];
    // Nothing yet.
    assert_eq!(b.try_read_recv_fd(&mut buf).unwrap(), None);
    assert_eq!(
        b.read_recv_fd(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );

    assert_eq!(a.write_send_fd(b"w", writer.as_raw_fd()).unwrap(), 1);
    drop(writer); // lent, not given: the message in flight keeps the file open
    let (n, fd) = b.read_recv_fd(&mut buf).unwrap();
    assert_eq!(n, 1);
    let fd = fd.expect("an fd came with the byte");
    unix_assert_cloexec(fd);
    // SAFETY: read_recv_fd hands us ownership of the new fd.
    let mut received = File::from(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
    received.write_all(b"ok").unwrap();
    drop(received);
    let mut got = [0u8; 2];
    reader.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"ok");

    // Data without an fd: (n, None).
    assert_eq!(
        a.try_write_send_fd(b"plain", reader.as_raw_fd()).unwrap(),
        Some(5)
    );
    assert_eq!((&a).write(b"!").unwrap(), 1);
    let (n, fd) = b.try_read_recv_fd(&mut buf).unwrap().unwrap();
    // The fd comes with the first message; the plain byte may follow in the same read.
    assert!(n == 5 || n == 6, "{n}");
    // SAFETY: as above.
    drop(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd.unwrap()) });
    if n == 5 {
        assert_eq!(b.try_read_recv_fd(&mut buf).unwrap(), Some((1, None)));
    }

    // Through Buf / BufMut.
    let mut out = &b"buffered"[..];
    assert_eq!(
        a.try_write_buf_send_fd(&mut out, reader.as_raw_fd())
            .unwrap(),
        Some(8)
    );
    assert!(out.is_empty());
    let mut inbox: Vec<u8> = Vec::with_capacity(16);
    let (n, fd) = b.try_read_buf_recv_fd(&mut inbox).unwrap().unwrap();
    assert_eq!((n, inbox.as_slice()), (8, &b"buffered"[..]));
    // SAFETY: as above.
    drop(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd.unwrap()) });
    assert_eq!(b.try_read_buf_recv_fd(&mut inbox).unwrap(), None);
}

#[test]
fn mio_0_5_fd_passing_bad_input() {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let (r, _w) = pipe().unwrap();
    // A stream needs a data byte to carry an fd.
    assert_eq!(
        a.write_send_fd(b"", r.as_raw_fd()).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    assert_eq!(
        a.try_write_send_fd(b"", r.as_raw_fd()).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    // A number that is not an open fd: EBADF from the kernel, and nothing is sent.
    for bad in [-1, 1_000_000] {
        let err = a.write_send_fd(b"x", bad).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{bad}: {err}");
    }
    let mut buf = [0u8; 4];
    assert_eq!(b.try_read_recv_fd(&mut buf).unwrap(), None);
    // Two fds in one message are more than read_recv_fd takes: InvalidData, both closed,
    // the data consumed.
    let (reader, writer) = pipe().unwrap();
    let dup = writer.as_fd().try_clone_to_owned().unwrap();
    assert_eq!(
        a.send_with_fds(b"2", &[writer.as_fd(), dup.as_fd()])
            .unwrap(),
        Some(1)
    );
    drop(writer);
    drop(dup);
    let err = b.read_recv_fd(&mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    unix_assert_all_writers_closed(&[reader]);
    assert_eq!(b.try_read_recv_fd(&mut buf).unwrap(), None);
}
