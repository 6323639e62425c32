//! Unix-domain sockets as mio 1.x's tests use them, on every backend of the build: stream
//! shutdowns (read, write, both) seen by both ends, abstract-namespace and unnamed addresses
//! through sockets adopted from std, a path unlinked under a listening socket, a datagram sent
//! to a socket that is gone, and fd passing at and past its limits without a leak.
#![cfg(unix)]

mod util;

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use ferrio::tcp::Shutdown;
use ferrio::unix::{pipe, UnixDatagram, UnixListener, UnixStream, MAX_FDS_PER_MESSAGE};
use ferrio::{EventSet, Events, Poll, PollOpt, Token, TryRead, TryWrite};

use util::*;

/// A fresh directory for socket files, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ferrio-ux-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
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

/// The fd-counting test runs alone.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Polls (bounded) until the readiness reported for `token` (the union of its events so far)
/// contains `want`; returns that union.
fn readiness_until(poll: &mut Poll, events: &mut Events, token: Token, want: EventSet) -> EventSet {
    let mut union = EventSet::none();
    for _ in 0..10 {
        poll_once(poll, events, std::time::Duration::from_millis(500));
        for e in events.iter().filter(|e| e.token() == token) {
            union |= e.kind();
        }
        if union.contains(want) {
            break;
        }
    }
    union
}

/// The peer's `shutdown(Write)` is a half-close for us (readable, read-closed, end of stream
/// after the data), and we can still write to it; our own `shutdown(Both)` then is hup.
#[test]
fn stream_shutdowns_are_reported_to_both_ends() {
    for opts in [PollOpt::edge(), PollOpt::level()] {
        for (backend, mut poll) in polls() {
            let mut events = Events::with_capacity(8);
            let (ours, mut theirs) = UnixStream::pair().unwrap();
            poll.register(&ours, Token(1), EventSet::readable(), opts)
                .unwrap();
            poll.register(&theirs, Token(2), EventSet::readable(), opts)
                .unwrap();
            expect_no_events(&mut poll, &mut events);
            theirs.try_write(b"last words").unwrap();
            theirs.shutdown(Shutdown::Write).unwrap();
            // (Level triggering on io_uring may report the data's readiness before the
            // shutdown's: its single-shot poll completes on the first wake-up.)
            let got = readiness_until(&mut poll, &mut events, Token(1), half_close(backend));
            assert!(
                got.contains(half_close(backend)),
                "{backend} {opts:?}: peer's shutdown(Write) gave {got:?}"
            );
            let mut buf = [0u8; 32];
            assert_eq!((&ours).try_read(&mut buf).unwrap(), Some(10));
            assert_eq!((&ours).try_read(&mut buf).unwrap(), Some(0), "{backend}");
            // Still writable towards the half-closed peer, which reads it.
            assert_eq!((&ours).try_write(b"reply").unwrap(), Some(5));
            expect_events(
                &mut poll,
                &mut events,
                vec![(Token(2), EventSet::readable())],
            );
            assert_eq!(theirs.try_read(&mut buf).unwrap(), Some(5), "{backend}");
            // Our shutdown(Both): hup for us, end of stream for them.
            ours.shutdown(Shutdown::Both).unwrap();
            // Both tokens at once: with edge triggering an event skipped is gone.
            let seen = expect_events(
                &mut poll,
                &mut events,
                vec![
                    (Token(1), EventSet::hup()),
                    (Token(2), EventSet::readable()),
                ],
            );
            assert!(
                seen.iter()
                    .filter(|(t, _)| *t == Token(1))
                    .all(|(_, k)| k.is_hup()),
                "{backend} {opts:?}: our shutdown(Both) gave {seen:?}"
            );
            assert_eq!(theirs.try_read(&mut buf).unwrap(), Some(0), "{backend}");
            let err = theirs.try_write(b"x").unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{backend}: {err}");
        }
    }
}

/// Our own `shutdown(Read)` on a Unix stream is read-closed for us (hup where the OS has
/// `POLLRDHUP`), and the read after it is end of stream.
#[test]
fn own_stream_shutdown_read_is_reported() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let (ours, _theirs) = UnixStream::pair().unwrap();
        poll.register(&ours, Token(1), EventSet::readable(), PollOpt::edge())
            .unwrap();
        ours.shutdown(Shutdown::Read).unwrap();
        let got = next_readiness(&mut poll, &mut events, Token(1));
        assert!(
            got.contains(half_close(backend)),
            "{backend}: own shutdown(Read) gave {got:?}"
        );
        let mut buf = [0u8; 4];
        assert_eq!((&ours).try_read(&mut buf).unwrap(), Some(0), "{backend}");
    }
}

/// Abstract-namespace addresses (Linux) through sockets adopted from std: `recv_from` names
/// an abstract sender, `local_addr`/`peer_addr` keep the name, a listener's
/// `accept_with_addr` reports an abstract client's name and an unnamed client as unnamed.
#[cfg(target_os = "linux")]
#[test]
fn abstract_and_unnamed_addresses_round_trip() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::SocketAddr;

    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let tag = format!("ferrio-abs-{}-{backend}", std::process::id());
        let server_name = format!("{tag}-server");
        let client_name = format!("{tag}-client");
        let server_addr = SocketAddr::from_abstract_name(server_name.as_bytes()).unwrap();
        let client_addr = SocketAddr::from_abstract_name(client_name.as_bytes()).unwrap();

        let server = UnixDatagram::from_std(
            std::os::unix::net::UnixDatagram::bind_addr(&server_addr).unwrap(),
        )
        .unwrap();
        let client = std::os::unix::net::UnixDatagram::bind_addr(&client_addr).unwrap();
        assert_eq!(
            server.local_addr().unwrap().as_abstract_name(),
            Some(server_name.as_bytes()),
            "{backend}"
        );
        poll.register(&server, Token(1), EventSet::readable(), PollOpt::edge())
            .unwrap();
        std::os::unix::net::UnixDatagram::unbound()
            .unwrap()
            .send_to_addr(b"anon", &server_addr)
            .unwrap();
        client.send_to_addr(b"named", &server_addr).unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(1), EventSet::readable())],
        );
        let mut buf = [0u8; 16];
        let (n, from) = server.recv_from(&mut buf).unwrap().expect("a datagram");
        assert_eq!(&buf[..n], b"anon", "{backend}");
        assert!(from.is_unnamed(), "{backend}: {from:?}");
        let (n, from) = server.recv_from(&mut buf).unwrap().expect("a datagram");
        assert_eq!(&buf[..n], b"named", "{backend}");
        assert_eq!(
            from.as_abstract_name(),
            Some(client_name.as_bytes()),
            "{backend}"
        );

        // Streams: an abstract listener, one abstract-named and one unnamed client.
        let listen_name = format!("{tag}-listen");
        let listen_addr = SocketAddr::from_abstract_name(listen_name.as_bytes()).unwrap();
        let listener = UnixListener::from_std(
            std::os::unix::net::UnixListener::bind_addr(&listen_addr).unwrap(),
        )
        .unwrap();
        poll.register(&listener, Token(2), EventSet::readable(), PollOpt::edge())
            .unwrap();
        let named_client = {
            let sock =
                socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
            let bound = socket2::SockAddr::unix(format!("\0{tag}-named-client")).unwrap();
            sock.bind(&bound).unwrap();
            sock.connect(&socket2::SockAddr::unix(format!("\0{listen_name}")).unwrap())
                .unwrap();
            sock
        };
        let _unnamed_client = std::os::unix::net::UnixStream::connect_addr(&listen_addr).unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(2), EventSet::readable())],
        );
        let mut names = Vec::new();
        while let Some((stream, addr)) = listener.accept_with_addr().unwrap() {
            assert_eq!(
                stream.local_addr().unwrap().as_abstract_name(),
                Some(listen_name.as_bytes()),
                "{backend}"
            );
            names.push(addr.as_abstract_name().map(<[u8]>::to_vec));
        }
        names.sort();
        assert_eq!(
            names,
            vec![None, Some(format!("{tag}-named-client").into_bytes())],
            "{backend}: the clients' addresses as accepted"
        );
        drop(named_client);
    }
}

/// A listener whose socket file is unlinked keeps serving the connections it has, and new
/// connects to the path fail with `NotFound`; a datagram sent to a path whose socket is gone
/// is `ConnectionRefused`; binding a path left behind by a dropped socket is `AddrInUse`.
#[test]
fn unlinked_and_stale_socket_paths_are_clean_errors() {
    for (backend, mut poll) in polls() {
        let mut events = Events::with_capacity(8);
        let dir = TempDir::new(&backend.to_string());
        let path = dir.path("listener.sock");
        let listener = UnixListener::bind(&path).unwrap();
        poll.register(&listener, Token(1), EventSet::readable(), PollOpt::edge())
            .unwrap();
        let mut early = UnixStream::connect(&path).unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(1), EventSet::readable())],
        );
        let accepted = listener.accept().unwrap().expect("the early client");
        std::fs::remove_file(&path).unwrap();
        let err = UnixStream::connect(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{backend}: {err}");
        // The established connection still works both ways.
        early.try_write(b"ping").unwrap();
        poll.register(&accepted, Token(2), EventSet::readable(), PollOpt::edge())
            .unwrap();
        expect_events(
            &mut poll,
            &mut events,
            vec![(Token(2), EventSet::readable())],
        );
        let mut buf = [0u8; 8];
        assert_eq!(
            (&accepted).try_read(&mut buf).unwrap(),
            Some(4),
            "{backend}"
        );
        // And the listener reports nothing more (nobody can reach it).
        expect_no_events(&mut poll, &mut events);
        assert!(listener.accept().unwrap().is_none(), "{backend}");

        // A datagram socket's path outlives the socket: sending there is refused; binding it
        // again is AddrInUse until the file is removed.
        let dpath = dir.path("datagram.sock");
        let gone = UnixDatagram::bind(&dpath).unwrap();
        drop(gone);
        let sender = UnixDatagram::unbound().unwrap();
        let err = sender.send_to(b"hello?", &dpath).unwrap_err();
        assert_eq!(
            err.kind(),
            io::ErrorKind::ConnectionRefused,
            "{backend}: {err}"
        );
        let err = UnixDatagram::bind(&dpath).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{backend}: {err}");
        std::fs::remove_file(&dpath).unwrap();
        let again = UnixDatagram::bind(&dpath).unwrap();
        assert_eq!(sender.send_to(b"hi", &dpath).unwrap(), Some(2), "{backend}");
        assert_eq!(again.recv(&mut buf).unwrap(), Some(2), "{backend}");
        // A path that is a regular file is not a socket.
        let file = dir.path("plain");
        std::fs::write(&file, b"").unwrap();
        let err = UnixStream::connect(&file).unwrap_err();
        assert_eq!(
            err.kind(),
            io::ErrorKind::ConnectionRefused,
            "{backend}: {err}"
        );
    }
}

/// A connected datagram socket whose peer is dropped: the next send is an error
/// (`ConnectionRefused`), not a hang or a silent loss, and not a signal.
#[test]
fn a_connected_unix_datagram_whose_peer_is_gone_errors() {
    let dir = TempDir::new("peer-gone");
    let path = dir.path("peer.sock");
    let peer = UnixDatagram::bind(&path).unwrap();
    let ours = UnixDatagram::unbound().unwrap();
    ours.connect(&path).unwrap();
    assert_eq!(ours.send(b"1").unwrap(), Some(1));
    drop(peer);
    let err = ours.send(b"2").unwrap_err();
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
        ),
        "{err}"
    );
}

/// Fd passing at the limit and past it, on a socket registered with every backend: the
/// largest message arrives with every fd; a message with one fd more than the receiver has
/// room for is `InvalidData`, leaks nothing, and the stream goes on; sending more than the
/// limit is `InvalidInput` with nothing sent. The fd count is back where it started.
#[test]
fn fd_passing_at_and_past_its_limits_leaks_nothing() {
    let _serial = serial();
    for (backend, mut poll) in polls() {
        let before = open_fds();
        {
            let mut events = Events::with_capacity(8);
            let (a, b) = UnixStream::pair().unwrap();
            poll.register(&b, Token(1), EventSet::readable(), PollOpt::edge())
                .unwrap();
            let (r, _w) = pipe().unwrap();
            let max = vec![r.as_fd(); MAX_FDS_PER_MESSAGE];
            let too_many = vec![r.as_fd(); MAX_FDS_PER_MESSAGE + 1];
            let err = a.send_with_fds(b"x", &too_many).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{backend}: {err}");
            assert_eq!(a.send_with_fds(b"1", &max).unwrap(), Some(1));
            assert_eq!(a.send_with_fds(b"2", &max).unwrap(), Some(1));
            assert_eq!(a.send_with_fds(b"3", &[r.as_fd()]).unwrap(), Some(1));
            expect_events(
                &mut poll,
                &mut events,
                vec![(Token(1), EventSet::readable())],
            );
            let mut buf = [0u8; 8];
            let mut fds: Vec<Option<OwnedFd>> = (0..MAX_FDS_PER_MESSAGE).map(|_| None).collect();
            assert_eq!(
                b.recv_with_fds(&mut buf, &mut fds).unwrap(),
                Some((1, MAX_FDS_PER_MESSAGE)),
                "{backend}"
            );
            assert_eq!(buf[0], b'1');
            drop(fds);
            // One slot short: the message's fds are all closed, its byte consumed.
            let mut short: Vec<Option<OwnedFd>> =
                (0..MAX_FDS_PER_MESSAGE - 1).map(|_| None).collect();
            let err = b.recv_with_fds(&mut buf, &mut short).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{backend}: {err}");
            assert!(short.iter().all(Option::is_none), "{backend}");
            // The stream goes on with the next message.
            let mut one: [Option<OwnedFd>; 1] = Default::default();
            assert_eq!(
                b.recv_with_fds(&mut buf, &mut one).unwrap(),
                Some((1, 1)),
                "{backend}"
            );
            assert_eq!(buf[0], b'3', "{backend}");
            assert!(one[0].is_some());
            assert_eq!(b.recv_with_fds(&mut buf, &mut one).unwrap(), None);
            // With no room at all, a message with fds is InvalidData, not a silent drop.
            assert_eq!(a.send_with_fds(b"4", &[r.as_fd()]).unwrap(), Some(1));
            expect_events(
                &mut poll,
                &mut events,
                vec![(Token(1), EventSet::readable())],
            );
            let err = b.recv_with_fds(&mut buf, &mut []).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{backend}: {err}");
        }
        assert_eq!(open_fds(), before, "{backend}: fds leaked");
    }
}

/// A connected datagram socket whose peer's queue is full would block; once the peer reads,
/// the sender is reported writable again (Linux wakes it through the peer's queue), in edge
/// and level mode on every backend, and the next send goes through.
#[test]
fn a_datagram_sender_blocked_on_a_full_peer_is_woken_when_the_peer_reads() {
    for opts in [PollOpt::edge(), PollOpt::level()] {
        for (backend, mut poll) in polls() {
            let what = format!("{backend} {opts:?}");
            let mut events = Events::with_capacity(8);
            let dir = TempDir::new("dgram-full");
            let path = dir.path("receiver.sock");
            let receiver = UnixDatagram::bind(&path).unwrap();
            let sender = UnixDatagram::unbound().unwrap();
            sender.connect(&path).unwrap();
            let mut sent = 0usize;
            while sender.send(&[9u8; 512]).unwrap().is_some() {
                sent += 1;
                assert!(sent < 1_000_000, "{what}: never full");
            }
            poll.register(&sender, Token(1), EventSet::writable(), opts)
                .unwrap();
            // Full: not writable.
            expect_no_events(&mut poll, &mut events);
            let mut buf = [0u8; 1024];
            let mut read = 0;
            while receiver.recv(&mut buf).unwrap().is_some() {
                read += 1;
            }
            assert_eq!(read, sent, "{what}");
            expect_events(
                &mut poll,
                &mut events,
                vec![(Token(1), EventSet::writable())],
            );
            assert_eq!(sender.send(b"again").unwrap(), Some(5), "{what}");
        }
    }
}
