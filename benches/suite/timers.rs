//! Timers with 1,000,000 timeouts pending at random deadlines within 10 s.
//!
//! # Bench 1: the bare data structures, on a virtual clock (1 ms ticks)
//!
//! One run of an implementation:
//! 1. inserts the 1,000,000 pending timeouts (setup, not timed);
//! 2. **insert**: times 100,000 more inserts at random deadlines (pending: 1.0 M -> 1.1 M);
//! 3. **cancel**: times cancelling those 100,000, in random order;
//! 4. **reset**: times moving 100,000 of the pending timeouts 1 s later (an idle timeout
//!    pushed back; cancel + insert where there is no reset);
//! 5. **expiry**: times running the clock tick by tick (1 ms) to 11 s and taking every due
//!    timeout, and divides by the 1,000,000 that expire.
//!
//! Implementations: ferrio's `timer::Timer` (hierarchical wheel, ticks = ms; warmed by setting
//! and cancelling the 100,000 once before the timed phases, as a server's timer is warm), tokio-util's `DelayQueue` on a current-thread runtime whose clock
//! is paused and advanced 1 ms per tick (so no real waiting; the runtime's timer driver work is
//! part of the cost, as in real use), a `BinaryHeap` of `(deadline, id)` with lazy
//! cancellation (a cancelled flag, skipped when the entry comes out, so part of a cancel's cost
//! shows up under expiry), and a `BTreeMap` keyed by `(deadline, id)`.
//!
//! # Bench 2: through the event loop, on the real clock
//!
//! The same load driven through ferrio's `EventLoop` (default 1 µs tick) the way a server drives
//! it: `timeout_ms` from a callback (the loop's `tick`) and from outside the loop,
//! `clear_timeout`, `reset_timeout` (1 s later, from a callback), and then **the loop running
//! until all 1,000,000 have fired**, about 11 s of real time, of which the thread's **CPU
//! time** (user and kernel, `CLOCK_THREAD_CPUTIME_ID`) is divided by the 1,000,000: the cost
//! of expiry including the loop's wake-ups. Every 64th timeout checks that it did not fire
//! before its delay had passed since it was set; one that did fails the run. The loop's timer
//! storage is warmed first (1.1 M set and 0.1 M cleared), so the timed phases measure a warm
//! loop; `allocs/op` shows any allocation. "of which wake-ups" is the loop's number of
//! iterations during expiry times the CPU time of an idle 1 ms wait measured in the same run:
//! the part of the expiry cost that is the OS waking the loop (about one wake-up per ms with
//! epoll's millisecond timeouts), not timer work.
//!
//! The baseline in the same run, `mio+BTreeMap`, is what a mio 1.x user writes: a
//! `BTreeMap<(deadline, seq), id>` next to a `mio::Poll`, a clock read per insert or reset,
//! `remove` to cancel, and a loop polling until the first deadline and popping what is due.
//! ("in a callback" and "outside" are the same code there.)
//!
//! All get the same random deadlines (fixed seed).

use std::cell::OnceCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::hint::black_box;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use ferrio::timer::Timer;
use tokio_util::time::DelayQueue;

use crate::util::thread_cpu_ns;
use crate::{allocations, Bench, Config, Implementation, Row, Sample, Show};

const PENDING: usize = 1_000_000;
const EXTRA: usize = 100_000;
/// Deadlines are in 1..=SPAN_MS ms.
const SPAN_MS: u64 = 10_000;
/// How much later a reset moves a deadline.
const RESET_BY_MS: u64 = 1_000;
/// Expiry runs to here (the reset timeouts end up to 1 s after the span).
const END_MS: u64 = SPAN_MS + RESET_BY_MS;
/// Through the loop, the extra timeouts are set this much later than their random deadline
/// (10 to 20 s), so that none is due before it is cleared: the loop runs on real time.
const EXTRA_AFTER_MS: u64 = SPAN_MS;

/// The same inputs for every implementation and repetition.
pub struct Input {
    /// Deadlines (ms) of the pending timeouts.
    pending: Vec<u64>,
    /// Deadlines (ms) of the timed inserts.
    extra: Vec<u64>,
    /// Indices into `extra`: the order of the timed cancels.
    cancel_order: Vec<usize>,
    /// Indices into `pending`: the timeouts to reset, distinct, in random order, all due after
    /// 5 s.
    reset: Vec<usize>,
}

/// Runs the phases on `input`; returns one sample per row.
pub type TimerFn = fn(&Input) -> Vec<Sample>;

fn implementations(
    input: &Rc<OnceCell<Input>>,
    list: Vec<(&'static str, TimerFn)>,
) -> Vec<Implementation> {
    list.into_iter()
        .map(|(name, f)| {
            let input = Rc::clone(input);
            Implementation {
                name,
                run: Box::new(move |_cfg| f(input.get_or_init(make_input))),
            }
        })
        .collect()
}

fn rows(names: &[&str]) -> Vec<Row> {
    names
        .iter()
        .map(|name| Row {
            name: name.to_string(),
            show: Show::Time("ns/op"),
        })
        .collect()
}

/// The timer benches.
pub fn benches(_cfg: &Config) -> Vec<Bench> {
    // Generated lazily, once, on first use (a filtered-out bench costs nothing).
    let input: Rc<OnceCell<Input>> = Rc::new(OnceCell::new());
    vec![
        Bench {
            rows: rows(&[
                "timer insert (1M pending)",
                "timer cancel (1M pending)",
                "timer reset later (1M pending)",
                "timer expiry (1M pending)",
            ]),
            extra: None,
            implementations: implementations(
                &input,
                vec![
                    ("ferrio Timer", run_ferrio),
                    ("tokio-util DelayQueue", run_delay_queue),
                    ("BinaryHeap", run_heap),
                    ("BTreeMap", run_btree),
                ],
            ),
        },
        Bench {
            rows: rows(&[
                "loop timeout_ms in a callback (1M pending)",
                "loop timeout_ms outside the loop (1M pending)",
                "loop clear_timeout (1M pending)",
                "loop reset_timeout later (1M pending)",
                "loop expiry, CPU per timeout (1M over 10 s)",
            ]),
            extra: Some("of which wake-ups"),
            implementations: implementations(
                &input,
                vec![
                    ("ferrio EventLoop", run_eventloop),
                    ("mio+BTreeMap", run_mio_btree),
                ],
            ),
        },
    ]
}

fn make_input() -> Input {
    let mut rng = fastrand::Rng::with_seed(0x5eed_7173);
    let pending: Vec<u64> = (0..PENDING).map(|_| rng.u64(1..=SPAN_MS)).collect();
    let extra = (0..EXTRA).map(|_| rng.u64(1..=SPAN_MS)).collect();
    let mut cancel_order: Vec<usize> = (0..EXTRA).collect();
    rng.shuffle(&mut cancel_order);
    // Timeouts due in the second half of the span: through the loop, they are still pending
    // when the reset phase runs (real time passes during the setup).
    let mut reset: Vec<usize> = (0..PENDING).filter(|&i| pending[i] > SPAN_MS / 2).collect();
    rng.shuffle(&mut reset);
    reset.truncate(EXTRA);
    Input {
        pending,
        extra,
        cancel_order,
        reset,
    }
}

/// Times `f`, which performs `ops` operations.
fn phase<R>(ops: usize, f: impl FnOnce() -> R) -> (Sample, R) {
    let allocs = allocations();
    let start = Instant::now();
    let r = f();
    let elapsed = start.elapsed();
    let sample = Sample {
        ns_per_op: elapsed.as_nanos() as f64 / ops as f64,
        allocs_per_op: (allocations() - allocs) as f64 / ops as f64,
        ..Sample::default()
    };
    (sample, r)
}

// ---------------------------------------------------------------------------------------------
// Bench 1: virtual clock

fn run_ferrio(input: &Input) -> Vec<Sample> {
    let mut timer: Timer<usize> = Timer::with_capacity(PENDING + EXTRA);
    let mut pending = Vec::with_capacity(PENDING);
    for (i, &d) in input.pending.iter().enumerate() {
        pending.push(timer.insert(d, i).expect("timer capacity"));
    }
    // Warm up: the storage has held 1.1 M timeouts before the timed phases (as in a server
    // that has run a while; the first touch of fresh memory is page faults, not timer work).
    let mut handles = Vec::with_capacity(EXTRA);
    for (i, &d) in input.extra.iter().enumerate() {
        handles.push(timer.insert(d, i).expect("timer capacity"));
    }
    for &i in &input.cancel_order {
        black_box(timer.cancel(handles[i]).expect("pending timeout"));
    }
    handles.clear();
    let (insert, ()) = phase(EXTRA, || {
        for (i, &d) in input.extra.iter().enumerate() {
            handles.push(timer.insert(d, i).expect("timer capacity"));
        }
    });
    let (cancel, ()) = phase(EXTRA, || {
        for &i in &input.cancel_order {
            black_box(timer.cancel(handles[i]).expect("pending timeout"));
        }
    });
    let (reset, ()) = phase(EXTRA, || {
        for &i in &input.reset {
            assert!(timer.reset(pending[i], input.pending[i] + RESET_BY_MS));
        }
    });
    let (expiry, fired) = phase(PENDING, || {
        let mut fired = 0usize;
        for tick in 1..=END_MS {
            while let Some((_, v)) = timer.poll(tick) {
                black_box(v);
                fired += 1;
            }
        }
        fired
    });
    assert_eq!(fired, PENDING, "ferrio Timer: every timeout fires");
    vec![insert, cancel, reset, expiry]
}

fn run_delay_queue(input: &Input) -> Vec<Sample> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let mut queue: DelayQueue<usize> = DelayQueue::with_capacity(PENDING + EXTRA);
        let start = tokio::time::Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut pending = Vec::with_capacity(PENDING);
        for (i, &d) in input.pending.iter().enumerate() {
            pending.push(queue.insert_at(i, at(d)));
        }
        let mut keys = Vec::with_capacity(EXTRA);
        let (insert, ()) = phase(EXTRA, || {
            for (i, &d) in input.extra.iter().enumerate() {
                keys.push(queue.insert_at(i, at(d)));
            }
        });
        let (cancel, ()) = phase(EXTRA, || {
            for &i in &input.cancel_order {
                black_box(queue.remove(&keys[i]));
            }
        });
        let (reset, ()) = phase(EXTRA, || {
            for &i in &input.reset {
                queue.reset_at(&pending[i], at(input.pending[i] + RESET_BY_MS));
            }
        });
        // Expiry: advance the paused clock 1 ms at a time and take what is due.
        let allocs = allocations();
        let t = Instant::now();
        let mut fired = 0usize;
        let mut tick = 0;
        while fired < PENDING {
            tick += 1;
            assert!(tick <= END_MS + 10, "DelayQueue: timeouts left at the end");
            tokio::time::advance(Duration::from_millis(1)).await;
            loop {
                let next = std::future::poll_fn(|cx| match queue.poll_expired(cx) {
                    Poll::Ready(Some(e)) => Poll::Ready(Some(e)),
                    Poll::Ready(None) | Poll::Pending => Poll::Ready(None),
                })
                .await;
                match next {
                    Some(e) => {
                        black_box(e.into_inner());
                        fired += 1;
                    }
                    None => break,
                }
            }
        }
        let expiry = Sample {
            ns_per_op: t.elapsed().as_nanos() as f64 / PENDING as f64,
            allocs_per_op: (allocations() - allocs) as f64 / PENDING as f64,
            ..Sample::default()
        };
        vec![insert, cancel, reset, expiry]
    })
}

fn run_heap(input: &Input) -> Vec<Sample> {
    let total = PENDING + 2 * EXTRA;
    let mut heap: BinaryHeap<Reverse<(u64, u32)>> = BinaryHeap::with_capacity(total);
    let mut cancelled = vec![false; total];
    // The id of each pending timeout (a reset gives it a new one).
    let mut pending_id: Vec<u32> = (0..PENDING as u32).collect();
    for (i, &d) in input.pending.iter().enumerate() {
        heap.push(Reverse((d, i as u32)));
    }
    let mut ids = Vec::with_capacity(EXTRA);
    let (insert, ()) = phase(EXTRA, || {
        for (i, &d) in input.extra.iter().enumerate() {
            let id = (PENDING + i) as u32;
            heap.push(Reverse((d, id)));
            ids.push(id);
        }
    });
    let (cancel, ()) = phase(EXTRA, || {
        for &i in &input.cancel_order {
            let flag = &mut cancelled[ids[i] as usize];
            assert!(!*flag, "cancelled twice");
            *flag = true;
        }
    });
    let (reset, ()) = phase(EXTRA, || {
        for (n, &i) in input.reset.iter().enumerate() {
            cancelled[pending_id[i] as usize] = true;
            let id = (PENDING + EXTRA + n) as u32;
            pending_id[i] = id;
            heap.push(Reverse((input.pending[i] + RESET_BY_MS, id)));
        }
    });
    let (expiry, fired) = phase(PENDING, || {
        let mut fired = 0usize;
        for tick in 1..=END_MS {
            while let Some(&Reverse((d, id))) = heap.peek() {
                if d > tick {
                    break;
                }
                heap.pop();
                if !cancelled[id as usize] {
                    black_box(id);
                    fired += 1;
                }
            }
        }
        fired
    });
    assert_eq!(fired, PENDING, "BinaryHeap: every timeout fires");
    vec![insert, cancel, reset, expiry]
}

fn run_btree(input: &Input) -> Vec<Sample> {
    let mut map: BTreeMap<(u64, u32), u32> = BTreeMap::new();
    let mut keys = Vec::with_capacity(PENDING);
    for (i, &d) in input.pending.iter().enumerate() {
        map.insert((d, i as u32), i as u32);
        keys.push((d, i as u32));
    }
    let mut extra = Vec::with_capacity(EXTRA);
    let (insert, ()) = phase(EXTRA, || {
        for (i, &d) in input.extra.iter().enumerate() {
            let key = (d, (PENDING + i) as u32);
            map.insert(key, i as u32);
            extra.push(key);
        }
    });
    let (cancel, ()) = phase(EXTRA, || {
        for &i in &input.cancel_order {
            black_box(map.remove(&extra[i]).expect("pending"));
        }
    });
    let (reset, ()) = phase(EXTRA, || {
        for &i in &input.reset {
            let value = map.remove(&keys[i]).expect("pending");
            let key = (keys[i].0 + RESET_BY_MS, keys[i].1);
            map.insert(key, value);
            keys[i] = key;
        }
    });
    let (expiry, fired) = phase(PENDING, || {
        let mut fired = 0usize;
        for tick in 1..=END_MS {
            while let Some(entry) = map.first_entry() {
                if entry.key().0 > tick {
                    break;
                }
                black_box(entry.remove());
                fired += 1;
            }
        }
        fired
    });
    assert_eq!(fired, PENDING, "BTreeMap: every timeout fires");
    vec![insert, cancel, reset, expiry]
}

// ---------------------------------------------------------------------------------------------
// Bench 2: through the loop

/// What the handler's next `tick` does.
enum Task {
    Nothing,
    /// Set the 100,000 extra timeouts.
    Insert,
    /// Clear them.
    Clear,
    /// Push 100,000 pending timeouts back by 1 s.
    Reset,
}

/// Drives the loop bench: does `task` in `tick`, counts and checks fired timeouts.
struct Load<'a> {
    input: &'a Input,
    task: Task,
    pending: Vec<ferrio::Timeout>,
    extra: Vec<ferrio::Timeout>,
    /// Per pending timeout: when it was set (or last reset), ns on `epoch`, and its delay.
    set: Vec<(u64, u64)>,
    epoch: Instant,
    fired: usize,
    early: usize,
    iterations: usize,
}

impl Load<'_> {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }
}

/// Every `SAMPLE`-th timeout checks "never early" (reading the clock costs 40 ns).
const SAMPLE: usize = 64;

impl ferrio::Handler for Load<'_> {
    type Timeout = u32;
    type Message = ();

    fn timeout(&mut self, event_loop: &mut ferrio::EventLoop<Self>, id: u32) {
        let id = id as usize;
        if id < PENDING {
            self.fired += 1;
            if id.is_multiple_of(SAMPLE) {
                let (set_at, delay) = self.set[id];
                if self.now_ns() < set_at + delay {
                    self.early += 1;
                }
            }
            if self.fired == PENDING {
                event_loop.shutdown();
            }
        }
    }

    fn tick(&mut self, event_loop: &mut ferrio::EventLoop<Self>) {
        self.iterations += 1;
        match std::mem::replace(&mut self.task, Task::Nothing) {
            Task::Nothing => {}
            Task::Insert => {
                for (i, &d) in self.input.extra.iter().enumerate() {
                    let t = event_loop
                        .timeout_ms((PENDING + i) as u32, EXTRA_AFTER_MS + d)
                        .expect("timer capacity");
                    self.extra.push(t);
                }
            }
            Task::Clear => {
                for &i in &self.input.cancel_order {
                    assert!(event_loop.clear_timeout(self.extra[i]), "pending");
                }
                self.extra.clear();
            }
            Task::Reset => {
                for &i in &self.input.reset {
                    let delay_ms = self.input.pending[i] + RESET_BY_MS;
                    if i % SAMPLE == 0 {
                        self.set[i] = (self.now_ns(), delay_ms * 1_000_000);
                    }
                    let ok = event_loop.reset_timeout_ms(self.pending[i], delay_ms);
                    assert!(ok, "pending");
                }
            }
        }
    }
}

/// One `run_once` whose `tick` does `task`; returns its sample for `ops` operations.
fn in_callback<'a>(
    event_loop: &mut ferrio::EventLoop<Load<'a>>,
    handler: &mut Load<'a>,
    task: Task,
    ops: usize,
) -> Sample {
    handler.task = task;
    phase(ops, || {
        event_loop.run_once(handler, Some(0)).expect("run_once")
    })
    .0
}

fn run_eventloop(input: &Input) -> Vec<Sample> {
    let mut config = ferrio::EventLoopConfig::new();
    config.timer_capacity(PENDING + EXTRA);
    let mut event_loop = ferrio::EventLoop::configured(config).expect("event loop");
    let mut handler = Load {
        input,
        task: Task::Nothing,
        pending: Vec::with_capacity(PENDING),
        extra: Vec::with_capacity(EXTRA),
        set: vec![(0, 0); PENDING],
        epoch: Instant::now(),
        fired: 0,
        early: 0,
        iterations: 0,
    };
    for (i, &d) in input.pending.iter().enumerate() {
        if i % SAMPLE == 0 {
            handler.set[i] = (handler.now_ns(), d * 1_000_000);
        }
        let t = event_loop.timeout_ms(i as u32, d).expect("timer capacity");
        handler.pending.push(t);
    }
    // Warm up: the loop's storage has held 1.1 M timeouts before the timed phases.
    in_callback(&mut event_loop, &mut handler, Task::Insert, EXTRA);
    in_callback(&mut event_loop, &mut handler, Task::Clear, EXTRA);

    let insert_in_callback = in_callback(&mut event_loop, &mut handler, Task::Insert, EXTRA);
    let clear = in_callback(&mut event_loop, &mut handler, Task::Clear, EXTRA);
    let (insert_outside, ()) = phase(EXTRA, || {
        for (i, &d) in input.extra.iter().enumerate() {
            let t = event_loop
                .timeout_ms((PENDING + i) as u32, EXTRA_AFTER_MS + d)
                .expect("timer capacity");
            handler.extra.push(t);
        }
    });
    for t in handler.extra.drain(..) {
        assert!(event_loop.clear_timeout(t));
    }
    let reset = in_callback(&mut event_loop, &mut handler, Task::Reset, EXTRA);

    let allocs = allocations();
    let cpu = thread_cpu_ns();
    handler.iterations = 0;
    event_loop.run(&mut handler).expect("run");
    let expiry = Sample {
        ns_per_op: (thread_cpu_ns() - cpu) as f64 / PENDING as f64,
        allocs_per_op: (allocations() - allocs) as f64 / PENDING as f64,
        extra_ns: Some(handler.iterations as f64 * idle_wait_cpu_ns() / PENDING as f64),
        failure: (handler.early > 0).then_some("a timeout fired early"),
        ..Sample::default()
    };
    assert_eq!(handler.fired, PENDING);
    vec![insert_in_callback, insert_outside, clear, reset, expiry]
}

/// A mio 1.x user's timer: a `BTreeMap` by deadline next to a `Poll`.
struct MioTimers {
    poll: mio::Poll,
    events: mio::Events,
    queue: BTreeMap<(u64, u64), u32>,
    epoch: Instant,
    seq: u64,
}

impl MioTimers {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn insert(&mut self, id: u32, delay_ms: u64) -> (u64, u64) {
        let key = (self.now_ns() + delay_ms * 1_000_000, self.seq);
        self.seq += 1;
        self.queue.insert(key, id);
        key
    }
}

fn run_mio_btree(input: &Input) -> Vec<Sample> {
    let mut timers = MioTimers {
        poll: mio::Poll::new().expect("mio poll"),
        events: mio::Events::with_capacity(1024),
        queue: BTreeMap::new(),
        epoch: Instant::now(),
        seq: 0,
    };
    let mut pending: Vec<(u64, u64)> = Vec::with_capacity(PENDING);
    for (i, &d) in input.pending.iter().enumerate() {
        pending.push(timers.insert(i as u32, d));
    }
    let mut extra = Vec::with_capacity(EXTRA);
    let (insert, ()) = phase(EXTRA, || {
        for (i, &d) in input.extra.iter().enumerate() {
            extra.push(timers.insert((PENDING + i) as u32, EXTRA_AFTER_MS + d));
        }
    });
    let (clear, ()) = phase(EXTRA, || {
        for &i in &input.cancel_order {
            black_box(timers.queue.remove(&extra[i]).expect("pending"));
        }
    });
    let (reset, ()) = phase(EXTRA, || {
        for &i in &input.reset {
            let id = timers.queue.remove(&pending[i]).expect("pending");
            pending[i] = timers.insert(id, input.pending[i] + RESET_BY_MS);
        }
    });
    let allocs = allocations();
    let cpu = thread_cpu_ns();
    let mut fired = 0;
    let mut early = 0;
    let mut polls = 0;
    while fired < PENDING {
        polls += 1;
        let now = timers.now_ns();
        let next = timers.queue.first_key_value().map(|(k, _)| k.0);
        let timeout = next.map(|d| Duration::from_nanos(d.saturating_sub(now)));
        timers
            .poll
            .poll(&mut timers.events, timeout)
            .expect("mio poll");
        let now = timers.now_ns();
        while let Some(entry) = timers.queue.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let id = entry.remove();
            if (id as usize) < PENDING {
                fired += 1;
                if (id as usize).is_multiple_of(SAMPLE) && timers.now_ns() < pending[id as usize].0
                {
                    early += 1;
                }
            }
        }
    }
    let expiry = Sample {
        ns_per_op: (thread_cpu_ns() - cpu) as f64 / PENDING as f64,
        allocs_per_op: (allocations() - allocs) as f64 / PENDING as f64,
        extra_ns: Some(polls as f64 * idle_wait_cpu_ns() / PENDING as f64),
        failure: (early > 0).then_some("a timeout fired early"),
        ..Sample::default()
    };
    vec![insert, insert, clear, reset, expiry]
}

/// CPU time of one idle 1 ms wait (an `epoll_wait` that times out), measured now: what each
/// wake-up of a loop costs in the kernel and around the syscall, timers aside. The expiry
/// rows show their loop's wake-ups times this as "of which wake-ups".
fn idle_wait_cpu_ns() -> f64 {
    const WAITS: u64 = 200;
    let mut poll = ferrio::Poll::new().expect("poll");
    let mut events = ferrio::Events::with_capacity(8);
    let cpu = thread_cpu_ns();
    for _ in 0..WAITS {
        poll.poll(&mut events, Some(Duration::from_millis(1)))
            .expect("poll");
    }
    (thread_cpu_ns() - cpu) as f64 / WAITS as f64
}
