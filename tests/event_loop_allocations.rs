//! The `EventLoop`'s steady state makes no allocation. After a warm-up, each of these makes
//! exactly 0 allocations, counted per thread by a counting global allocator:
//!
//! * 10,000 TCP ping-pong round trips between a client and a server on one loop;
//! * 100,000 messages from a producer thread through the loop's channel to `notify` (the
//!   loop thread and the producer thread are both counted);
//! * 100,000 timeout cycles (set two, clear one, fire one; and push one back).
//!
//! And timer storage grows on demand: the first timeout of a loop allocates a few KiB, not room
//! for `timer_capacity` timeouts, even with a huge capacity.
//!
//! Counting is per thread, so the test harness's other threads do not disturb the counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use ferrio::tcp::{TcpListener, TcpStream};
use ferrio::{EventLoop, EventSet, Events, Handler, NotifyError, Poll, PollOpt, Token, TryRead};

struct CountingAlloc;

thread_local! {
    /// Allocations made by this thread while counting is on (no destructor: no allocation).
    static COUNT: Cell<Option<usize>> = const { Cell::new(None) };
    /// Bytes this thread asked for while counting is on.
    static BYTES: Cell<usize> = const { Cell::new(0) };
}

fn record(bytes: usize) {
    COUNT.with(|c| {
        if let Some(n) = c.get() {
            c.set(Some(n + 1));
            BYTES.with(|b| b.set(b.get() + bytes));
        }
    });
}

// SAFETY: forwards every call unchanged to the system allocator; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` through `alloc` above with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: the caller upholds `realloc`'s contract, which we pass on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Runs `f` and returns how many allocations this thread made meanwhile.
fn count_allocations(f: impl FnOnce()) -> usize {
    count_bytes(f).0
}

/// Runs `f` and returns how many allocations this thread made meanwhile, and their bytes.
fn count_bytes(f: impl FnOnce()) -> (usize, usize) {
    BYTES.with(|b| b.set(0));
    COUNT.with(|c| c.set(Some(0)));
    f();
    let n = COUNT.with(|c| c.replace(None)).unwrap();
    (n, BYTES.with(Cell::get))
}

/// A watchdog for every loop below: a hang fails the test instead.
const WATCHDOG: Duration = Duration::from_secs(30);

// ---- (a) TCP ping-pong ----

const SERVER: Token = Token(0);
const CLIENT: Token = Token(1);
const PING: usize = 8;

/// The client sends an 8-byte ping; the server echoes it; the client counts a round trip
/// when the whole echo is back and sends the next ping.
struct PingPong {
    client: TcpStream,
    server: TcpStream,
    /// Bytes of the current echo the client has received.
    echoed: usize,
    round_trips: usize,
    target: usize,
}

impl PingPong {
    fn ping(&mut self) {
        let msg = (self.round_trips as u64).to_le_bytes();
        self.client.write_all(&msg).unwrap();
    }
}

impl Handler for PingPong {
    /// `()`: the watchdog.
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<PingPong>, token: Token, _: EventSet) {
        let mut buf = [0u8; 64];
        match token {
            SERVER => {
                while let Some(n) = self.server.try_read(&mut buf).unwrap() {
                    assert!(n > 0, "client closed");
                    self.server.write_all(&buf[..n]).unwrap();
                }
            }
            CLIENT => {
                while let Some(n) = self.client.try_read(&mut buf).unwrap() {
                    assert!(n > 0, "server closed");
                    self.echoed += n;
                }
                if self.echoed == PING {
                    self.echoed = 0;
                    self.round_trips += 1;
                    if self.round_trips == self.target {
                        event_loop.shutdown();
                    } else {
                        self.ping();
                    }
                }
            }
            _ => unreachable!(),
        }
    }

    fn timeout(&mut self, _: &mut EventLoop<PingPong>, _: ()) {
        panic!("watchdog: {} round trips", self.round_trips);
    }
}

/// A connected `(client, server)` pair.
fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind(&"127.0.0.1:0".parse().unwrap()).unwrap();
    let client = TcpStream::connect(&listener.local_addr().unwrap()).unwrap();
    let mut poll = Poll::new().unwrap();
    poll.register(&listener, Token(0), EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(4);
    for _ in 0..50 {
        if let Some((server, _)) = listener.accept().unwrap() {
            return (client, server);
        }
        poll.poll(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
    }
    panic!("no connection to accept");
}

#[test]
fn tcp_ping_pong_makes_no_allocation() {
    let (client, server) = tcp_pair();
    client.set_nodelay(true).unwrap();
    server.set_nodelay(true).unwrap();
    let mut event_loop = EventLoop::<PingPong>::new().unwrap();
    let _ = event_loop.timeout((), WATCHDOG).unwrap();
    event_loop
        .register(&server, SERVER, EventSet::readable(), PollOpt::edge())
        .unwrap();
    event_loop
        .register(&client, CLIENT, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut handler = PingPong {
        client,
        server,
        echoed: 0,
        round_trips: 0,
        target: 100,
    };
    // Warm-up.
    handler.ping();
    event_loop.run(&mut handler).unwrap();
    assert_eq!(handler.round_trips, 100);

    handler.target = 100 + 10_000;
    handler.ping();
    let allocations = count_allocations(|| event_loop.run(&mut handler).unwrap());
    assert_eq!(handler.round_trips, 10_100);
    assert_eq!(allocations, 0, "10,000 round trips allocated");
}

// ---- (b) messages through notify ----

struct Sink {
    received: u64,
    target: u64,
}

impl Handler for Sink {
    type Timeout = ();
    type Message = u64;

    fn notify(&mut self, event_loop: &mut EventLoop<Sink>, msg: u64) {
        assert_eq!(msg, self.received, "messages out of order");
        self.received += 1;
        if self.received == self.target {
            event_loop.shutdown();
        }
    }

    fn timeout(&mut self, _: &mut EventLoop<Sink>, _: ()) {
        panic!("watchdog: {} messages", self.received);
    }
}

/// Sends `from..to`, retrying (without sleeping) while the channel is full.
fn send_range(tx: &ferrio::Sender<u64>, from: u64, to: u64) {
    for mut msg in from..to {
        loop {
            match tx.send(msg) {
                Ok(()) => break,
                Err(NotifyError::Full(back)) => {
                    msg = back;
                    thread::yield_now();
                }
                Err(e) => panic!("send failed: {e}"),
            }
        }
    }
}

#[test]
fn messages_through_notify_make_no_allocation() {
    const WARM_UP: u64 = 1_000;
    const MESSAGES: u64 = 100_000;
    let mut event_loop = EventLoop::<Sink>::new().unwrap();
    let _ = event_loop.timeout((), WATCHDOG).unwrap();
    let tx = event_loop.channel();
    let mut handler = Sink {
        received: 0,
        target: WARM_UP,
    };
    // Warm-up, through the same threads' paths.
    let warm_tx = tx.clone();
    let warm = thread::spawn(move || send_range(&warm_tx, 0, WARM_UP));
    event_loop.run(&mut handler).unwrap();
    warm.join().unwrap();

    let start = Arc::new(Barrier::new(2));
    let producer = {
        let start = Arc::clone(&start);
        thread::spawn(move || {
            start.wait();
            count_allocations(|| send_range(&tx, WARM_UP, WARM_UP + MESSAGES))
        })
    };
    handler.target = WARM_UP + MESSAGES;
    start.wait();
    let loop_allocations = count_allocations(|| event_loop.run(&mut handler).unwrap());
    let producer_allocations = producer.join().unwrap();
    assert_eq!(handler.received, WARM_UP + MESSAGES);
    assert_eq!(loop_allocations, 0, "the loop thread allocated");
    assert_eq!(producer_allocations, 0, "the producer thread allocated");
}

// ---- (c) timeouts ----

/// What a timeout is for.
#[derive(Debug, PartialEq, Eq)]
enum Purpose {
    /// Set and cleared before it is due.
    Clear,
    /// Set and left to fire.
    Fire,
    Watchdog,
}

/// Runs batches of cycles: each cycle sets a `Clear` timeout (1 s) and a `Fire` timeout
/// (due at once), then clears the first. A new batch starts once the last one has fired.
struct Cycles {
    batch: usize,
    fired: usize,
    pending: usize,
    target: usize,
}

impl Cycles {
    fn start_batch(&mut self, event_loop: &mut EventLoop<Cycles>) {
        for _ in 0..self.batch {
            let clear = event_loop
                .timeout(Purpose::Clear, Duration::from_secs(1))
                .unwrap();
            let fire = event_loop.timeout(Purpose::Fire, Duration::ZERO).unwrap();
            assert!(event_loop.reset_timeout(clear, Duration::from_secs(2)));
            assert!(event_loop.clear_timeout(clear));
            assert!(event_loop.reset_timeout(fire, Duration::ZERO));
        }
        self.pending = self.batch;
    }
}

impl Handler for Cycles {
    type Timeout = Purpose;
    type Message = ();

    fn timeout(&mut self, event_loop: &mut EventLoop<Cycles>, purpose: Purpose) {
        assert_eq!(purpose, Purpose::Fire, "after {} cycles", self.fired);
        self.fired += 1;
        self.pending -= 1;
        if self.fired == self.target {
            event_loop.shutdown();
        }
    }

    fn tick(&mut self, event_loop: &mut EventLoop<Cycles>) {
        if self.pending == 0 && self.fired < self.target {
            self.start_batch(event_loop);
        }
    }
}

#[test]
fn timeout_cycles_make_no_allocation() {
    const WARM_UP: usize = 2_000;
    const CYCLES: usize = 100_000;
    let mut event_loop = EventLoop::<Cycles>::new().unwrap();
    let _ = event_loop.timeout(Purpose::Watchdog, WATCHDOG).unwrap();
    let mut handler = Cycles {
        batch: 1_000,
        fired: 0,
        pending: 0,
        target: WARM_UP,
    };
    handler.start_batch(&mut event_loop);
    event_loop.run(&mut handler).unwrap();

    handler.target = WARM_UP + CYCLES;
    assert_eq!(handler.pending, 0);
    let allocations = count_allocations(|| {
        handler.start_batch(&mut event_loop);
        event_loop.run(&mut handler).unwrap();
    });
    assert_eq!(handler.fired, WARM_UP + CYCLES);
    assert_eq!(allocations, 0, "100,000 timeout cycles allocated");
}

#[test]
fn the_first_timeout_allocates_little_whatever_the_capacity() {
    for capacity in [65_536, 1 << 24, usize::MAX] {
        let mut config = ferrio::EventLoopConfig::new();
        config.timer_capacity(capacity);
        let mut event_loop = EventLoop::<Cycles>::configured(config).unwrap();
        let (_, bytes) = count_bytes(|| {
            let _ = event_loop.timeout(Purpose::Watchdog, WATCHDOG).unwrap();
        });
        assert!(
            bytes <= 64 * 1024,
            "the first timeout allocated {bytes} bytes (timer_capacity {capacity})"
        );
    }
}
