// mio 0.5: TCP through the EventLoop. `TcpListener::accept` returns the peer's address with
// the stream, `TryAccept` gives the stream alone, `take_socket_error` is `io::Result<()>`,
// `set_keepalive` takes seconds, `Shutdown` comes from `mio::tcp`.
// 2015-era code: `try!` and `ATOMIC_USIZE_INIT` as its authors wrote them.
#![allow(deprecated)]

extern crate mio;

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::tcp::{Shutdown, TcpListener, TcpStream};
use mio::{EventLoop, EventSet, Handler, PollOpt, Token, TryAccept, TryRead, TryWrite};

const SERVER: Token = Token(0);
const CLIENT: Token = Token(1);
const CONN: Token = Token(2);

struct Echo {
    server: TcpListener,
    client: TcpStream,
    conn: Option<TcpStream>,
    peer: Option<SocketAddr>,
    sent: bool,
    received: Vec<u8>,
}

impl Handler for Echo {
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<Echo>, token: Token, events: EventSet) {
        match token {
            SERVER => {
                // The inherent accept: (stream, peer address).
                let (stream, peer) = match self.server.accept() {
                    Ok(Some(accepted)) => accepted,
                    Ok(None) => return,
                    Err(e) => panic!("accept: {}", e),
                };
                self.peer = Some(peer);
                event_loop
                    .register(&stream, CONN, EventSet::readable(), PollOpt::edge() | PollOpt::oneshot())
                    .unwrap();
                self.conn = Some(stream);
            }
            CLIENT => {
                if events.is_writable() && !self.sent {
                    // Connected (or failed): mio 0.5's take_socket_error is Err on failure.
                    self.client.take_socket_error().unwrap();
                    self.client.set_nodelay(true).unwrap();
                    self.client.set_keepalive(Some(30)).unwrap();
                    match self.client.try_write(b"ping").unwrap() {
                        Some(4) => self.sent = true,
                        other => panic!("short write: {:?}", other),
                    }
                    self.client.shutdown(Shutdown::Write).unwrap();
                    event_loop
                        .reregister(&self.client, CLIENT, EventSet::readable(), PollOpt::edge())
                        .unwrap();
                }
                if events.is_readable() {
                    let mut buf = [0; 64];
                    loop {
                        match self.client.try_read(&mut buf).unwrap() {
                            Some(0) => {
                                event_loop.shutdown();
                                return;
                            }
                            Some(n) => self.received.extend_from_slice(&buf[..n]),
                            None => return,
                        }
                    }
                }
            }
            CONN => {
                let conn = self.conn.as_mut().unwrap();
                let mut buf = [0; 64];
                let mut eof = false;
                loop {
                    match conn.try_read(&mut buf).unwrap() {
                        Some(0) => {
                            eof = true;
                            break;
                        }
                        Some(n) => {
                            conn.write_all(&buf[..n]).unwrap();
                        }
                        None => break,
                    }
                }
                if eof {
                    conn.shutdown(Shutdown::Both).unwrap();
                } else {
                    // Oneshot: re-arm.
                    event_loop
                        .reregister(conn, CONN, EventSet::readable(), PollOpt::edge() | PollOpt::oneshot())
                        .unwrap();
                }
            }
            _ => panic!("unexpected token"),
        }
    }
}

#[test]
fn echo_through_the_event_loop() {
    let addr = "127.0.0.1:0".parse().unwrap();
    let server = TcpListener::bind(&addr).unwrap();
    let addr = server.local_addr().unwrap();
    let client = TcpStream::connect(&addr).unwrap();

    let mut event_loop = EventLoop::new().unwrap();
    event_loop.register(&server, SERVER, EventSet::readable(), PollOpt::edge()).unwrap();
    event_loop.register(&client, CLIENT, EventSet::writable(), PollOpt::edge()).unwrap();

    let mut echo = Echo {
        server: server,
        client: client,
        conn: None,
        peer: None,
        sent: false,
        received: Vec::new(),
    };
    event_loop.run(&mut echo).unwrap();
    assert_eq!(echo.received, b"ping");
    assert_eq!(echo.peer, Some(echo.client.local_addr().unwrap()));
}

#[test]
fn try_accept_gives_the_stream() {
    fn accept_all<A: TryAccept<Output = TcpStream>>(listener: &A) -> io::Result<Vec<TcpStream>> {
        let mut out = Vec::new();
        while let Some(stream) = try!(listener.accept()) {
            out.push(stream);
        }
        Ok(out)
    }
    let listener = TcpListener::bind(&"127.0.0.1:0".parse().unwrap()).unwrap();
    assert!(accept_all(&listener).unwrap().is_empty());
    let mut peer = ::std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    // Wait for the connection without an event loop: a blocking std peer writes first.
    peer.write_all(b"x").unwrap();
    let mut accepted = Vec::new();
    for _ in 0..100000 {
        accepted = accept_all(&listener).unwrap();
        if !accepted.is_empty() {
            break;
        }
    }
    let mut stream = accepted.pop().unwrap();
    let mut byte = [0];
    for _ in 0..100000 {
        match stream.read(&mut byte) {
            Ok(n) => {
                assert_eq!(n, 1);
                return;
            }
            Err(ref e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => panic!("{}", e),
        }
    }
    panic!("the byte never arrived");
}

#[test]
fn refused_connect_is_a_socket_error() {
    // A port nobody listens on: bind one, note it, close it.
    let addr = {
        let l = ::std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let stream = match TcpStream::connect(&addr) {
        Ok(stream) => stream,
        Err(e) => {
            // Refused at once is fine too.
            assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
            return;
        }
    };
    struct Wait(TcpStream, Option<io::Result<()>>);
    impl Handler for Wait {
        type Timeout = ();
        type Message = ();
        fn ready(&mut self, event_loop: &mut EventLoop<Wait>, _: Token, _: EventSet) {
            self.1 = Some(self.0.take_socket_error());
            event_loop.shutdown();
        }
    }
    let mut event_loop = EventLoop::new().unwrap();
    event_loop.register(&stream, CLIENT, EventSet::writable(), PollOpt::edge()).unwrap();
    let mut wait = Wait(stream, None);
    event_loop.run(&mut wait).unwrap();
    let err = wait.1.unwrap().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
}
