//! Conversions between ferrio's sources and std's fd types, on every source: `AsFd`,
//! `AsRawFd`, `IntoRawFd`, `FromRawFd`, `From<OwnedFd>`, `From<Source> for OwnedFd` and back
//! to std; what adopting does (switches the fd to non-blocking) and what converting a
//! registered source does (deregisters it, the fd stays open).
//!
//! Run on every backend (`FERRIO_BACKEND=poll`, `FERRIO_BACKEND=uring`).

// Not built on Windows: it converts to and from fds (Unix); tests/windows_conversions.rs covers sockets on Windows.
#![cfg(unix)]

mod util;

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use ferrio::tcp::{TcpListener, TcpStream};
use ferrio::udp::UdpSocket;
use ferrio::unix::{
    pipe, PipeReader, PipeWriter, UnixDatagram, UnixListener, UnixSocket, UnixStream,
};
use ferrio::{EventSet, Evented, Events, Io, Poll, PollOpt, Token, TryRead};
use util::{any_local_addr, expect_events, expect_no_events, tcp_pair};

/// A temporary directory for socket files, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ferrio-conversions-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn is_nonblocking(fd: RawFd) -> bool {
    util::fd_flags(fd).expect("fcntl").0
}

fn is_open(fd: RawFd) -> bool {
    util::fd_flags(fd).is_ok()
}

/// Clears `O_NONBLOCK`, as a blocking socket from elsewhere would have it.
fn make_blocking(fd: &OwnedFd) {
    // SAFETY: F_GETFL/F_SETFL on an open fd, no pointers.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        assert!(flags >= 0);
        assert_eq!(
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK),
            0
        );
    }
    assert!(!is_nonblocking(fd.as_raw_fd()));
}

/// Every conversion of one source type, starting from a live value. Returns nothing: the
/// checks are the fd numbers (kept by every conversion) and the flags.
fn round_trip<S>(source: S, what: &str)
where
    S: AsFd + AsRawFd + IntoRawFd + FromRawFd + From<OwnedFd> + Evented,
    OwnedFd: From<S>,
{
    let fd = source.as_raw_fd();
    assert_eq!(source.as_fd().as_raw_fd(), fd, "{what}: as_fd");
    assert!(
        is_nonblocking(fd),
        "{what}: ferrio's own fds are non-blocking"
    );

    // Out to OwnedFd and back: the same fd, still open, still non-blocking.
    let owned = OwnedFd::from(source);
    assert_eq!(owned.as_raw_fd(), fd, "{what}: into OwnedFd");
    assert!(is_nonblocking(fd), "{what}: the mode is kept");
    let source = S::from(owned);
    assert_eq!(source.as_raw_fd(), fd, "{what}: from OwnedFd");

    // Out as a raw fd and back (the caller owns the raw fd in between).
    let raw = source.into_raw_fd();
    assert_eq!(raw, fd, "{what}: into_raw_fd");
    assert!(is_open(raw), "{what}: into_raw_fd must not close the fd");
    // SAFETY: `raw` is open and owned by nobody else (into_raw_fd gave up ownership).
    let source = unsafe { S::from_raw_fd(raw) };
    assert_eq!(source.as_raw_fd(), fd, "{what}: from_raw_fd");

    // Adopting a blocking fd switches it to non-blocking, through both ways in.
    let owned = OwnedFd::from(source);
    make_blocking(&owned);
    let source = S::from(owned);
    assert!(is_nonblocking(fd), "{what}: From<OwnedFd> sets O_NONBLOCK");
    let owned = OwnedFd::from(source);
    make_blocking(&owned);
    // SAFETY: as above.
    let source = unsafe { S::from_raw_fd(owned.into_raw_fd()) };
    assert!(is_nonblocking(fd), "{what}: FromRawFd sets O_NONBLOCK");

    // The adopted source is usable: it registers.
    let poll = Poll::new().unwrap();
    poll.register(&source, Token(1), EventSet::readable(), PollOpt::edge())
        .unwrap_or_else(|e| panic!("{what}: register after adopting: {e}"));
    drop(source);
    assert!(
        !is_open(fd),
        "{what}: dropping the last owner closes the fd"
    );
}

#[test]
fn every_source_converts_to_and_from_fds() {
    let dir = TempDir::new();
    let (client, server) = tcp_pair();
    round_trip(client, "TcpStream");
    round_trip(server, "TcpStream (accepted)");
    round_trip(TcpListener::bind(&any_local_addr()).unwrap(), "TcpListener");
    round_trip(UdpSocket::bound(&any_local_addr()).unwrap(), "UdpSocket");
    let (a, b) = UnixStream::pair().unwrap();
    round_trip(a, "UnixStream");
    round_trip(
        UnixListener::bind(dir.path("l.sock")).unwrap(),
        "UnixListener",
    );
    round_trip(UnixDatagram::unbound().unwrap(), "UnixDatagram");
    round_trip(UnixSocket::stream().unwrap(), "UnixSocket");
    let (reader, writer) = pipe().unwrap();
    round_trip(reader, "PipeReader");
    round_trip(writer, "PipeWriter");
    round_trip(Io::from(OwnedFd::from(b)), "Io");
}

#[test]
fn adopted_sources_never_block() {
    // A blocking std stream adopted through From<OwnedFd>: reading with nothing there is
    // WouldBlock, not a hang.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (_server, _) = listener.accept().unwrap();
    assert!(!is_nonblocking(client.as_raw_fd()));
    let mut stream = TcpStream::from(OwnedFd::from(client));
    assert!(is_nonblocking(stream.as_raw_fd()));
    let mut buf = [0u8; 4];
    assert_eq!(stream.try_read(&mut buf).unwrap(), None);

    // The same through FromRawFd, on a blocking std Unix socket.
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    // SAFETY: `a` gives up ownership of its open fd.
    let mut unix = unsafe { UnixStream::from_raw_fd(a.into_raw_fd()) };
    assert_eq!(unix.try_read(&mut buf).unwrap(), None);
}

#[test]
fn std_conversions_give_working_std_sockets() {
    let (client, server) = tcp_pair();
    let mut std_client: std::net::TcpStream = client.into_std();
    let mut std_server = std::net::TcpStream::from(server);
    // Still non-blocking after the conversion; std code sets the mode it wants.
    assert!(is_nonblocking(std_client.as_raw_fd()));
    std_client.set_nonblocking(false).unwrap();
    std_server.set_nonblocking(false).unwrap();
    std_server.write_all(b"std").unwrap();
    let mut buf = [0u8; 3];
    std_client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"std");

    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    let addr = listener.local_addr().unwrap();
    let std_listener = std::net::TcpListener::from(listener);
    std_listener.set_nonblocking(false).unwrap();
    let _c = std::net::TcpStream::connect(addr).unwrap();
    assert!(std_listener.accept().is_ok());

    let a = UdpSocket::bound(&any_local_addr()).unwrap();
    let b = UdpSocket::bound(&any_local_addr()).unwrap();
    let std_b = b.into_std();
    std_b.set_nonblocking(false).unwrap();
    a.send_to(b"dgram", &std_b.local_addr().unwrap()).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(std_b.recv_from(&mut buf).unwrap().0, 5);

    let (x, y) = UnixStream::pair().unwrap();
    let mut std_x = std::os::unix::net::UnixStream::from(x);
    std_x.set_nonblocking(false).unwrap();
    (&y).write_all(b"u").unwrap();
    let mut one = [0u8; 1];
    std_x.read_exact(&mut one).unwrap();

    let dir = TempDir::new();
    let path = dir.path("l.sock");
    let ul = UnixListener::bind(&path).unwrap().into_std();
    ul.set_nonblocking(false).unwrap();
    let _uc = std::os::unix::net::UnixStream::connect(&path).unwrap();
    assert!(ul.accept().is_ok());

    let (d1, d2) = UnixDatagram::pair().unwrap();
    let std_d2 = std::os::unix::net::UnixDatagram::from(d2);
    std_d2.set_nonblocking(false).unwrap();
    d1.send(b"d").unwrap();
    assert_eq!(std_d2.recv(&mut one).unwrap(), 1);
}

/// Converts a registered source away while data is pending: the old token must never be
/// reported (even though the socket stays open), and the fd, wrapped again, registers and
/// reports the pending data.
fn converting_deregisters<S>(source: S, make_readable: impl FnOnce(), what: &str)
where
    S: Evented + TryRead + From<OwnedFd>,
    OwnedFd: From<S>,
{
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    poll.register(&source, Token(1), EventSet::readable(), PollOpt::edge())
        .unwrap();
    expect_no_events(&mut poll, &mut events);
    let owned = OwnedFd::from(source);
    make_readable();
    expect_no_events(&mut poll, &mut events);
    let fd = owned.as_raw_fd();
    assert!(is_open(fd), "{what}: the converted fd stays open");

    // Registering again (same Poll, same fd) works: the old registration is gone.
    let mut again = S::from(owned);
    poll.register(&again, Token(2), EventSet::readable(), PollOpt::edge())
        .unwrap_or_else(|e| panic!("{what}: register the converted fd again: {e}"));
    let seen = expect_events(
        &mut poll,
        &mut events,
        vec![(Token(2), EventSet::readable())],
    );
    assert!(
        seen.iter().all(|&(t, _)| t == Token(2)),
        "{what}: the old token came back: {seen:?}"
    );
    let mut buf = [0u8; 16];
    assert!(matches!(again.try_read(&mut buf), Ok(Some(n)) if n > 0));
}

#[test]
fn converting_a_registered_source_deregisters_it() {
    let (client, server) = tcp_pair();
    let mut peer = client;
    converting_deregisters(
        server,
        || {
            peer.write_all(b"tcp").unwrap();
        },
        "TcpStream",
    );

    let (a, b) = UnixStream::pair().unwrap();
    converting_deregisters(a, || (&b).write_all(b"unix").unwrap(), "UnixStream");

    let (reader, mut writer) = pipe().unwrap();
    converting_deregisters(reader, || writer.write_all(b"pipe").unwrap(), "PipeReader");

    let udp = UdpSocket::bound(&any_local_addr()).unwrap();
    let addr = udp.local_addr().unwrap();
    let sender = UdpSocket::bound(&any_local_addr()).unwrap();
    let mut udp_io = Io::from(OwnedFd::from(udp));
    // UdpSocket has no Read impl, so check it through Io, which reads with read(2).
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    poll.register(&udp_io, Token(1), EventSet::readable(), PollOpt::edge())
        .unwrap();
    let udp = UdpSocket::from(OwnedFd::from(udp_io));
    sender.send_to(b"udp", &addr).unwrap();
    expect_no_events(&mut poll, &mut events);
    poll.register(&udp, Token(2), EventSet::readable(), PollOpt::edge())
        .unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(2), EventSet::readable())],
    );
    udp_io = Io::from(OwnedFd::from(udp));
    let mut buf = [0u8; 8];
    assert_eq!(udp_io.try_read(&mut buf).unwrap(), Some(3));
}

#[test]
fn converting_deregisters_even_while_a_duplicate_keeps_the_socket_open() {
    // The case that needs an explicit deregistration: epoll keys registrations by open file,
    // so a dup'ed fd keeps the old registration alive if the converted fd is not removed.
    let (mut peer, server) = tcp_pair();
    let clone = server.try_clone().unwrap();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    poll.register(&server, Token(1), EventSet::readable(), PollOpt::edge())
        .unwrap();
    let std_server = server.into_std();
    drop(std_server); // closes our fd; `clone` keeps the socket open
    peer.write_all(b"after").unwrap();
    expect_no_events(&mut poll, &mut events);
    let mut buf = [0u8; 8];
    // The data is there for the clone.
    let mut clone = clone;
    let n = loop {
        match clone.try_read(&mut buf) {
            Ok(Some(n)) => break n,
            Ok(None) => std::thread::yield_now(),
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(&buf[..n], b"after");

    // The same through into_raw_fd.
    let (mut peer, server) = tcp_pair();
    let clone = server.try_clone().unwrap();
    poll.register(&server, Token(3), EventSet::readable(), PollOpt::edge())
        .unwrap();
    let raw = server.into_raw_fd();
    // SAFETY: into_raw_fd handed us ownership of this open fd; close it.
    drop(unsafe { OwnedFd::from_raw_fd(raw) });
    peer.write_all(b"raw").unwrap();
    expect_no_events(&mut poll, &mut events);
    drop(clone);
}

#[test]
fn unix_socket_conversions_deregister_too() {
    // listen and connect consume a UnixSocket: a registration does not carry over.
    let dir = TempDir::new();
    let path = dir.path("s.sock");
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let socket = UnixSocket::stream().unwrap();
    socket.bind(&path).unwrap();
    poll.register(&socket, Token(1), EventSet::readable(), PollOpt::edge())
        .unwrap();
    let listener = socket.listen(16).unwrap();
    let _client = UnixStream::connect(&path).unwrap();
    expect_no_events(&mut poll, &mut events);
    poll.register(&listener, Token(2), EventSet::readable(), PollOpt::edge())
        .unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(2), EventSet::readable())],
    );
    assert!(listener.accept().unwrap().is_some());
}

#[test]
fn pipe_ends_convert_through_owned_fd() {
    // Pipes have no std type of their own here (std's pipe types are newer than ferrio's
    // minimum Rust): OwnedFd is their std form.
    let (reader, writer) = pipe().unwrap();
    let mut file = std::fs::File::from(OwnedFd::from(writer));
    file.write_all(b"p").unwrap();
    let mut reader = PipeReader::from(OwnedFd::from(reader));
    let mut buf = [0u8; 1];
    assert_eq!(reader.try_read(&mut buf).unwrap(), Some(1));
    let writer = PipeWriter::from(OwnedFd::from(file));
    drop(writer);
    assert_eq!(reader.try_read(&mut buf).unwrap(), Some(0));

    // mio 0.5's From<Io> for the pipe ends.
    let (reader, writer) = pipe().unwrap();
    let mut writer = PipeWriter::from(Io::from(OwnedFd::from(writer)));
    let mut reader = PipeReader::from(Io::from(OwnedFd::from(reader)));
    writer.write_all(b"io").unwrap();
    let mut two = [0u8; 2];
    assert_eq!(reader.try_read(&mut two).unwrap(), Some(2));
}

#[test]
fn io_wraps_any_pollable_fd() {
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut io = Io::from(OwnedFd::from(a));
    let mut peer = Io::from(OwnedFd::from(b));
    let clone = io.try_clone().unwrap();
    assert_ne!(clone.as_raw_fd(), io.as_raw_fd());
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    poll.register(&io, Token(7), EventSet::readable(), PollOpt::edge())
        .unwrap();
    peer.write_all(b"io").unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(7), EventSet::readable())],
    );
    let mut buf = [0u8; 4];
    assert_eq!(io.try_read(&mut buf).unwrap(), Some(2));
    assert_eq!(io.try_read(&mut buf).unwrap(), None);
    // Writes never raise SIGPIPE: a closed peer is BrokenPipe.
    drop(clone);
    drop(io);
    let err = peer.write_all(b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
}
