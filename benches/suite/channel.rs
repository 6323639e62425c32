//! Channel throughput: messages per second from 1 and 4 producer threads into one consumer
//! thread that runs an event loop, and the syscalls each message costs.
//!
//! Each producer sends its share of the messages as fast as the channel takes them; the
//! consumer checks that every producer's messages arrive complete and in order. All channels
//! are bounded to [`CAPACITY`] messages; a producer that finds the channel full waits the way
//! that channel offers (see below). The time runs from the moment all threads are ready to
//! the moment the consumer has the last message.
//!
//! Implementations:
//!
//! * **ferrio EventLoop**: messages go through the `EventLoop`'s channel (`Sender::send`) to
//!   `Handler::notify`; the consumer is `EventLoop::run`. A full channel returns `Full`; the
//!   producer yields (`sched_yield`) and retries.
//! * **ferrio channel**: the bare `ferrio::channel` on a `Poll`: drain with `try_recv`; if
//!   `prepare_sleep` says the queue is empty, block in `poll`; then `after_wake`. (It polls
//!   only to sleep; the `EventLoop` also polls, without sleeping, while messages are queued,
//!   since it must serve IO as well.) Full: as above.
//! * **mio+crossbeam**: what a mio 1.x user writes: a `crossbeam-channel` bounded channel
//!   plus a `mio::Waker` on the consumer's `Poll`; every send is followed by `waker.wake()`
//!   (mio's `Waker` does not coalesce: each call writes its eventfd), and the consumer drains
//!   the channel each time `poll` returns the waker's token. A full channel blocks the
//!   producer inside crossbeam's `send` (spin, yield, then a futex wait).
//! * **tokio mpsc**: `tokio::sync::mpsc` bounded; producers call `blocking_send` (parks on a
//!   full channel), the consumer awaits `recv()` on a current-thread runtime.
//!
//! # Syscalls per message
//!
//! Every thread counts its own syscalls in the measured window with the kernel's syscall
//! tracepoint ([`crate::syscalls`]: in-kernel counters, no ptrace stops), in a second run
//! with a quarter of the messages after each timed run: counting slows every syscall down,
//! so the timed run does not count. The report's `syscalls/op` column is the sum over the consumer and
//! all producers divided by the messages; `other` splits it into `write` (eventfd wake-ups),
//! `epoll_wait` (the consumer's polls), `futex` and `sched_yield` (threads blocking or
//! yielding on a full or empty channel).
//!
//! Whether the consumer sleeps depends on who is faster. With the bare workload, a consumer
//! that catches up with its producers runs out of messages, sleeps, and the next send must
//! wake it (one `write` and one `epoll_wait` for a batch of messages). The **busy consumer**
//! row makes the consumer the slow side for sure: it spends [`BUSY_WORK`] rounds of
//! arithmetic (about half a microsecond) on every message, so the channel stays full and the
//! consumer never sleeps; that row shows what a message costs while the loop is busy. The
//! producers then wait on a full channel (`sched_yield` or `futex`): that is back-pressure,
//! not the loop's cost.
//!
//! `--no-syscalls` skips the counted runs.

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use crate::syscalls::{Syscalls, ThreadCounter};
use crate::util::tokio_runtime;
use crate::{allocations, Bench, Config, Implementation, Row, Sample, Show};

/// Capacity of every channel, in messages (ferrio's default `notify_capacity`).
pub const CAPACITY: usize = 4096;

const WAKE: usize = 0;

/// Rounds of arithmetic the busy consumer spends on each message.
pub const BUSY_WORK: u32 = 200;

/// The channel benches: 1 and 4 producers, and 1 producer with a busy consumer.
pub fn benches(_cfg: &Config) -> Vec<Bench> {
    [(1usize, 0u32), (4, 0), (1, BUSY_WORK)]
        .into_iter()
        .map(|(producers, work)| {
            let impls: [(&'static str, RunFn); 4] = [
                ("ferrio EventLoop", run::<EventLoopChannel>),
                ("ferrio channel", run::<FerrioChannel>),
                ("mio+crossbeam", run::<MioCrossbeam>),
                ("tokio mpsc", run::<TokioMpsc>),
            ];
            Bench {
                rows: vec![Row {
                    name: format!(
                        "channel {producers} producer{}{}",
                        if producers == 1 { "" } else { "s" },
                        if work > 0 { ", busy consumer" } else { "" }
                    ),
                    show: Show::Rate("msg/s"),
                }],
                extra: None,
                implementations: impls
                    .into_iter()
                    .map(|(name, f)| Implementation {
                        name,
                        run: Box::new(move |cfg| vec![f(cfg, producers, work)]),
                    })
                    .collect(),
            }
        })
        .collect()
}

type RunFn = fn(&Config, usize, u32) -> Sample;

/// A channel from producer threads to a consumer thread that blocks in an event loop.
pub trait Channel: Sized {
    /// The producers' side.
    type Tx: Clone + Send + 'static;
    /// The consumer's side (on the calling thread) and the producers' side.
    fn new() -> (Self, Self::Tx);
    /// From a producer thread: sends `msg`, waiting while the channel is full.
    fn send(tx: &Self::Tx, msg: u64);
    /// On the consumer's thread: receives until `check` has seen every message.
    fn consume(&mut self, check: &mut Checker);
}

/// Checks that every producer's messages arrive complete and in order. A message is
/// `producer << 32 | sequence number`.
/// It also does the consumer's work on each message, if any.
#[derive(Default)]
pub struct Checker {
    next: Vec<u32>,
    received: usize,
    total: usize,
    /// Rounds of arithmetic per message.
    work: u32,
}

impl Checker {
    fn new(producers: usize, total: usize, work: u32) -> Checker {
        Checker {
            next: vec![0; producers],
            received: 0,
            total,
            work,
        }
    }

    /// Takes one message; returns whether it was the last one.
    #[inline]
    fn take(&mut self, msg: u64) -> bool {
        if self.work > 0 {
            let mut x = msg;
            for _ in 0..self.work {
                x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
            }
            black_box(x);
        }
        let (producer, seq) = ((msg >> 32) as usize, msg as u32);
        assert_eq!(
            seq, self.next[producer],
            "channel: a message of producer {producer} was lost or reordered"
        );
        self.next[producer] += 1;
        self.received += 1;
        self.received == self.total
    }
}

fn messages(cfg: &Config, work: u32) -> usize {
    let n = cfg.pick(200_000, 1_000_000);
    if work > 0 {
        n / 4 // the busy consumer takes about 0.5 µs per message
    } else {
        n
    }
}

/// A timed run without counting, then (unless `--no-syscalls`) a counted run with a quarter
/// of the messages for the syscall figures (see [`crate::syscalls`] for why not both at once).
fn run<C: Channel>(cfg: &Config, producers: usize, work: u32) -> Sample {
    let messages = messages(cfg, work);
    let mut sample = once::<C>(messages, producers, work, false);
    if cfg.count_syscalls {
        sample.syscalls = once::<C>(messages / 4, producers, work, true).syscalls;
    }
    sample
}

/// Sends about `messages` messages from `producers` threads; counts syscalls if `count`.
fn once<C: Channel>(messages: usize, producers: usize, work: u32, count: bool) -> Sample {
    let per_producer = messages / producers;
    let total = per_producer * producers;
    let counter = move || {
        if count {
            ThreadCounter::new().ok()
        } else {
            None
        }
    };
    let (mut consumer, tx) = C::new();
    let barrier = Arc::new(Barrier::new(producers + 1));
    let handles: Vec<_> = (0..producers)
        .map(|p| {
            let (tx, barrier) = (tx.clone(), Arc::clone(&barrier));
            thread::spawn(move || {
                let counter = counter();
                barrier.wait();
                if let Some(c) = &counter {
                    c.start();
                }
                for seq in 0..per_producer {
                    C::send(&tx, (p as u64) << 32 | seq as u64);
                }
                counter.map(|c| c.stop())
            })
        })
        .collect();
    drop(tx);
    let mut check = Checker::new(producers, total, work);
    let counter = counter();
    barrier.wait();
    let allocs_at_start = allocations();
    if let Some(c) = &counter {
        c.start();
    }
    let start = Instant::now();
    consumer.consume(&mut check);
    let elapsed = start.elapsed();
    let mut syscalls = counter.as_ref().map(ThreadCounter::stop);
    let allocs = allocations() - allocs_at_start;
    for h in handles {
        let producer = h.join().expect("producer thread");
        syscalls = match (syscalls, producer) {
            (Some(a), Some(b)) => Some(a.add(b)),
            _ => None,
        };
    }
    // The consumer's events go last: one unregistration wait, outside the window.
    drop(counter);
    assert_eq!(check.received, total, "channel: messages missing");
    Sample {
        ns_per_op: elapsed.as_nanos() as f64 / total as f64,
        allocs_per_op: allocs as f64 / total as f64,
        syscalls: syscalls.map(|s: Syscalls| s.per(total as f64)),
        ..Sample::default()
    }
}

/// ferrio: retries a send that found the channel full (`send` never blocks), spinning a
/// little, then yielding the CPU between tries, as crossbeam's blocking send does before it
/// sleeps.
#[inline]
fn ferrio_send(tx: &ferrio::Sender<u64>, mut msg: u64) {
    let mut spins = 1u32;
    loop {
        match tx.send(msg) {
            Ok(()) => return,
            Err(ferrio::NotifyError::Full(m)) => {
                msg = m;
                if spins <= 64 {
                    for _ in 0..spins {
                        std::hint::spin_loop();
                    }
                    spins *= 2;
                } else {
                    thread::yield_now();
                }
            }
            Err(e) => panic!("ferrio send: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ferrio EventLoop

/// The consumer loop and its handler.
struct EventLoopChannel {
    event_loop: ferrio::EventLoop<CountHandler>,
}

/// Checks each message; shuts the loop down after the last.
struct CountHandler {
    check: Checker,
}

impl ferrio::Handler for CountHandler {
    type Timeout = ();
    type Message = u64;

    #[inline]
    fn notify(&mut self, event_loop: &mut ferrio::EventLoop<Self>, msg: u64) {
        if self.check.take(msg) {
            event_loop.shutdown();
        }
    }
}

impl Channel for EventLoopChannel {
    type Tx = ferrio::Sender<u64>;

    fn new() -> (Self, ferrio::Sender<u64>) {
        let mut config = ferrio::EventLoopConfig::new();
        config.notify_capacity(CAPACITY);
        let event_loop = ferrio::EventLoop::configured(config).expect("event loop");
        let tx = event_loop.channel();
        (EventLoopChannel { event_loop }, tx)
    }

    #[inline]
    fn send(tx: &ferrio::Sender<u64>, msg: u64) {
        ferrio_send(tx, msg);
    }

    fn consume(&mut self, check: &mut Checker) {
        let mut handler = CountHandler {
            check: std::mem::take(check),
        };
        self.event_loop.run(&mut handler).expect("event loop");
        *check = handler.check;
    }
}

// ---------------------------------------------------------------------------------------------
// ferrio channel on a Poll

struct FerrioChannel {
    poll: ferrio::Poll,
    events: ferrio::Events,
    rx: ferrio::channel::Receiver<u64>,
}

impl Channel for FerrioChannel {
    type Tx = ferrio::Sender<u64>;

    fn new() -> (Self, ferrio::Sender<u64>) {
        let poll = ferrio::Poll::new().expect("poll");
        let (tx, rx) = ferrio::channel::channel(poll.registry(), ferrio::Token(WAKE), CAPACITY)
            .expect("channel");
        let events = ferrio::Events::with_capacity(8);
        (FerrioChannel { poll, events, rx }, tx)
    }

    #[inline]
    fn send(tx: &ferrio::Sender<u64>, msg: u64) {
        ferrio_send(tx, msg);
    }

    fn consume(&mut self, check: &mut Checker) {
        loop {
            while let Some(msg) = self.rx.try_recv() {
                if check.take(msg) {
                    return;
                }
            }
            if self.rx.prepare_sleep() {
                self.poll.poll(&mut self.events, None).expect("poll");
            }
            self.rx.after_wake();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// mio + crossbeam-channel

struct MioCrossbeam {
    poll: mio::Poll,
    events: mio::Events,
    rx: crossbeam_channel::Receiver<u64>,
    /// The consumer keeps the waker too: when the last producer dropped the last one, its
    /// eventfd would close and leave the epoll set, taking a not yet fetched wake-up with it.
    _waker: Arc<mio::Waker>,
}

impl Channel for MioCrossbeam {
    type Tx = (crossbeam_channel::Sender<u64>, Arc<mio::Waker>);

    fn new() -> (Self, Self::Tx) {
        let poll = mio::Poll::new().expect("poll");
        let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(WAKE)).expect("waker"));
        let (tx, rx) = crossbeam_channel::bounded(CAPACITY);
        let events = mio::Events::with_capacity(8);
        let consumer = MioCrossbeam {
            poll,
            events,
            rx,
            _waker: Arc::clone(&waker),
        };
        (consumer, (tx, waker))
    }

    #[inline]
    fn send((tx, waker): &Self::Tx, msg: u64) {
        tx.send(msg).expect("crossbeam send");
        waker.wake().expect("mio wake");
    }

    fn consume(&mut self, check: &mut Checker) {
        loop {
            self.poll.poll(&mut self.events, None).expect("mio poll");
            for event in self.events.iter() {
                if event.token() == mio::Token(WAKE) {
                    while let Ok(msg) = self.rx.try_recv() {
                        if check.take(msg) {
                            return;
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// tokio mpsc

struct TokioMpsc {
    rt: tokio::runtime::Runtime,
    rx: tokio::sync::mpsc::Receiver<u64>,
}

impl Channel for TokioMpsc {
    type Tx = tokio::sync::mpsc::Sender<u64>;

    fn new() -> (Self, Self::Tx) {
        let (tx, rx) = tokio::sync::mpsc::channel(CAPACITY);
        (
            TokioMpsc {
                rt: tokio_runtime(),
                rx,
            },
            tx,
        )
    }

    #[inline]
    fn send(tx: &Self::Tx, msg: u64) {
        tx.blocking_send(msg).expect("tokio send");
    }

    fn consume(&mut self, check: &mut Checker) {
        let rx = &mut self.rx;
        self.rt.block_on(async move {
            while let Some(msg) = rx.recv().await {
                if check.take(msg) {
                    return;
                }
            }
            panic!("tokio mpsc: channel closed before the last message");
        });
    }
}
