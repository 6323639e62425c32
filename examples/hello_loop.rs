//! The seed program, in ferrio's own words: a listener and a client on one `EventLoop`. The
//! server accepts the connection and drops it; the client sees the close (hup) and shuts
//! the loop down.
//!
//! ```sh
//! cargo run --example hello_loop
//! ```
//!
//! Prints each step and exits 0; a 5 s timeout makes it exit 1 if the close never arrives.

use std::process;
use std::time::Instant;

use ferrio::tcp::{TcpListener, TcpStream};
use ferrio::{EventLoop, EventSet, Handler, PollOpt, Token};

const SERVER: Token = Token(0);
const CLIENT: Token = Token(1);

struct Hello {
    server: TcpListener,
    start: Instant,
    iteration: usize,
}

impl Hello {
    fn say(&self, what: &str) {
        let us = self.start.elapsed().as_micros();
        println!("[{us:>6} µs, iteration {}] {what}", self.iteration);
    }
}

impl Handler for Hello {
    /// The only timeout is the give-up timer.
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<Hello>, token: Token, events: EventSet) {
        match token {
            SERVER => {
                // Edge-triggered: accept until it would block.
                while let Some((stream, peer)) = self.server.accept().expect("accept failed") {
                    self.say(&format!("server: accepted {peer}, dropping it"));
                    drop(stream);
                }
            }
            CLIENT => {
                self.say(&format!("client: ready {events:?}"));
                if events.is_hup() {
                    self.say("client: the server closed the connection; shutting down");
                    event_loop.shutdown();
                }
            }
            _ => unreachable!("unexpected token {token:?}"),
        }
    }

    fn timeout(&mut self, _: &mut EventLoop<Hello>, _: ()) {
        eprintln!("no close seen within 5 s");
        process::exit(1);
    }

    fn tick(&mut self, _: &mut EventLoop<Hello>) {
        self.iteration += 1;
    }
}

fn main() -> std::io::Result<()> {
    let server = TcpListener::bind(&"127.0.0.1:0".parse().unwrap())?;
    let addr = server.local_addr()?;
    let mut event_loop = EventLoop::new()?;
    event_loop.register(&server, SERVER, EventSet::readable(), PollOpt::edge())?;
    let client = TcpStream::connect(&addr)?;
    event_loop.register(&client, CLIENT, EventSet::readable(), PollOpt::edge())?;
    let _ = event_loop
        .timeout_ms((), 5_000)
        .expect("the timer has room");

    let mut handler = Hello {
        server,
        start: Instant::now(),
        iteration: 0,
    };
    handler.say(&format!("listening on {addr}; client connecting"));
    event_loop.run(&mut handler)?;
    handler.say("run returned");
    Ok(())
}
