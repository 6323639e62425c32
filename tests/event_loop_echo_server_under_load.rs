//! A mio 0.5-style echo server on the `EventLoop` (connections in a `Slab`, interest switched
//! between readable and writable with `reregister` on every event, as that era's servers
//! did), under real clients that stream megabytes at it concurrently and half-close; on every
//! backend of the build and in oneshot, edge and level mode. Every byte comes back in order,
//! every client sees end of stream, and afterwards no fd is left open.
#![cfg(unix)]

mod util;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

use ferrio::tcp::{Shutdown, TcpListener, TcpStream};
use ferrio::util::Slab;
use ferrio::{
    Backend, EventLoop, EventLoopConfig, EventSet, Handler, PollOpt, Token, TryRead, TryWrite,
};

use util::*;

const LISTENER: Token = Token(0);
const CLIENTS: usize = 12;
const BYTES_PER_CLIENT: usize = 3 << 20;
/// The server reads no more while this much is waiting to be echoed (backpressure).
const HIGH_WATER: usize = 256 << 10;

struct Conn {
    stream: TcpStream,
    pending: Vec<u8>,
    eof: bool,
    interest: EventSet,
}

struct Echo {
    listener: TcpListener,
    conns: Slab<Conn>,
    opts: PollOpt,
    closed: usize,
    backend: Backend,
}

impl Echo {
    fn wanted(conn: &Conn) -> EventSet {
        let mut want = EventSet::none();
        if !conn.eof && conn.pending.len() < HIGH_WATER {
            want |= EventSet::readable();
        }
        if !conn.pending.is_empty() {
            want |= EventSet::writable();
        }
        want
    }

    fn serve(&mut self, event_loop: &mut EventLoop<Echo>, token: Token) {
        let opts = self.opts;
        let Some(conn) = self.conns.get_mut(token) else {
            panic!("{}: event for a closed connection {token:?}", self.backend);
        };
        let mut buf = [0u8; 64 << 10];
        let mut broken = false;
        // Read while there is room; write what we can. Edge and oneshot modes need both
        // directions driven until they would block.
        loop {
            let mut progress = false;
            while !conn.eof && conn.pending.len() < HIGH_WATER {
                match conn.stream.try_read(&mut buf) {
                    Ok(Some(0)) => conn.eof = true,
                    Ok(Some(n)) => {
                        conn.pending.extend_from_slice(&buf[..n]);
                        progress = true;
                    }
                    Ok(None) => break,
                    Err(e) => panic!("{}: read: {e}", self.backend),
                }
            }
            while !conn.pending.is_empty() {
                match conn.stream.try_write(&conn.pending) {
                    Ok(Some(n)) => {
                        conn.pending.drain(..n);
                        progress = true;
                    }
                    Ok(None) => break,
                    Err(_) => {
                        broken = true;
                        break;
                    }
                }
            }
            if !progress || broken {
                break;
            }
        }
        if broken || (conn.eof && conn.pending.is_empty()) {
            let _ = conn.stream.shutdown(Shutdown::Write);
            // Dropped without an explicit deregister: drop deregisters.
            self.conns.remove(token);
            self.closed += 1;
            if self.closed == CLIENTS {
                event_loop.shutdown();
            }
            return;
        }
        let want = Echo::wanted(conn);
        if opts.is_oneshot() || want != conn.interest {
            conn.interest = want;
            event_loop
                .reregister(&conn.stream, token, want, opts)
                .unwrap();
        }
    }
}

impl Handler for Echo {
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<Echo>, token: Token, _: EventSet) {
        if token == LISTENER {
            while let Some((stream, _)) = self.listener.accept().unwrap() {
                let interest = EventSet::readable();
                let opts = self.opts;
                let conn = Conn {
                    stream,
                    pending: Vec::new(),
                    eof: false,
                    interest,
                };
                let token = self.conns.insert_grow(conn).ok().unwrap();
                let conn = self.conns.get(token).unwrap();
                event_loop
                    .register(&conn.stream, token, interest, opts)
                    .unwrap();
            }
            if self.opts.is_oneshot() {
                event_loop
                    .reregister(&self.listener, LISTENER, EventSet::readable(), self.opts)
                    .unwrap();
            }
            return;
        }
        self.serve(event_loop, token);
    }

    fn timeout(&mut self, _: &mut EventLoop<Echo>, _: ()) {
        let open: Vec<_> = self
            .conns
            .iter()
            .map(|c| (c.pending.len(), c.eof, c.interest))
            .collect();
        panic!(
            "{}: the echo server stalled; open connections (pending, eof, interest): {open:?}",
            self.backend
        );
    }
}

/// One client: a writer thread streams the pattern and half-closes; this thread reads the
/// echo to end of stream and checks it.
fn client(addr: SocketAddr) {
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        let mut chunk = vec![0u8; 48 << 10];
        let mut sent = 0;
        while sent < BYTES_PER_CLIENT {
            let n = chunk.len().min(BYTES_PER_CLIENT - sent);
            fill_pattern(&mut chunk[..n], sent);
            writer.write_all(&chunk[..n]).unwrap();
            sent += n;
        }
        writer.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let mut reader = stream;
    let mut got = 0;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = reader.read(&mut buf).expect("echo read");
        if n == 0 {
            break;
        }
        check_pattern(&buf[..n], got);
        got += n;
    }
    sender.join().unwrap();
    assert_eq!(got, BYTES_PER_CLIENT, "echoed bytes");
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn an_echo_server_switching_interest_on_every_event_serves_streaming_clients() {
    for opts in [
        PollOpt::edge() | PollOpt::oneshot(),
        PollOpt::edge(),
        PollOpt::level(),
    ] {
        for backend in Backend::ALL {
            let before = open_fds();
            {
                let mut config = EventLoopConfig::new();
                config.backend(backend);
                let mut event_loop = EventLoop::<Echo>::configured(&config).unwrap();
                if event_loop.registry().backend() != backend {
                    precondition_missing(&format!("{backend} runs here (fell back)"));
                    continue;
                }
                let listener = TcpListener::bind(&any_local_addr()).unwrap();
                let addr = listener.local_addr().unwrap();
                event_loop
                    .register(&listener, LISTENER, EventSet::readable(), opts)
                    .unwrap();
                // A stall fails the test instead of hanging it.
                let _stall = event_loop.timeout((), Duration::from_secs(120)).unwrap();
                let clients: Vec<_> = (0..CLIENTS)
                    .map(|_| thread::spawn(move || client(addr)))
                    .collect();
                let mut echo = Echo {
                    listener,
                    conns: Slab::new_starting_at(Token(1), 4),
                    opts,
                    closed: 0,
                    backend,
                };
                event_loop.run(&mut echo).unwrap();
                for c in clients {
                    c.join().expect("a client failed");
                }
                assert_eq!(echo.conns.count(), 0, "{backend} {opts:?}");
            }
            assert_eq!(open_fds(), before, "{backend} {opts:?}: fds left open");
        }
    }
}
