//! An echo server on the `EventLoop` that shuts down cleanly on SIGINT or SIGTERM and counts
//! SIGHUPs ("reload"), with `ferrio::signal::Signals` registered like any other source.
//!
//! ```sh
//! cargo run --release --example signals -- 127.0.0.1:9000   # serve until Ctrl-C / kill
//! cargo run --release --example signals                     # self-check and measurements
//! ```
//!
//! Shutting down cleanly means: stop accepting (the listener is closed at once, so new
//! connections are refused), let every open connection finish (its client half-closes, the
//! server echoes the rest and closes), then return from `run`. A second SIGINT/SIGTERM, or a
//! five-second grace period, closes whatever is still open.
//!
//! The self-check serves 20 clients, measures the latency from `kill` to the `ready` callback
//! (against a pipe write to the same loop as the baseline), how many signals per second the
//! process takes with a ferrio source attached (against a bare `sigaction` counter), then sends
//! itself SIGTERM while every client still has data in flight, and checks that each got all
//! its bytes back and then end of file, and that the port refuses new connections. It exits 0
//! if all of that held, 1 otherwise.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ferrio::buf::RingBuf;
use ferrio::signal::Signals;
use ferrio::tcp::{TcpListener, TcpStream};
use ferrio::unix::{pipe, PipeReader};
use ferrio::util::Slab;
use ferrio::{EventLoop, EventSet, Handler, PollOpt, Token};

const LISTENER: Token = Token(0);
const SIGNALS: Token = Token(1);
const PIPE: Token = Token(2);
const FIRST_CONNECTION: Token = Token(3);
const RING: usize = 16 * 1024;
const GRACE: Duration = Duration::from_secs(5);

struct Connection {
    stream: TcpStream,
    ring: RingBuf<RING>,
    read_closed: bool,
}

impl Connection {
    /// Reads and echoes until the socket would block; `Ok(false)` once it is finished.
    fn drive(&mut self, echoed: &mut u64) -> io::Result<bool> {
        loop {
            while !self.ring.is_empty() {
                match self.ring.write_to(&mut self.stream)? {
                    Some(n) => *echoed += n as u64,
                    None => return Ok(true), // a writable edge follows
                }
            }
            if self.read_closed {
                return Ok(false);
            }
            match self.ring.read_from(&mut self.stream)? {
                Some(0) => self.read_closed = true,
                Some(_) => {}
                None => return Ok(true),
            }
        }
    }
}

/// What the self-check's driver thread and the loop share.
#[derive(Default)]
struct Probe {
    /// Nanoseconds since `origin` when the driver sent the signal or wrote the byte.
    sent_at: AtomicU64,
    /// Callbacks seen for SIGHUP / the pipe / SIGUSR1 (the loop increments them).
    hups: AtomicUsize,
    pipe_bytes: AtomicUsize,
    usr1: AtomicUsize,
}

struct Server {
    listener: Option<TcpListener>,
    signals: Signals,
    connections: Slab<Connection>,
    stopping: bool,
    echoed: u64,
    accepted: usize,
    /// Self-check only: the baseline pipe and the shared probe, and the measured latencies.
    pipe: Option<PipeReader>,
    probe: Option<(Arc<Probe>, Instant)>,
    signal_latency_ns: Vec<u64>,
    pipe_latency_ns: Vec<u64>,
}

impl Server {
    fn latency(&self) -> Option<u64> {
        let (probe, origin) = self.probe.as_ref()?;
        let now = origin.elapsed().as_nanos() as u64;
        Some(now.saturating_sub(probe.sent_at.load(Ordering::Acquire)))
    }

    fn stop(&mut self, event_loop: &mut EventLoop<Server>, why: &str) {
        if self.stopping {
            println!(
                "signals: second {why}: closing {} connections now",
                self.connections.count()
            );
            self.connections.clear();
            event_loop.shutdown();
            return;
        }
        println!(
            "signals: {why}: no longer accepting; waiting for {} connections to finish",
            self.connections.count()
        );
        self.stopping = true;
        // Dropping the listener deregisters and closes it: new connections are refused.
        self.listener = None;
        // Never cleared: the loop ends when the last connection closes or when it fires.
        let _grace = event_loop.timeout((), GRACE).unwrap();
        if self.connections.is_empty() {
            event_loop.shutdown();
        }
    }

    fn accept(&mut self, event_loop: &mut EventLoop<Server>) {
        let Some(listener) = &self.listener else {
            return;
        };
        loop {
            match listener.accept() {
                Ok(Some((stream, _))) => {
                    let conn = Connection {
                        stream,
                        ring: RingBuf::new(),
                        read_closed: false,
                    };
                    let Ok(token) = self.connections.insert_grow(conn) else {
                        continue; // full: dropping the stream refuses it
                    };
                    let conn = self.connections.get(token).unwrap();
                    if let Err(e) = event_loop.register(
                        &conn.stream,
                        token,
                        EventSet::readable() | EventSet::writable(),
                        PollOpt::edge(),
                    ) {
                        eprintln!("register: {e}");
                        self.connections.remove(token);
                        continue;
                    }
                    self.accepted += 1;
                }
                Ok(None) => return,
                Err(e) => {
                    eprintln!("accept: {e}");
                    return;
                }
            }
        }
    }
}

impl Handler for Server {
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<Server>, token: Token, _: EventSet) {
        match token {
            LISTENER => self.accept(event_loop),
            SIGNALS => {
                let latency = self.latency();
                let pending = match self.signals.pending() {
                    Ok(pending) => pending,
                    Err(e) => {
                        eprintln!("signals: {e}");
                        return;
                    }
                };
                for signo in pending {
                    match signo {
                        libc::SIGINT => self.stop(event_loop, "SIGINT"),
                        libc::SIGTERM => self.stop(event_loop, "SIGTERM"),
                        libc::SIGHUP => {
                            if let (Some((probe, _)), Some(ns)) = (&self.probe, latency) {
                                if self.signal_latency_ns.len() < self.signal_latency_ns.capacity()
                                {
                                    self.signal_latency_ns.push(ns);
                                }
                                probe.hups.fetch_add(1, Ordering::Release);
                            } else {
                                println!("signals: SIGHUP: reload (nothing to reload here)");
                            }
                        }
                        libc::SIGUSR1 => {
                            if let Some((probe, _)) = &self.probe {
                                probe.usr1.fetch_add(1, Ordering::Release);
                            }
                        }
                        _ => {}
                    }
                }
            }
            PIPE => {
                let latency = self.latency();
                let mut buf = [0u8; 64];
                let n = match self.pipe.as_ref().map(|mut p| p.read(&mut buf)) {
                    Some(Ok(n)) => n,
                    _ => return,
                };
                if let (Some((probe, _)), Some(ns)) = (&self.probe, latency) {
                    if n > 0 {
                        if self.pipe_latency_ns.len() < self.pipe_latency_ns.capacity() {
                            self.pipe_latency_ns.push(ns);
                        }
                        probe.pipe_bytes.fetch_add(n, Ordering::Release);
                    }
                }
            }
            token => {
                let Some(conn) = self.connections.get_mut(token) else {
                    return;
                };
                let open = conn.drive(&mut self.echoed).unwrap_or_else(|e| {
                    eprintln!("connection {token:?}: {e}");
                    false
                });
                if !open {
                    self.connections.remove(token);
                    if self.stopping && self.connections.is_empty() {
                        event_loop.shutdown();
                    }
                }
            }
        }
    }

    fn timeout(&mut self, event_loop: &mut EventLoop<Server>, _: ()) {
        println!(
            "signals: grace period over: closing {} connections",
            self.connections.count()
        );
        self.connections.clear();
        event_loop.shutdown();
    }
}

fn new_server(addr: SocketAddr) -> io::Result<(EventLoop<Server>, Server, SocketAddr)> {
    let mut event_loop = EventLoop::new()?;
    let listener = TcpListener::bind(&addr)?;
    let local = listener.local_addr()?;
    let signals = Signals::new([libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1])?;
    event_loop.register(&listener, LISTENER, EventSet::readable(), PollOpt::edge())?;
    event_loop.register(&signals, SIGNALS, EventSet::readable(), PollOpt::edge())?;
    let server = Server {
        listener: Some(listener),
        signals,
        connections: Slab::new_starting_at(FIRST_CONNECTION, 1024),
        stopping: false,
        echoed: 0,
        accepted: 0,
        pipe: None,
        probe: None,
        signal_latency_ns: Vec::new(),
        pipe_latency_ns: Vec::new(),
    };
    Ok((event_loop, server, local))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let result = match args.next() {
        Some(addr) => serve(&addr),
        None => self_check(),
    };
    if let Err(e) = result {
        eprintln!("signals: FAILED: {e}");
        std::process::exit(1);
    }
}

fn serve(addr: &str) -> io::Result<()> {
    let addr = addr
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{addr}: {e}")))?;
    let (mut event_loop, mut server, local) = new_server(addr)?;
    println!("signals: echo server on {local}; SIGINT or SIGTERM stops it, SIGHUP reloads");
    event_loop.run(&mut server)?;
    println!(
        "signals: stopped cleanly: {} connections, {} bytes echoed",
        server.accepted, server.echoed
    );
    Ok(())
}

// --- the self-check ---------------------------------------------------------------------------

const CLIENTS: usize = 20;
const CLIENT_BYTES: usize = 64 * 1024;
const LATENCY_ROUNDS: usize = 2_000;
const BLAST: u64 = 50_000;
/// Repetitions of the throughput measurement, interleaved with the baseline's.
const REPS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn fail(msg: impl Into<String>) -> io::Error {
    io::Error::other(msg.into())
}

fn kill_self(signo: i32) {
    // SAFETY: kill with our own pid and a signal the server (or the baseline) handles.
    unsafe { libc::kill(libc::getpid(), signo) };
}

/// Waits (bounded) until `counter` exceeds `before`.
fn wait_above(counter: &AtomicUsize, before: usize, what: &str) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while counter.load(Ordering::Acquire) <= before {
        if Instant::now() > deadline {
            return Err(fail(format!("{what} never reached the loop")));
        }
        thread::yield_now();
    }
    Ok(())
}

fn pattern(i: usize, byte: usize) -> u8 {
    (i * 31 + byte % 251) as u8
}

static BARE_COUNT: AtomicUsize = AtomicUsize::new(0);

extern "C" fn bare_handler(_: libc::c_int) {
    BARE_COUNT.fetch_add(1, Ordering::Relaxed);
}

fn self_check() -> io::Result<()> {
    let (mut event_loop, mut server, addr) = new_server("127.0.0.1:0".parse().unwrap())?;
    let (pipe_reader, mut pipe_writer) = pipe()?;
    event_loop.register(&pipe_reader, PIPE, EventSet::readable(), PollOpt::edge())?;
    let probe = Arc::new(Probe::default());
    let origin = Instant::now();
    server.pipe = Some(pipe_reader);
    server.probe = Some((Arc::clone(&probe), origin));
    server.signal_latency_ns.reserve_exact(LATENCY_ROUNDS);
    server.pipe_latency_ns.reserve_exact(LATENCY_ROUNDS);

    let driver = thread::spawn(move || -> io::Result<String> {
        let mut report = String::new();
        // 1. Clients connect and get their first half echoed.
        let mut clients = Vec::new();
        for i in 0..CLIENTS {
            let mut c = std::net::TcpStream::connect(addr)?;
            c.set_read_timeout(Some(Duration::from_secs(10)))?;
            let data: Vec<u8> = (0..CLIENT_BYTES / 2).map(|b| pattern(i, b)).collect();
            c.write_all(&data)?;
            let mut back = vec![0u8; data.len()];
            c.read_exact(&mut back)?;
            if back != data {
                return Err(fail(format!("client {i}: wrong echo")));
            }
            clients.push(c);
        }

        // 2. Latency, alternating the signal and the baseline pipe byte.
        for _ in 0..LATENCY_ROUNDS {
            let before = probe.hups.load(Ordering::Acquire);
            probe
                .sent_at
                .store(origin.elapsed().as_nanos() as u64, Ordering::Release);
            kill_self(libc::SIGHUP);
            wait_above(&probe.hups, before, "SIGHUP")?;
            let before = probe.pipe_bytes.load(Ordering::Acquire);
            probe
                .sent_at
                .store(origin.elapsed().as_nanos() as u64, Ordering::Release);
            pipe_writer.write_all(b"x")?;
            wait_above(&probe.pipe_bytes, before, "the pipe byte")?;
        }

        // 3. Throughput: blasts of SIGUSR1 while the loop takes them, interleaved with blasts
        //    of SIGUSR2 into a bare counting handler (no ferrio) as the baseline; medians.
        // SAFETY: a zeroed sigaction is valid; the handler has the one-argument signature.
        let mut bare: libc::sigaction = unsafe { std::mem::zeroed() };
        bare.sa_sigaction = bare_handler as extern "C" fn(libc::c_int) as usize;
        bare.sa_flags = libc::SA_RESTART;
        // SAFETY: valid pointers.
        unsafe { libc::sigaction(libc::SIGUSR2, &bare, std::ptr::null_mut()) };
        let blast = |signo: i32| {
            let started = Instant::now();
            for _ in 0..BLAST {
                kill_self(signo);
            }
            started.elapsed()
        };
        let (mut ferrio, mut baseline, mut ratios, mut takes) = (vec![], vec![], vec![], 0);
        for _ in 0..REPS {
            let before = probe.usr1.load(Ordering::Acquire);
            let f = blast(libc::SIGUSR1);
            wait_above(&probe.usr1, before, "SIGUSR1")?;
            takes += probe.usr1.load(Ordering::Acquire) - before;
            let b = blast(libc::SIGUSR2);
            ferrio.push(BLAST as f64 / f.as_secs_f64());
            baseline.push(BLAST as f64 / b.as_secs_f64());
            ratios.push(f.as_secs_f64() / b.as_secs_f64());
        }
        if BARE_COUNT.load(Ordering::Relaxed) == 0 {
            return Err(fail("the bare handler never ran"));
        }
        report.push_str(&format!(
            "signals per second (kill to self, the handler runs; median of {REPS} interleaved \
             blasts of {BLAST}): with a ferrio source {:.0}/s, bare sigaction counter {:.0}/s \
             (median ratio of times {:.2}); the loop took {} signals in {takes} wake-ups \
             (coalesced)\n",
            median(ferrio),
            median(baseline),
            median(ratios),
            REPS as u64 * BLAST,
        ));

        // 4. SIGTERM with data in flight: every client sends its second half, then the
        //    server is told to stop, then the clients half-close and must get everything back.
        for (i, c) in clients.iter_mut().enumerate() {
            let data: Vec<u8> = (CLIENT_BYTES / 2..CLIENT_BYTES)
                .map(|b| pattern(i, b))
                .collect();
            c.write_all(&data)?;
        }
        kill_self(libc::SIGTERM);
        for (i, mut c) in clients.into_iter().enumerate() {
            c.shutdown(Shutdown::Write)?;
            let mut back = Vec::new();
            c.read_to_end(&mut back)?;
            let want: Vec<u8> = (CLIENT_BYTES / 2..CLIENT_BYTES)
                .map(|b| pattern(i, b))
                .collect();
            if back != want {
                return Err(fail(format!(
                    "client {i}: {} of {} bytes echoed after SIGTERM",
                    back.len(),
                    want.len()
                )));
            }
        }
        Ok(report)
    });

    let started = Instant::now();
    event_loop.run(&mut server)?;
    let report = driver
        .join()
        .map_err(|_| fail("the driver thread panicked"))??;
    let run_time = started.elapsed();

    // The listener is closed: a new connection is refused.
    match std::net::TcpStream::connect(addr) {
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
        other => return Err(fail(format!("connect after shutdown: {other:?}"))),
    }
    if server.accepted != CLIENTS || !server.connections.is_empty() {
        return Err(fail(format!(
            "accepted {}, still open {}",
            server.accepted,
            server.connections.count()
        )));
    }
    if server.echoed != (CLIENTS * CLIENT_BYTES) as u64 {
        return Err(fail(format!("echoed {} bytes", server.echoed)));
    }

    let summary = |v: &mut Vec<u64>| {
        v.sort_unstable();
        let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)] as f64 / 1000.0;
        (at(0.5), at(0.99))
    };
    let (sig_med, sig_p99) = summary(&mut server.signal_latency_ns);
    let (pipe_med, pipe_p99) = summary(&mut server.pipe_latency_ns);
    println!(
        "signals: {CLIENTS} clients, {} bytes echoed (all in-flight data after SIGTERM too), \
         new connections refused after SIGTERM: ok",
        server.echoed
    );
    println!(
        "latency from kill(SIGHUP) to the ready callback ({} rounds, {} backend): median {sig_med:.1} us, \
         p99 {sig_p99:.1} us; baseline write(pipe) to the callback: median {pipe_med:.1} us, \
         p99 {pipe_p99:.1} us (ratio of medians {:.2})",
        server.signal_latency_ns.len(),
        event_loop.registry().backend(),
        sig_med / pipe_med
    );
    print!("{report}");
    println!(
        "signals: shut down cleanly on SIGTERM ({:.1} s in all)",
        run_time.as_secs_f64()
    );
    Ok(())
}
