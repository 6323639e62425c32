//! Load: 10,000 concurrent TCP connections on one `EventLoop` over loopback, every one
//! echoing a message. No byte lost, no connection dropped; prints the memory per connection.
//!
//! `#[ignore]`d in the normal run: it needs about 20,000 fds (an `RLIMIT_NOFILE` hard limit
//! of at least 10,100 in each of two processes) and 10,000 ephemeral ports. CI runs it as
//! its own step: `cargo test --release --test load -- --ignored --exact
//! ten_thousand_connections_echo_on_one_event_loop --nocapture` (the other `#[ignore]`d test,
//! `load_client_child`, is the client side it runs in a child process).
//!
//! The server (the `EventLoop` under test) runs in the test process; the clients run in a
//! child process (this binary again), so each process holds about 10,000 fds.
//!
//! Linux only: it reads memory figures from `/proc`.
#![cfg(target_os = "linux")]
// Not built on Windows: it raises RLIMIT_NOFILE and checks children for signals (Unix).
#![cfg(unix)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use ferrio::tcp::{TcpListener, TcpStream};
use ferrio::util::Slab;
use ferrio::{EventLoop, EventSet, Events, Handler, Poll, PollOpt, Token};

mod util;

const CONNECTIONS: usize = 10_000;
const MESSAGE: usize = 64;
/// Connects in flight at once on the client side (kept below the listen backlog).
const CONNECTING: usize = 512;
const LISTENER: Token = Token(0);
const ADDR_ENV: &str = "FERRIO_LOAD_SERVER";

// --- a per-thread counter of live heap bytes ---

struct CountingAlloc;

thread_local! {
    static LIVE: Cell<Option<isize>> = const { Cell::new(None) };
}

fn add(delta: isize) {
    let _ = LIVE.try_with(|c| {
        if let Some(n) = c.get() {
            c.set(Some(n + delta));
        }
    });
}

// SAFETY: forwards every call unchanged to the system allocator; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        // SAFETY: `ptr` was allocated by `System` through `alloc` above with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        // SAFETY: the caller upholds `realloc`'s contract, which we pass on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn raise_fd_limit(need: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit to fill in.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    assert!(
        lim.rlim_max >= need,
        "this test needs an RLIMIT_NOFILE hard limit of at least {need} (it is {}); \
         raise it (ulimit -Hn)",
        lim.rlim_max
    );
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: `lim` is a valid rlimit; raising the soft limit up to the hard one is allowed.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The `mem` field of the `TCP:` line of `/proc/net/sockstat` (pages, system-wide).
fn kernel_tcp_pages() -> u64 {
    let stat = std::fs::read_to_string("/proc/net/sockstat").unwrap_or_default();
    let line = stat.lines().find(|l| l.starts_with("TCP:")).unwrap_or("");
    let mut words = line.split_whitespace();
    while let Some(w) = words.next() {
        if w == "mem" {
            return words.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        }
    }
    0
}

/// The message connection `i` sends (and expects back).
fn message(i: usize) -> [u8; MESSAGE] {
    let mut m = [0u8; MESSAGE];
    for (k, b) in m.iter_mut().enumerate() {
        *b = ((i * 31 + k * 7) % 251) as u8;
    }
    m[..8].copy_from_slice(&(i as u64).to_le_bytes());
    m
}

// --- the server: an EventLoop with its connections in a preallocated Slab ---

struct Conn {
    stream: TcpStream,
    buf: [u8; MESSAGE * 2],
    len: usize,
}

struct Server {
    listener: TcpListener,
    conns: Slab<Conn>,
    accepted: usize,
    closed: usize,
    reset: usize,
    echoed: u64,
    peak: usize,
    /// Live heap bytes and RSS of the loop thread when the peak was first reached.
    /// (and the kernel's TCP memory in pages, from `/proc/net/sockstat`).
    at_peak: Option<(isize, u64, u64)>,
}

impl Server {
    fn accept_all(&mut self, event_loop: &mut EventLoop<Server>) {
        while let Some((stream, _)) = self.listener.accept().unwrap() {
            let token = self
                .conns
                .insert(Conn {
                    stream,
                    buf: [0; MESSAGE * 2],
                    len: 0,
                })
                .unwrap_or_else(|_| panic!("more than {CONNECTIONS} connections"));
            event_loop
                .register(
                    &self.conns[token].stream,
                    token,
                    EventSet::readable() | EventSet::writable(),
                    PollOpt::edge(),
                )
                .unwrap();
            self.accepted += 1;
            let open = self.conns.count();
            if open > self.peak {
                self.peak = open;
                if open == CONNECTIONS {
                    let live = LIVE.with(Cell::get).unwrap();
                    self.at_peak = Some((live, rss_kib(), kernel_tcp_pages()));
                }
            }
        }
    }

    /// Echoes until the socket would block; returns false when the connection is over.
    fn drive(&mut self, token: Token) -> bool {
        let conn = &mut self.conns[token];
        loop {
            while conn.len > 0 {
                match (&conn.stream).write(&conn.buf[..conn.len]) {
                    Ok(n) => {
                        conn.buf.copy_within(n..conn.len, 0);
                        conn.len -= n;
                        self.echoed += n as u64;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                    Err(_) => {
                        self.reset += 1;
                        return false;
                    }
                }
            }
            match (&conn.stream).read(&mut conn.buf) {
                Ok(0) => return false,
                Ok(n) => conn.len = n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(_) => {
                    self.reset += 1;
                    return false;
                }
            }
        }
    }
}

impl Handler for Server {
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<Server>, token: Token, _: EventSet) {
        if token == LISTENER {
            self.accept_all(event_loop);
            return;
        }
        if !self.conns.contains(token) || self.drive(token) {
            return;
        }
        let conn = self.conns.remove(token).unwrap();
        // A reset instead of a FIN: no TIME_WAIT, so repeated runs do not run out of ports.
        let _ = conn.stream.set_linger(Some(Duration::ZERO));
        drop(conn);
        self.closed += 1;
        if self.closed == CONNECTIONS {
            event_loop.shutdown();
        }
    }
}

#[test]
#[ignore = "needs ~20,000 fds and 10,000 ports; run by its own CI step with --ignored"]
fn ten_thousand_connections_echo_on_one_event_loop() {
    raise_fd_limit(CONNECTIONS as u64 + 100);
    let mut config = ferrio::EventLoopConfig::new();
    config.events_capacity(1024);
    let mut event_loop: EventLoop<Server> = EventLoop::configured(config).unwrap();
    let listener = ferrio::tcp::TcpBuilder::for_addr(&"127.0.0.1:0".parse().unwrap())
        .unwrap()
        .reuse_address(true)
        .unwrap()
        .bind(&"127.0.0.1:0".parse().unwrap())
        .unwrap()
        .listen(4096)
        .unwrap();
    let addr = listener.local_addr().unwrap();
    event_loop
        .register(&listener, LISTENER, EventSet::readable(), PollOpt::edge())
        .unwrap();
    // Everything the application needs per connection is allocated up front.
    let conns = Slab::new_starting_at(Token(1), CONNECTIONS);
    let mut server = Server {
        listener,
        conns,
        accepted: 0,
        closed: 0,
        reset: 0,
        echoed: 0,
        peak: 0,
        at_peak: None,
    };

    let child = util::child_test_command("load_client_child")
        .env(ADDR_ENV, addr.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    let rss_before = rss_kib();
    LIVE.with(|c| c.set(Some(0)));
    event_loop.run(&mut server).unwrap();
    // With every connection closed, the selector state (shared by the loop, its registries and
    // every registered source, here the listener) still holds its deregistration log at its
    // high-water capacity: the records, and a table of tokens indexed by fd number.
    let held_by_selector = LIVE.with(|c| c.get()).unwrap();
    drop(event_loop);
    drop(server.listener);
    // Everything allocated during the run is freed with the selector. (Negative: the run's
    // frees include buffers allocated before counting began.)
    let live_after = LIVE.with(|c| c.replace(None)).unwrap();

    // The server is done; the child's output is small, so reading it all now cannot block on
    // a full pipe.
    let output = child.wait_with_output().unwrap();
    let out = util::check_child_output("load_client_child", &output, "load client: ok");

    assert_eq!(server.accepted, CONNECTIONS);
    assert_eq!(
        server.peak, CONNECTIONS,
        "not all connections were open at once"
    );
    assert_eq!(server.closed, CONNECTIONS);
    assert_eq!(server.reset, 0, "connections were dropped");
    assert_eq!(server.echoed, (CONNECTIONS * MESSAGE) as u64, "bytes lost");
    let (heap_at_peak, rss_at_peak, kernel_tcp_pages) = server.at_peak.unwrap();
    println!("load: {CONNECTIONS} concurrent connections on one EventLoop, all echoed");
    println!(
        "  size_of::<TcpStream>() = {} bytes (the library's per-connection state, inline)",
        std::mem::size_of::<TcpStream>()
    );
    println!(
        "  heap allocated by accept + register at peak: {heap_at_peak} bytes total, {:.2} bytes/connection",
        heap_at_peak as f64 / CONNECTIONS as f64
    );
    println!(
        "  process RSS growth at peak: {} KiB, {:.0} bytes/connection (includes the test's own \
         {}-byte Conn slots and std/kernel-side user pages)",
        rss_at_peak.saturating_sub(rss_before),
        rss_at_peak.saturating_sub(rss_before) as f64 * 1024.0 / CONNECTIONS as f64,
        std::mem::size_of::<Conn>()
    );
    println!(
        "  kernel TCP buffer memory at peak (system-wide, both ends): {} pages",
        kernel_tcp_pages
    );
    println!(
        "  heap bytes held after all closed, while the loop and its listener live: \
         {held_by_selector} (the deregistration log at high water)"
    );
    println!(
        "  heap bytes allocated during the run and still held once they are dropped: {live_after}"
    );
    print!("{out}");
    assert!(
        live_after <= 0,
        "heap bytes leaked by the loop thread: {live_after}"
    );
    // The log's records: at most one 16-byte entry per event of a batch (each connection
    // closes in its own event); its fd table: 8 bytes per fd number, at most doubled by
    // `Vec`'s growth.
    let log_bound = 1024 * 16 + 2 * 8 * (CONNECTIONS + 100);
    assert!(
        held_by_selector <= log_bound as isize,
        "the selector holds {held_by_selector} bytes after all connections closed (bound \
         {log_bound})"
    );
}

/// The client side, run in the child process: opens all connections, keeps every one open
/// until all have their echo, checks every byte, then closes them.
#[test]
#[ignore = "the client child of ten_thousand_connections_echo_on_one_event_loop"]
fn load_client_child() {
    util::child_scenario("load_client_child");
    let addr = std::env::var(ADDR_ENV).expect("the parent sets the server's address");
    let addr: SocketAddr = addr.parse().unwrap();
    raise_fd_limit(CONNECTIONS as u64 + 100);

    struct Client {
        stream: TcpStream,
        connected: bool,
        sent: usize,
        got: [u8; MESSAGE],
        received: usize,
    }
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(1024);
    let mut clients: Vec<Client> = Vec::with_capacity(CONNECTIONS);
    let mut in_flight = 0;
    let mut done = 0;
    let mut polls_without_progress = 0;
    while done < CONNECTIONS {
        while clients.len() < CONNECTIONS && in_flight < CONNECTING {
            let stream = TcpStream::connect(&addr).unwrap();
            let token = Token(clients.len());
            poll.register(
                &stream,
                token,
                EventSet::readable() | EventSet::writable(),
                PollOpt::edge(),
            )
            .unwrap();
            clients.push(Client {
                stream,
                connected: false,
                sent: 0,
                got: [0; MESSAGE],
                received: 0,
            });
            in_flight += 1;
        }
        poll.poll(&mut events, Some(Duration::from_secs(10)))
            .unwrap();
        if events.is_empty() {
            polls_without_progress += 1;
            assert!(polls_without_progress < 6, "the server stopped answering");
            continue;
        }
        polls_without_progress = 0;
        for event in &events {
            let i = event.token().0;
            let c = &mut clients[i];
            if !c.connected {
                if !event.kind().is_writable() && !event.kind().is_error() {
                    continue;
                }
                if let Some(e) = c.stream.take_error().unwrap() {
                    panic!("connection {i} failed: {e}");
                }
                c.connected = true;
                in_flight -= 1;
            }
            let msg = message(i);
            while c.sent < MESSAGE {
                match (&c.stream).write(&msg[c.sent..]) {
                    Ok(n) => c.sent += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("connection {i} write: {e}"),
                }
            }
            while c.received < MESSAGE {
                match (&c.stream).read(&mut c.got[c.received..]) {
                    Ok(0) => panic!("connection {i} closed by the server early"),
                    Ok(n) => {
                        c.received += n;
                        if c.received == MESSAGE {
                            assert_eq!(c.got, msg, "connection {i} got wrong bytes");
                            done += 1;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("connection {i} read: {e}"),
                }
            }
        }
    }
    // All 10,000 are open and echoed; now close them (the server sees end of stream).
    for c in &clients {
        c.stream.shutdown(std::net::Shutdown::Write).unwrap();
    }
    let held = clients.len();
    drop(clients);
    println!("load client: ok ({held} connections held at once, {done} echoes verified)");
}
