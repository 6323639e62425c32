// mio 0.5.1: `use mio::prelude::*` in a program that also uses std's sockets. ferrio's
// prelude has more names than mio 0.5.1's (its TCP sources among them), so std's are
// imported by name, which takes precedence over the glob (the crate docs' one-line change
// for a program that glob-imported `std::net::*`).
extern crate mio;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use mio::prelude::*;
use mio::{EventSet, Handler, PollOpt, Token};

struct Relay {
    got: Vec<u8>,
    reader: mio::unix::PipeReader,
}

impl Handler for Relay {
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<Relay>, _: Token, _: EventSet) {
        let mut buf = [0u8; 64];
        while let Some(n) = self.reader.try_read(&mut buf).unwrap() {
            if n == 0 {
                event_loop.shutdown();
                return;
            }
            self.got.extend_from_slice(&buf[..n]);
        }
    }
}

#[test]
fn std_sockets_next_to_the_prelude() {
    // Blocking std sockets on a thread; the loop watches a pipe the thread writes to.
    let listener: TcpListener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (reader, mut writer) = mio::unix::pipe().unwrap();
    let t = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 5];
        conn.read_exact(&mut buf).unwrap();
        writer.try_write(&buf).unwrap();
    });
    let mut client: TcpStream = TcpStream::connect(addr).unwrap();
    client.write_all(b"hello").unwrap();

    let mut event_loop = EventLoop::new().unwrap();
    event_loop.register(&reader, Token(0), EventSet::readable(), PollOpt::level()).unwrap();
    let mut relay = Relay { got: Vec::new(), reader: reader };
    event_loop.run(&mut relay).unwrap();
    t.join().unwrap();
    assert_eq!(&relay.got[..], b"hello");
}
