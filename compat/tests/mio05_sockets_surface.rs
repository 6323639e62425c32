// mio 0.5.1: the socket methods of `mio::tcp`, `mio::udp` and `mio::unix` with their exact
// argument and return types (`&SocketAddr`, `Option` results, `(stream, bool)`, raw fds),
// driven by an EventLoop.
#![allow(deprecated)]
extern crate mio;

use std::io::{Read, Write};
use std::net::{self, SocketAddr};
use std::os::unix::io::{AsRawFd, FromRawFd, RawFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mio::tcp::{Shutdown, TcpListener, TcpStream};
use mio::udp::UdpSocket;
use mio::unix::{EventedFd, PipeReader, PipeWriter, UnixListener, UnixSocket, UnixStream};
use mio::{EventLoop, EventSet, Handler, IpAddr, Ipv4Addr, PollOpt, Token, TryRead, TryWrite};

// Waits for one readiness event of `token`, bounded.
struct Wait {
    want: Token,
    got: Option<EventSet>,
}

impl Handler for Wait {
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<Wait>, token: Token, events: EventSet) {
        if token == self.want {
            self.got = Some(events);
            event_loop.shutdown();
        }
    }

    fn timeout(&mut self, event_loop: &mut EventLoop<Wait>, _: ()) {
        event_loop.shutdown();
    }
}

fn wait_for(event_loop: &mut EventLoop<Wait>, token: Token) -> EventSet {
    let mut handler = Wait { want: token, got: None };
    let deadline = Instant::now() + Duration::from_secs(10);
    while handler.got.is_none() && Instant::now() < deadline {
        event_loop.run_once(&mut handler, Some(100)).unwrap();
    }
    handler.got.expect("no event within 10 s")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mio05-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    dir
}

#[test]
fn tcp_surface() {
    let mut event_loop = EventLoop::new().unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let listener = TcpListener::bind(&any).unwrap();
    let addr = listener.local_addr().unwrap();
    listener.take_socket_error().unwrap();
    let listener2 = listener.try_clone().unwrap();
    assert_eq!(listener2.local_addr().unwrap(), addr);
    // Level: the accept event may come while the loop waits for the client's.
    event_loop.register(&listener, Token(0), EventSet::readable(), PollOpt::level()).unwrap();

    let client = TcpStream::connect(&addr).unwrap();
    event_loop.register(&client, Token(1), EventSet::writable(), PollOpt::edge() | PollOpt::oneshot()).unwrap();
    assert!(wait_for(&mut event_loop, Token(1)).is_writable());
    client.take_socket_error().unwrap();
    client.set_nodelay(true).unwrap();
    client.set_keepalive(Some(30)).unwrap();
    client.set_keepalive(None).unwrap();

    wait_for(&mut event_loop, Token(0));
    let (server, peer) = listener.accept().unwrap().expect("a pending connection");
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
    assert_eq!(client.peer_addr().unwrap(), addr);

    let mut client = client;
    let mut server = server;
    assert_eq!(client.try_write(b"ping").unwrap(), Some(4));
    event_loop.register(&server, Token(2), EventSet::readable(), PollOpt::level()).unwrap();
    wait_for(&mut event_loop, Token(2));
    let mut buf = [0u8; 16];
    assert_eq!(server.try_read(&mut buf).unwrap(), Some(4));
    assert_eq!(&buf[..4], b"ping");
    assert_eq!(server.try_read(&mut buf).unwrap(), None);

    let mut server_clone = server.try_clone().unwrap();
    server_clone.write_all(b"pong").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    wait_for(&mut event_loop, Token(2));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match server.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => panic!("unexpected {} bytes", n),
            Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline);
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("{}", e),
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while got.len() < 4 {
        if let Some(n) = client.try_read(&mut buf).unwrap() {
            got.extend_from_slice(&buf[..n]);
        } else {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    assert_eq!(&got[..], b"pong");
}

#[test]
fn tcp_from_std() {
    let std_listener = net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let listener = TcpListener::from_listener(std_listener, &addr).unwrap();
    let std_stream = net::TcpStream::connect(addr).unwrap();
    let accepted = loop {
        if let Some((s, _)) = listener.accept().unwrap() {
            break s;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    drop(accepted);
    // connect_stream takes an unconnected socket in mio 0.5; a connected std stream is what
    // std can build without net2, and the connect then reports it is connected already.
    let _ = TcpStream::connect_stream(std_stream, &addr);
    let fd: RawFd = listener.as_raw_fd();
    assert!(fd >= 0);
}

#[test]
fn udp_surface() {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let a = UdpSocket::bound(&any).unwrap();
    let b = UdpSocket::v4().unwrap();
    b.bind(&any).unwrap();
    let _v6 = UdpSocket::v6();
    let a_addr = a.local_addr().unwrap();
    let b_addr = b.local_addr().unwrap();
    a.set_broadcast(true).unwrap();
    a.set_multicast_loop(true).unwrap();
    // (mio 0.5.1 itself fails this one with EINVAL on Linux: its nix passes the wrong size.)
    let _ = a.set_multicast_time_to_live(2);
    let group: IpAddr = "239.255.0.7".parse().unwrap();
    let group2 = IpAddr::V4(Ipv4Addr::new(239, 255, 0, 8));
    // Joining needs a multicast-capable interface; either way the call's types are mio 0.5's.
    if b.join_multicast(&group).is_ok() {
        b.leave_multicast(&group).unwrap();
    }
    let _ = b.join_multicast(&group2).and_then(|_| b.leave_multicast(&group2));

    let mut event_loop = EventLoop::new().unwrap();
    event_loop.register(&b, Token(5), EventSet::readable(), PollOpt::edge()).unwrap();
    let mut buf = [0u8; 32];
    assert_eq!(b.recv_from(&mut buf).unwrap(), None);
    let sent: Option<usize> = a.send_to(b"datagram", &b_addr).unwrap();
    assert_eq!(sent, Some(8));
    wait_for(&mut event_loop, Token(5));
    let b2 = b.try_clone().unwrap();
    match b2.recv_from(&mut buf).unwrap() {
        Some((n, from)) => {
            assert_eq!(&buf[..n], b"datagram");
            assert_eq!(from, a_addr);
        }
        None => panic!("readable but nothing to read"),
    }
    let _fd = unsafe { UdpSocket::from_raw_fd(net::UdpSocket::bind("127.0.0.1:0").unwrap().as_raw_fd()) };
    std::mem::forget(_fd);
}

#[test]
fn unix_sockets_surface() {
    let dir = temp_dir("unix");
    let path = dir.join("listen.sock");
    let sock = UnixSocket::stream().unwrap();
    sock.bind(&path).unwrap();
    let sock2 = sock.try_clone().unwrap();
    drop(sock2);
    let listener: UnixListener = sock.listen(16).unwrap();
    let listener2 = listener.try_clone().unwrap();

    let mut event_loop = EventLoop::new().unwrap();
    event_loop.register(&listener, Token(0), EventSet::readable(), PollOpt::edge()).unwrap();
    let (client, _connected): (UnixStream, bool) = UnixSocket::stream().unwrap().connect(&path).unwrap();
    wait_for(&mut event_loop, Token(0));
    let server: UnixStream = listener2.accept().unwrap().expect("pending");
    let mut client2 = client.try_clone().unwrap();
    let mut server = server;
    client2.write_all(b"hi").unwrap();
    event_loop.register(&server, Token(1), EventSet::readable(), PollOpt::edge()).unwrap();
    wait_for(&mut event_loop, Token(1));
    let mut buf = [0u8; 8];
    assert_eq!(server.try_read(&mut buf).unwrap(), Some(2));

    // Passing an fd: the read end of a pipe.
    let (pipe_r, mut pipe_w) = mio::unix::pipe().unwrap();
    let sent: Option<usize> = client2.try_write_send_fd(b"f", pipe_r.as_raw_fd()).unwrap();
    assert_eq!(sent, Some(1));
    wait_for(&mut event_loop, Token(1));
    let (n, fd): (usize, Option<RawFd>) = match server.try_read_recv_fd(&mut buf).unwrap() {
        Some(got) => got,
        None => panic!("readable but nothing to read"),
    };
    assert_eq!(n, 1);
    let fd = fd.expect("an fd came with the byte");
    let mut received = unsafe { PipeReader::from_raw_fd(fd) };
    pipe_w.write_all(b"z").unwrap();
    let mut one = [0u8; 1];
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.try_read(&mut one).unwrap().is_none() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(&one, b"z");

    // The blocking-style forms (the socket stays non-blocking; data is already there).
    assert_eq!(client2.write_send_fd(b"g", pipe_w.as_raw_fd()).unwrap(), 1);
    wait_for(&mut event_loop, Token(1));
    let (n, fd) = server.read_recv_fd(&mut buf).unwrap();
    assert_eq!(n, 1);
    let fd = fd.expect("an fd");
    let _writer = unsafe { PipeWriter::from_raw_fd(fd) };

    let direct = UnixStream::connect(&path).unwrap();
    drop(direct);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pipes_and_evented_fd() {
    let (reader, writer) = mio::unix::pipe().unwrap();
    let mut event_loop = EventLoop::new().unwrap();
    event_loop.register(&reader, Token(3), EventSet::readable(), PollOpt::level()).unwrap();
    event_loop.register(&writer, Token(4), EventSet::writable(), PollOpt::oneshot()).unwrap();
    assert!(wait_for(&mut event_loop, Token(4)).is_writable());
    // Read through &PipeReader and write through &PipeWriter.
    (&writer).write_all(b"ab").unwrap();
    wait_for(&mut event_loop, Token(3));
    let mut buf = [0u8; 4];
    assert_eq!((&reader).read(&mut buf).unwrap(), 2);
    event_loop.deregister(&reader).unwrap();

    // Any fd the program owns, registered through EventedFd.
    let (other_r, mut other_w) = std::os::unix::net::UnixStream::pair().unwrap();
    let fd: RawFd = other_r.as_raw_fd();
    event_loop.register(&EventedFd(&fd), Token(6), EventSet::readable(), PollOpt::edge()).unwrap();
    other_w.write_all(b"!").unwrap();
    assert!(wait_for(&mut event_loop, Token(6)).is_readable());
    event_loop.reregister(&EventedFd(&fd), Token(7), EventSet::readable(), PollOpt::level()).unwrap();
    assert!(wait_for(&mut event_loop, Token(7)).is_readable());
    event_loop.deregister(&EventedFd(&fd)).unwrap();
}
