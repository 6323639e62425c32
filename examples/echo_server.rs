//! An edge-triggered TCP echo server on `Poll`, with its connections in a `Slab` and each
//! connection's bytes in an inline `RingBuf`.
//!
//! ```sh
//! cargo run --release --example echo_server -- 127.0.0.1:9000   # serve until killed
//! cargo run --release --example echo_server -- 127.0.0.1:0 --max-connections 20  # then exit
//! cargo run --release --example echo_server                     # self-checking demo
//! cargo run --release --example echo_server -- --demo 20 65536   # the demo, smaller
//! ```
//!
//! The demo binds an ephemeral port, drives the server from another thread with 100 client
//! connections, verifies every echoed byte, prints connections, bytes and throughput, and
//! exits 0 (or 1 if anything went wrong).

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ferrio::buf::RingBuf;
use ferrio::tcp::{TcpListener, TcpStream};
use ferrio::util::Slab;
use ferrio::{EventSet, Events, Poll, PollOpt, Token, Waker};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_CONNECTION: Token = Token(2);
const MAX_CONNECTIONS: usize = 16 * 1024;
/// Unsent bytes a connection may hold before the server stops reading from it.
const RING_SIZE: usize = 16 * 1024;

struct Connection {
    stream: TcpStream,
    /// Bytes read but not yet echoed. The ring lives inline in the connection: no heap
    /// buffer, and both of its halves go to the kernel in one `readv`/`writev`.
    ring: RingBuf<RING_SIZE>,
    read_closed: bool,
}

#[derive(Default, Debug)]
struct Stats {
    accepted: usize,
    closed: usize,
    bytes_echoed: u64,
}

enum Progress {
    Open,
    Closed,
}

impl Connection {
    /// Reads and echoes until the socket would block (edge-triggered: drain everything).
    fn drive(&mut self, stats: &mut Stats) -> io::Result<Progress> {
        loop {
            // Echo what we hold; stop when the socket would block (a writable edge follows).
            while !self.ring.is_empty() {
                match self.ring.write_to(&mut self.stream)? {
                    Some(n) => stats.bytes_echoed += n as u64,
                    None => break,
                }
            }
            if self.read_closed {
                return Ok(if self.ring.is_empty() {
                    Progress::Closed
                } else {
                    Progress::Open
                });
            }
            if self.ring.is_full() {
                return Ok(Progress::Open); // wait for a writable edge before reading more
            }
            match self.ring.read_from(&mut self.stream)? {
                Some(0) => self.read_closed = true,
                Some(_) => {}
                None => return Ok(Progress::Open),
            }
        }
    }
}

/// Runs the server until the waker is woken, or until `max_connections` connections have
/// closed (forever if neither happens).
fn serve(
    mut poll: Poll,
    listener: TcpListener,
    max_connections: Option<usize>,
) -> io::Result<Stats> {
    let mut events = Events::with_capacity(1024);
    let mut connections: Slab<Connection> = Slab::new_starting_at(FIRST_CONNECTION, 1024);
    let mut stats = Stats::default();
    poll.register(&listener, LISTENER, EventSet::readable(), PollOpt::edge())?;
    loop {
        match poll.poll(&mut events, None) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in &events {
            match event.token() {
                WAKER => return Ok(stats),
                LISTENER => accept_all(&poll, &listener, &mut connections, &mut stats)?,
                token => {
                    let Some(conn) = connections.get_mut(token) else {
                        continue; // spurious event for a connection already gone
                    };
                    let progress = conn.drive(&mut stats).unwrap_or_else(|e| {
                        eprintln!("connection {:?}: {}", token, e);
                        Progress::Closed
                    });
                    if let Progress::Closed = progress {
                        // Dropping the stream deregisters and closes it.
                        connections.remove(token);
                        stats.closed += 1;
                        if Some(stats.closed) == max_connections {
                            return Ok(stats);
                        }
                    }
                }
            }
        }
    }
}

fn accept_all(
    poll: &Poll,
    listener: &TcpListener,
    connections: &mut Slab<Connection>,
    stats: &mut Stats,
) -> io::Result<()> {
    loop {
        let (stream, _peer) = match listener.accept() {
            Ok(Some(accepted)) => accepted,
            Ok(None) => return Ok(()),
            Err(e) => {
                // Out of fds and the like: the connection stays queued; try on the next event.
                eprintln!("accept: {}", e);
                return Ok(());
            }
        };
        if connections.remaining() == 0 {
            if connections.capacity() >= MAX_CONNECTIONS {
                continue; // drop the connection: we are full
            }
            connections.grow(connections.capacity());
        }
        stream.set_nodelay(true)?;
        let conn = Connection {
            stream,
            ring: RingBuf::new(),
            read_closed: false,
        };
        let token = match connections.insert(conn) {
            Ok(token) => token,
            Err(_) => continue,
        };
        let conn = &connections[token];
        poll.register(
            &conn.stream,
            token,
            EventSet::readable() | EventSet::writable(),
            PollOpt::edge(),
        )?;
        stats.accepted += 1;
    }
}

/// 100 blocking clients on one thread, round-robin, each echoing `per_conn` bytes.
fn drive_clients(addr: SocketAddr, clients: usize, per_conn: usize) -> io::Result<u64> {
    const CHUNK: usize = 4096;
    let mut streams = Vec::with_capacity(clients);
    for _ in 0..clients {
        let s = std::net::TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        streams.push(s);
    }
    let mut out = [0u8; CHUNK];
    let mut back = [0u8; CHUNK];
    let mut verified = 0u64;
    let mut offset = 0;
    while offset < per_conn {
        let n = CHUNK.min(per_conn - offset);
        for (i, s) in streams.iter_mut().enumerate() {
            fill_pattern(&mut out[..n], i, offset);
            s.write_all(&out[..n])?;
        }
        for (i, s) in streams.iter_mut().enumerate() {
            s.read_exact(&mut back[..n])?;
            fill_pattern(&mut out[..n], i, offset);
            if back[..n] != out[..n] {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("client {} got wrong bytes at offset {}", i, offset),
                ));
            }
            verified += n as u64;
        }
        offset += n;
    }
    // Close our write side, then expect EOF: the server echoed everything and closed.
    for s in &mut streams {
        s.shutdown(std::net::Shutdown::Write)?;
        let mut rest = Vec::new();
        s.read_to_end(&mut rest)?;
        if !rest.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "extra bytes"));
        }
    }
    Ok(verified)
}

/// A byte pattern that differs per connection and per offset.
fn fill_pattern(buf: &mut [u8], conn: usize, offset: usize) {
    for (k, b) in buf.iter_mut().enumerate() {
        let x = (offset + k) as u64 ^ ((conn as u64) << 24);
        *b = (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8;
    }
}

/// The demo's default load: 100 clients, 1 MiB each way per client.
const DEMO_CLIENTS: usize = 100;
const DEMO_PER_CONN: usize = 1 << 20;

fn demo(clients: usize, per_conn: usize) -> io::Result<bool> {
    let poll = Poll::new()?;
    let listener = TcpListener::bind(&"127.0.0.1:0".parse().unwrap())?;
    let addr = listener.local_addr()?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);

    let started = Instant::now();
    let client = {
        let waker = Arc::clone(&waker);
        thread::spawn(move || {
            let res = drive_clients(addr, clients, per_conn);
            waker.wake().expect("wake the server");
            res
        })
    };
    let stats = serve(poll, listener, None)?;
    let elapsed = started.elapsed();
    let verified = client.join().expect("client thread panicked")?;

    let expected = (clients * per_conn) as u64;
    let secs = elapsed.as_secs_f64();
    println!("echo_server demo on {}", addr);
    println!("  connections accepted: {}", stats.accepted);
    println!("  connections closed:   {}", stats.closed);
    println!("  bytes echoed:         {}", stats.bytes_echoed);
    println!("  bytes verified:       {}", verified);
    println!(
        "  throughput:           {:.1} MiB/s each way ({:.3} s)",
        verified as f64 / secs / (1024.0 * 1024.0),
        secs
    );
    let ok = stats.accepted == clients
        && stats.closed == clients
        && stats.bytes_echoed == expected
        && verified == expected;
    println!(
        "  result:               {}",
        if ok { "OK" } else { "FAILED" }
    );
    Ok(ok)
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first() {
        // `--demo CLIENTS BYTES`: the demo with another load (CI under Wine, where every
        // socket call is a round trip to the wineserver, runs a smaller one).
        Some(flag) if flag == "--demo" => {
            let number = |i: usize| -> io::Result<usize> {
                args.get(i).and_then(|n| n.parse().ok()).ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "usage: echo_server --demo CLIENTS BYTES_PER_CLIENT",
                    )
                })
            };
            if demo(number(1)?, number(2)?)? {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
        Some(addr) => {
            let addr: SocketAddr = addr.parse().map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("bad address: {}", e))
            })?;
            let max_connections = match (args.get(1).map(String::as_str), args.get(2)) {
                (Some("--max-connections"), Some(n)) => Some(n.parse().map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidInput, format!("bad count: {}", e))
                })?),
                (None, _) => None,
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "usage: echo_server [ADDR [--max-connections N]]",
                    ))
                }
            };
            let listener = TcpListener::bind(&addr)?;
            println!("echo server listening on {}", listener.local_addr()?);
            let stats = serve(Poll::new()?, listener, max_connections)?;
            println!(
                "echo server done: {} connections, {} bytes echoed",
                stats.closed, stats.bytes_echoed
            );
            Ok(())
        }
        None => {
            if demo(DEMO_CLIENTS, DEMO_PER_CONN)? {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
    }
}
