// mio 0.5.1: `TryRead`/`TryWrite` on any `Read`/`Write` (std types included), `TryAccept`
// through generic code, trait objects of `Evented`, and `mio::prelude`.
#![allow(bare_trait_objects, deprecated)]
extern crate mio;

use std::io::{self, Cursor};
use std::net::SocketAddr;

use mio::prelude::*;
use mio::tcp::{TcpListener, TcpStream};
use mio::unix::{UnixListener, UnixStream};
use mio::{Evented, EventSet, Handler, PollOpt, Token, TryAccept};

#[test]
fn try_read_and_write_on_std_types() {
    let mut src = Cursor::new(b"hello".to_vec());
    let mut buf = [0u8; 3];
    assert_eq!(src.try_read(&mut buf).unwrap(), Some(3));
    assert_eq!(&buf, b"hel");
    assert_eq!(TryRead::try_read(&mut src, &mut buf).unwrap(), Some(2));
    assert_eq!(src.try_read(&mut buf).unwrap(), Some(0));

    let mut sink: Vec<u8> = Vec::new();
    assert_eq!(sink.try_write(b"abc").unwrap(), Some(3));
    assert_eq!(TryWrite::try_write(&mut sink, b"d").unwrap(), Some(1));
    assert_eq!(&sink[..], b"abcd");
}

// Accepts everything pending from any listener, the way servers generic over the
// transport were written.
fn drain<L: TryAccept>(listener: &L) -> io::Result<Vec<L::Output>> {
    let mut out = Vec::new();
    while let Some(conn) = try!(listener.accept()) {
        out.push(conn);
    }
    Ok(out)
}

fn first_stream<L>(listener: &L) -> Option<L::Output>
    where L: TryAccept + Evented
{
    // A listener is both acceptable and registrable.
    listener.accept().unwrap()
}

#[test]
fn try_accept_generic_over_listeners() {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let tcp = TcpListener::bind(&addr).unwrap();
    let addr = tcp.local_addr().unwrap();
    let _a = TcpStream::connect(&addr).unwrap();
    let _b = TcpStream::connect(&addr).unwrap();
    let mut streams: Vec<TcpStream> = Vec::new();
    for _ in 0..2000 {
        streams.extend(drain(&tcp).unwrap());
        if streams.len() == 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(streams.len(), 2);
    assert!(first_stream(&tcp).is_none());

    let dir = std::env::temp_dir().join(format!("mio05-tryaccept-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join("s");
    let unix = UnixListener::bind(&path).unwrap();
    let _c = UnixStream::connect(&path).unwrap();
    let accepted: Vec<UnixStream> = drain(&unix).unwrap();
    assert_eq!(accepted.len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

struct Stop(usize);

impl Handler for Stop {
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<Stop>, token: Token, events: EventSet) {
        assert!(events.is_readable());
        self.0 += token.as_usize();
        event_loop.shutdown();
    }
}

#[test]
fn evented_trait_objects() {
    let (reader, writer) = mio::unix::pipe().unwrap();
    let mut event_loop = EventLoop::new().unwrap();
    // Sources kept as trait objects and registered through them.
    let sources: Vec<Box<Evented>> = vec![Box::new(reader)];
    for (i, source) in sources.iter().enumerate() {
        event_loop.register(&**source, Token(10 + i), EventSet::readable(), PollOpt::level()).unwrap();
    }
    let as_ref: &Evented = &*sources[0];
    event_loop.reregister(as_ref, Token(10), EventSet::readable(), PollOpt::edge()).unwrap();
    let mut writer = writer;
    assert_eq!(writer.try_write(b"x").unwrap(), Some(1));
    let mut handler = Stop(0);
    event_loop.run(&mut handler).unwrap();
    assert_eq!(handler.0, 10);
    event_loop.deregister(&*sources[0]).unwrap();
}
