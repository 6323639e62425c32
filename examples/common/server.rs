//! The server loop of `http_server` and `resp_server`: a ferrio [`EventLoop`] whose
//! [`Handler`] owns the listener and a [`Slab`] of connections, for any [`Protocol`].
//!
//! The pattern, for a new user:
//!
//! * The listener is registered under [`LISTENER`] (`Token(0)`); connections get their tokens
//!   from the slab (`Slab::new_starting_at(Token(1), ..)`, grown with `insert_grow`, so the
//!   server never drops a connection because the slab was full). A token carries its slot's
//!   generation, so an event or timeout for a closed connection never reaches the connection
//!   that reuses its slot.
//! * `type Timeout = Token`: each connection has one idle timer carrying its token, re-armed
//!   after every event on it (in [`touch_idle_timer`], the one place that knows how) and
//!   cancelled when it closes. When it fires, the connection is closed.
//! * Connections are registered once, edge-triggered, for readable and writable. Each event
//!   runs [`Connection::drive`]: answer what is buffered, write, read. Reads use
//!   [`TryReadStream`]: a short read proves the socket's queue was drained, so the loop waits
//!   for the next event instead of making the read that would only return `WouldBlock`.
//!   (When the event says hup or error, it reads on to the end, as the rule requires.)
//! * A response the socket cannot take at once stays in the connection's output buffer until
//!   the writable edge; while more than [`OUTPUT_BUDGET`] bytes wait, the connection reads
//!   and parses nothing more, so a client that does not read cannot make the server buffer
//!   without bound, and no byte is lost.
//! * Closing after a response (`Connection: close`, `QUIT`, a bad request) writes
//!   everything, shuts the write side down, and waits for the peer's FIN (or the idle
//!   timeout) before dropping the socket: closing with unread input would make the kernel
//!   send a reset, which can destroy the last response before the client reads it.
//! * `--loops N` runs N such loops on N threads, each with its own listener on the same port
//!   (`SO_REUSEPORT`, through [`TcpBuilder`]): the kernel spreads connections among them.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use ferrio::prelude::*;
use ferrio::tcp::FdReserve;

use crate::protocol::Protocol;

/// The listener's token; connection tokens start at 1.
pub const LISTENER: Token = Token(0);
const FIRST_CONNECTION: Token = Token(1);
/// Free room kept in a connection's input buffer for the next read.
const READ_ROOM: usize = 16 * 1024;
/// Unsent output above which a connection stops reading and parsing (backpressure).
pub const OUTPUT_BUDGET: usize = 256 * 1024;
/// Unparsed input above which a connection is closed (the protocols' own limits are lower,
/// except for pathological multibulk commands).
const MAX_INPUT: usize = 128 * 1024 * 1024;
/// Buffers that grew past this (a large value) are shrunk back once empty.
const SHRINK_ABOVE: usize = 1024 * 1024;

/// Settings of a server.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Event loops (threads), each with its own `SO_REUSEPORT` listener.
    pub loops: usize,
    /// A connection with no event for this long is closed.
    pub idle_ms: u64,
}

/// What the loops did, summed.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub accepted: u64,
    pub closed: u64,
    pub idle_closed: u64,
}

/// A message to a loop.
#[derive(Debug)]
pub enum Control {
    Shutdown,
}

/// One client connection.
pub struct Connection<P> {
    stream: TcpStream,
    /// Bytes received and not yet consumed by the protocol.
    input: Vec<u8>,
    /// Responses not yet written: `output[written..]`.
    output: Vec<u8>,
    written: usize,
    proto: P,
    timer: Option<Timeout>,
    /// The protocol asked to close: write everything, then half-close.
    closing: bool,
    /// Our write side is shut down; waiting for the peer's FIN.
    write_shut: bool,
    /// The peer closed its write side.
    peer_closed: bool,
    /// Reading stopped without proof that the socket's queue was drained (the output backed
    /// up): the next event must read even if it only says writable.
    read_pending: bool,
}

/// What the handler does with a connection after an event.
pub enum Next {
    Open,
    Close,
}

impl<P: Protocol> Connection<P> {
    fn new(stream: TcpStream) -> Connection<P> {
        Connection {
            stream,
            input: Vec::with_capacity(READ_ROOM),
            output: Vec::new(),
            written: 0,
            proto: P::default(),
            timer: None,
            closing: false,
            write_shut: false,
            peer_closed: false,
            read_pending: false,
        }
    }

    /// Handles one readiness event: answers, writes and reads until the socket's queue is
    /// drained, the output backs up, or the connection is done.
    pub fn drive(&mut self, shared: &P::Shared, events: EventSet) -> io::Result<Next> {
        // With hup or error in the event, a short read may have stopped at the FIN whose
        // edge this event is: read on to the end instead of trusting it.
        let trust_short_read = !events.is_hup() && !events.is_error();
        // A writable-only event needs no read unless reading was cut short: the last read
        // proved the queue drained, so new data brings a readable event. (Besides saving the
        // syscall, this keeps the poll(2) backend quiet: its edge emulation re-arms every
        // direction after any IO call, so a read on each writable report would make the
        // always-writable socket report again at once.)
        let mut drained = !(events.is_readable() || !trust_short_read || self.read_pending);
        loop {
            let answered = if self.closing {
                self.input.clear(); // lingering: what comes after the last answer is ignored
                false
            } else {
                !self.input.is_empty() && self.answer(shared)
            };
            if self.flush()? {
                if answered {
                    // The protocol answered, or the budget held it back; complete requests
                    // may be left in the buffer and no event will come for them: answer on.
                    continue;
                }
                if self.peer_closed {
                    return Ok(Next::Close);
                }
                if self.closing && !self.write_shut {
                    // Everything is written: send our FIN, then wait for the peer's.
                    let _ = self.stream.shutdown(Shutdown::Write);
                    self.write_shut = true;
                }
            } else if self.closing || self.peer_closed || self.pending() >= OUTPUT_BUDGET {
                self.read_pending = !drained;
                return Ok(Next::Open); // the writable edge resumes us
            }
            if drained || self.peer_closed {
                self.read_pending = false;
                return Ok(Next::Open);
            }
            if self.input.len() > MAX_INPUT {
                return Ok(Next::Close);
            }
            if self.input.capacity() - self.input.len() < READ_ROOM / 2 {
                self.input.reserve(READ_ROOM);
            }
            match self.stream.try_read_stream_buf(&mut self.input)? {
                StreamRead::Filled(_) => {}
                StreamRead::Drained(_) => drained = trust_short_read,
                StreamRead::WouldBlock => drained = true,
                StreamRead::Eof => self.peer_closed = true,
            }
        }
    }

    /// Lets the protocol answer the buffered requests, up to the output budget. Returns
    /// whether another call after the output is written may answer more: it consumed
    /// something, or the budget stopped it.
    fn answer(&mut self, shared: &P::Shared) -> bool {
        let budget = self.written + OUTPUT_BUDGET;
        let served = self
            .proto
            .serve(shared, &self.input, &mut self.output, budget);
        self.input.drain(..served.consumed);
        if served.close {
            self.closing = true;
            self.input.clear();
        }
        if self.input.is_empty() && self.input.capacity() > SHRINK_ABOVE {
            self.input = Vec::with_capacity(READ_ROOM);
        }
        served.consumed > 0 || (!self.input.is_empty() && self.output.len() >= budget)
    }

    fn pending(&self) -> usize {
        self.output.len() - self.written
    }

    /// Writes buffered output until done (`true`) or the socket is full (`false`).
    fn flush(&mut self) -> io::Result<bool> {
        while self.written < self.output.len() {
            match self.stream.try_write(&self.output[self.written..])? {
                Some(0) => return Err(io::ErrorKind::WriteZero.into()),
                Some(n) => self.written += n,
                None => return Ok(false),
            }
        }
        self.output.clear();
        self.written = 0;
        if self.output.capacity() > SHRINK_ABOVE {
            self.output = Vec::new();
        }
        Ok(true)
    }
}

/// The handler of one loop.
pub struct Server<P: Protocol> {
    listener: TcpListener,
    /// A spare fd, so that running out of fds sheds connections instead of stalling accept.
    reserve: FdReserve,
    connections: Slab<Connection<P>>,
    shared: Arc<P::Shared>,
    idle_ms: u64,
    stats: Stats,
}

/// (Re)arms a connection's idle timer; `false` if the timer is full. Pushing a pending
/// deadline later is one `reset_timeout_ms` (it only updates the entry); a new timeout is set
/// only when there is none or it already fired.
fn touch_idle_timer<P: Protocol>(
    event_loop: &mut EventLoop<Server<P>>,
    timer: &mut Option<Timeout>,
    token: Token,
    idle_ms: u64,
) -> bool {
    if let Some(pending) = *timer {
        if event_loop.reset_timeout_ms(pending, idle_ms) {
            return true;
        }
    }
    match event_loop.timeout_ms(token, idle_ms) {
        Ok(timeout) => {
            *timer = Some(timeout);
            true
        }
        Err(_) => false,
    }
}

impl<P: Protocol> Server<P> {
    fn accept(&mut self, event_loop: &mut EventLoop<Server<P>>) {
        loop {
            let stream = match self.listener.accept_or_shed(&mut self.reserve) {
                Ok(Some((stream, _peer))) => stream,
                Ok(None) => return,
                Err(e) => {
                    // Out of fds (the backlog was shed) or a listener error: wait for the
                    // next connection.
                    eprintln!("accept: {e}");
                    return;
                }
            };
            let _ = stream.set_nodelay(true);
            let Ok(token) = self.connections.insert_grow(Connection::new(stream)) else {
                continue; // 2^32 connections: refused (dropping closes it)
            };
            let conn = &mut self.connections[token];
            let interest = EventSet::readable() | EventSet::writable();
            let ok = event_loop
                .register(&conn.stream, token, interest, PollOpt::edge())
                .is_ok()
                && touch_idle_timer(event_loop, &mut conn.timer, token, self.idle_ms);
            if !ok {
                // Without a registration or an idle timer the connection cannot be served
                // as promised: refuse it.
                self.close(event_loop, token);
                continue;
            }
            self.stats.accepted += 1;
        }
    }

    fn close(&mut self, event_loop: &mut EventLoop<Server<P>>, token: Token) {
        if let Some(conn) = self.connections.remove(token) {
            if let Some(timer) = conn.timer {
                // False if it already fired: nothing to cancel then.
                let _ = event_loop.clear_timeout(timer);
            }
            self.stats.closed += 1;
            // Dropping the stream deregisters and closes it.
        }
    }
}

impl<P: Protocol> Handler for Server<P> {
    type Timeout = Token;
    type Message = Control;

    fn ready(&mut self, event_loop: &mut EventLoop<Server<P>>, token: Token, events: EventSet) {
        if token == LISTENER {
            self.accept(event_loop);
            return;
        }
        let Some(conn) = self.connections.get_mut(token) else {
            return; // an event for a connection closed earlier in this batch
        };
        // An IO error (a reset, say) ends the connection like a close.
        let next = conn.drive(&self.shared, events).unwrap_or(Next::Close);
        let keep = match next {
            Next::Open => touch_idle_timer(event_loop, &mut conn.timer, token, self.idle_ms),
            Next::Close => false,
        };
        if !keep {
            self.close(event_loop, token);
        }
    }

    fn timeout(&mut self, event_loop: &mut EventLoop<Server<P>>, token: Token) {
        if let Some(conn) = self.connections.get_mut(token) {
            conn.timer = None; // fired: nothing to cancel
            self.stats.idle_closed += 1;
            self.close(event_loop, token);
        }
    }

    fn notify(&mut self, event_loop: &mut EventLoop<Server<P>>, msg: Control) {
        match msg {
            Control::Shutdown => event_loop.shutdown(),
        }
    }
}

/// Running loops: their address, and how to stop them.
pub struct Running {
    pub addr: SocketAddr,
    senders: Vec<Sender<Control>>,
    threads: Vec<thread::JoinHandle<io::Result<Stats>>>,
}

impl Running {
    /// Stops every loop and sums their statistics.
    pub fn stop(self) -> io::Result<Stats> {
        for sender in &self.senders {
            let _ = sender.send(Control::Shutdown);
        }
        self.join()
    }

    /// Waits for the loops (forever, unless one fails).
    pub fn join(self) -> io::Result<Stats> {
        let mut total = Stats::default();
        for thread in self.threads {
            let stats = thread
                .join()
                .map_err(|_| io::Error::other("a server loop panicked"))??;
            total.accepted += stats.accepted;
            total.closed += stats.closed;
            total.idle_closed += stats.idle_closed;
        }
        Ok(total)
    }
}

/// `loops` listeners on one port: the first binds `addr` (possibly port 0), the others join it
/// with `SO_REUSEPORT`.
#[cfg(unix)]
fn bind_listeners(addr: SocketAddr, loops: usize) -> io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::with_capacity(loops);
    let mut bound = addr;
    for _ in 0..loops {
        let listener = TcpBuilder::for_addr(&bound)?
            .reuse_address(true)?
            .reuse_port(loops > 1)?
            .bind(&bound)?
            .listen(1024)?;
        bound = listener.local_addr()?;
        listeners.push(listener);
    }
    Ok(listeners)
}

/// Windows has no `SO_REUSEPORT`: one listener, and a duplicate of it (`try_clone`) for each
/// further loop; every loop is told of each connection and one of them accepts it.
#[cfg(windows)]
fn bind_listeners(addr: SocketAddr, loops: usize) -> io::Result<Vec<TcpListener>> {
    let first = TcpBuilder::for_addr(&addr)?.bind(&addr)?.listen(1024)?;
    let mut listeners = Vec::with_capacity(loops);
    for _ in 1..loops {
        listeners.push(first.try_clone()?);
    }
    listeners.insert(0, first);
    Ok(listeners)
}

/// Binds `options.loops` listeners on `addr` (one port: the first binds, possibly port 0,
/// the others join it with `SO_REUSEPORT`) and runs one loop per listener on its own thread.
pub fn start<P: Protocol>(
    addr: SocketAddr,
    options: Options,
    shared: Arc<P::Shared>,
) -> io::Result<Running> {
    let loops = options.loops.max(1);
    let listeners = bind_listeners(addr, loops)?;
    let bound = listeners[0].local_addr()?;
    let mut senders = Vec::with_capacity(loops);
    let mut threads = Vec::with_capacity(loops);
    for (i, listener) in listeners.into_iter().enumerate() {
        let (ready_tx, ready_rx) = mpsc::channel();
        let shared = Arc::clone(&shared);
        let thread = thread::Builder::new().name(format!("loop-{i}")).spawn(
            move || -> io::Result<Stats> {
                let mut event_loop = EventLoop::new()?;
                event_loop.register(&listener, LISTENER, EventSet::readable(), PollOpt::edge())?;
                let _ = ready_tx.send(event_loop.try_channel()?);
                let mut server = Server::<P> {
                    listener,
                    reserve: FdReserve::new()?,
                    connections: Slab::new_starting_at(FIRST_CONNECTION, 1024),
                    shared,
                    idle_ms: options.idle_ms,
                    stats: Stats::default(),
                };
                event_loop.run(&mut server)?;
                Ok(server.stats)
            },
        )?;
        match ready_rx.recv() {
            Ok(sender) => senders.push(sender),
            Err(_) => {
                // The thread failed before it could run: report its error.
                return Err(thread
                    .join()
                    .map_err(|_| io::Error::other("a server loop panicked"))?
                    .err()
                    .unwrap_or_else(|| io::Error::other("a server loop exited")));
            }
        }
        threads.push(thread);
    }
    Ok(Running {
        addr: bound,
        senders,
        threads,
    })
}

/// The command line: `[ADDR] [--loops N] [--idle-ms MS]`.
pub fn parse_args(name: &str) -> io::Result<(Option<SocketAddr>, Options)> {
    let usage = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("usage: {name} [ADDR] [--loops N] [--idle-ms MS]"),
        )
    };
    let mut addr = None;
    let mut options = Options {
        loops: 1,
        idle_ms: 10_000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--loops" => {
                options.loops = args.next().and_then(|n| n.parse().ok()).ok_or_else(usage)?;
                if options.loops == 0 {
                    return Err(usage());
                }
            }
            "--idle-ms" => {
                options.idle_ms = args.next().and_then(|n| n.parse().ok()).ok_or_else(usage)?;
            }
            other if addr.is_none() && !other.starts_with('-') => {
                addr = Some(other.parse().map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("bad address {other:?}: {e}"),
                    )
                })?);
            }
            _ => return Err(usage()),
        }
    }
    Ok((addr, options))
}

/// Serves `addr` until killed.
pub fn serve_forever<P: Protocol>(
    name: &str,
    addr: SocketAddr,
    options: Options,
) -> io::Result<()> {
    let running = start::<P>(addr, options, Arc::default())?;
    println!(
        "{name} listening on {} ({} loop{}, idle timeout {} ms)",
        running.addr,
        options.loops,
        if options.loops == 1 { "" } else { "s" },
        options.idle_ms
    );
    running.join().map(drop)
}
