// mio 0.5: Unix sockets. `UnixSocket` built step by step, `UnixListener::accept` returning
// the stream alone (and `TryAccept` with `Output = UnixStream`), fd passing with raw fds,
// pipes and `EventedFd`.
// 2015-era code: `try!` and `ATOMIC_USIZE_INIT` as its authors wrote them.
#![allow(deprecated)]

extern crate mio;

use std::env;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::io::{AsRawFd, FromRawFd, RawFd};
use std::path::PathBuf;
use std::process;
use std::sync::atomic::{AtomicUsize, Ordering, ATOMIC_USIZE_INIT};

use mio::unix::{pipe, EventedFd, PipeReader, PipeWriter, UnixListener, UnixSocket, UnixStream};
use mio::{EventLoop, EventSet, Handler, PollOpt, Token, TryAccept, TryRead, TryWrite};

static NEXT: AtomicUsize = ATOMIC_USIZE_INIT;

fn sock_path(name: &str) -> PathBuf {
    let dir = env::temp_dir().join(format!("mio-compat-{}-{}", process::id(), NEXT.fetch_add(1, Ordering::SeqCst)));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir(&dir).unwrap();
    dir.join(name)
}

const LISTENER: Token = Token(0);
const CLIENT: Token = Token(1);
const SERVER: Token = Token(2);

struct Server {
    listener: UnixListener,
    client: UnixStream,
    conn: Option<UnixStream>,
    reply: Vec<u8>,
}

impl Handler for Server {
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<Server>, token: Token, _: EventSet) {
        match token {
            LISTENER => {
                // mio 0.5: Option<UnixStream>, no address.
                if let Some(conn) = self.listener.accept().unwrap() {
                    event_loop.register(&conn, SERVER, EventSet::readable(), PollOpt::edge()).unwrap();
                    self.conn = Some(conn);
                }
            }
            SERVER => {
                let conn = self.conn.as_mut().unwrap();
                let mut buf = [0; 32];
                if let Some(n) = conn.try_read(&mut buf).unwrap() {
                    let mut upper = buf[..n].to_vec();
                    for b in upper.iter_mut() {
                        *b = b.to_ascii_uppercase();
                    }
                    conn.try_write(&upper).unwrap();
                }
            }
            CLIENT => {
                let mut buf = [0; 32];
                if let Some(n) = self.client.try_read(&mut buf).unwrap() {
                    self.reply.extend_from_slice(&buf[..n]);
                    if self.reply.len() >= 5 {
                        event_loop.shutdown();
                    }
                }
            }
            _ => panic!("unexpected token"),
        }
    }
}

#[test]
fn unix_socket_listen_and_connect() {
    let path = sock_path("server.sock");
    let sock = UnixSocket::stream().unwrap();
    sock.bind(&path).unwrap();
    let listener = sock.listen(256).unwrap();

    let (client, complete) = UnixSocket::stream().unwrap().connect(&path).unwrap();
    assert!(complete);
    let mut client = client;
    client.write_all(b"hello").unwrap();

    let mut event_loop = EventLoop::new().unwrap();
    event_loop.register(&listener, LISTENER, EventSet::readable(), PollOpt::edge()).unwrap();
    event_loop.register(&client, CLIENT, EventSet::readable(), PollOpt::edge()).unwrap();
    let mut server = Server {
        listener: listener,
        client: client,
        conn: None,
        reply: Vec::new(),
    };
    event_loop.run(&mut server).unwrap();
    assert_eq!(&server.reply[..], b"HELLO");
    let _ = fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn try_clone_and_try_accept() {
    fn accept_one<A: TryAccept<Output = UnixStream>>(a: &A) -> Option<UnixStream> {
        a.accept().unwrap()
    }
    let path = sock_path("clone.sock");
    let sock = UnixSocket::stream().unwrap();
    let other = sock.try_clone().unwrap();
    assert!(other.as_raw_fd() != sock.as_raw_fd());
    sock.bind(&path).unwrap();
    let listener = UnixListener::bind(&sock_path("direct.sock")).unwrap();
    assert!(accept_one(&listener).is_none());
    let listener = sock.listen(16).unwrap();
    let listener2 = listener.try_clone().unwrap();
    let _client = UnixStream::connect(&path).unwrap();
    // Linux queues a Unix connection at once.
    assert!(accept_one(&listener2).is_some());
    assert!(accept_one(&listener).is_none());
    let _ = fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn fd_passing_with_raw_fds() {
    let path = sock_path("fds.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let mut a = UnixStream::connect(&path).unwrap();
    let mut b = listener.accept().unwrap().unwrap();

    let (mut reader, writer) = pipe().unwrap();
    let mut buf = [0; 8];
    assert!(b.try_read_recv_fd(&mut buf).unwrap().is_none());
    assert_eq!(a.try_write_send_fd(b"f", writer.as_raw_fd()).unwrap(), Some(1));
    drop(writer);
    let (n, fd) = b.try_read_recv_fd(&mut buf).unwrap().unwrap();
    assert_eq!(n, 1);
    let fd: RawFd = fd.unwrap();
    // The received fd is ours: adopt it as a PipeWriter.
    let mut writer = unsafe { PipeWriter::from_raw_fd(fd) };
    writer.write_all(b"through").unwrap();
    drop(writer);
    let mut got = Vec::new();
    loop {
        match reader.read_to_end(&mut got) {
            Ok(_) => break,
            Err(ref e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => panic!("{}", e),
        }
    }
    assert_eq!(&got[..], b"through");

    // The blocking-style variants report would-block as an error.
    let err = b.read_recv_fd(&mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    assert_eq!(a.write_send_fd(b"g", reader.as_raw_fd()).unwrap(), 1);
    let (n, fd) = b.read_recv_fd(&mut buf).unwrap();
    assert_eq!(n, 1);
    drop(unsafe { PipeReader::from_raw_fd(fd.unwrap()) });
    let _ = fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn pipes_and_evented_fd() {
    struct Wait;
    impl Handler for Wait {
        type Timeout = ();
        type Message = ();
        fn ready(&mut self, event_loop: &mut EventLoop<Wait>, token: Token, events: EventSet) {
            assert_eq!(token, Token(9));
            assert!(events.is_readable());
            event_loop.shutdown();
        }
    }
    let (reader, mut writer) = pipe().unwrap();
    writer.write_all(b"x").unwrap();
    let fd = reader.as_raw_fd();
    let mut event_loop = EventLoop::new().unwrap();
    event_loop.register(&EventedFd(&fd), Token(9), EventSet::readable(), PollOpt::level()).unwrap();
    event_loop.run(&mut Wait).unwrap();
    event_loop.deregister(&EventedFd(&fd)).unwrap();
    let mut reader = reader;
    let mut buf = [0; 4];
    assert_eq!((&reader).try_read(&mut buf).unwrap(), Some(1));
    assert_eq!(reader.try_read(&mut buf).unwrap(), None);
}
