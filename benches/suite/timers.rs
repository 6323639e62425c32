//! Timers: insert, cancel and expiry with 1,000,000 timeouts pending at random deadlines
//! within 10 s (1 ms ticks).
//!
//! One run of an implementation:
//! 1. inserts the 1,000,000 pending timeouts (setup, not timed);
//! 2. **insert**: times 100,000 more inserts at random deadlines (pending: 1.0 M -> 1.1 M);
//! 3. **cancel**: times cancelling those 100,000, in random order;
//! 4. **expiry**: times running the clock tick by tick (1 ms) to 10 s and taking every due
//!    timeout, and divides by the 1,000,000 that expire.
//!
//! Implementations: ferrio's `timer::Timer` (hierarchical wheel, ticks = ms), tokio-util's
//! `DelayQueue` on a current-thread runtime whose clock is paused and advanced 1 ms per tick
//! (so no real waiting; the runtime's timer driver work is part of the cost, as in real use),
//! and a `BinaryHeap` of `(deadline, id)` with lazy cancellation (a cancelled flag, skipped
//! when the entry comes out, so part of a cancel's cost shows up under expiry).
//!
//! All get the same random deadlines (fixed seed). An implementation is a [`TimerFn`].
//!
//! A second bench times insert and cancel **through ferrio's `EventLoop`** (`timeout_ms` and
//! `clear_timeout`, on the loop's real clock with its default 1 µs tick, 1,000,000 timeouts
//! pending) next to the bare `Timer` above: the difference is what the loop adds per call
//! (reading the clock, converting the delay to ticks). Expiry through the loop would take
//! 10 s of real time, so it is not measured there.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use ferrio::timer::Timer;
use tokio_util::time::DelayQueue;

use crate::{allocations, Bench, Config, Implementation, Row, Sample, Show};

const PENDING: usize = 1_000_000;
const EXTRA: usize = 100_000;
/// Deadlines are in 1..=SPAN_MS ticks.
const SPAN_MS: u64 = 10_000;

/// The same inputs for every implementation and repetition.
pub struct Input {
    /// Deadlines (ms) of the pending timeouts.
    pending: Vec<u64>,
    /// Deadlines (ms) of the timed inserts.
    extra: Vec<u64>,
    /// Indices into `extra`: the order of the timed cancels.
    cancel_order: Vec<usize>,
}

/// Runs the four phases on `input`; returns the samples of insert, cancel and expiry.
pub type TimerFn = fn(&Input) -> Vec<Sample>;

/// The timer bench: three rows.
pub fn benches(_cfg: &Config) -> Vec<Bench> {
    let impls: [(&'static str, TimerFn); 3] = [
        ("ferrio Timer", run_ferrio),
        ("tokio-util DelayQueue", run_delay_queue),
        ("BinaryHeap", run_heap),
    ];
    // Generated lazily, once, on first use (a filtered-out bench costs nothing).
    let input: Rc<std::cell::OnceCell<Input>> = Rc::new(std::cell::OnceCell::new());
    let through_loop: [(&'static str, TimerFn); 2] = [
        ("ferrio EventLoop", run_eventloop),
        ("ferrio Timer", |input| run_ferrio(input)[..2].to_vec()),
    ];
    let loop_bench = Bench {
        rows: ["timeout_ms", "clear_timeout"]
            .iter()
            .map(|op| Row {
                name: format!("EventLoop {op} (1M pending)"),
                show: Show::Time("ns/op"),
            })
            .collect(),
        extra: None,
        implementations: through_loop
            .into_iter()
            .map(|(name, f)| {
                let input = Rc::clone(&input);
                Implementation {
                    name,
                    run: Box::new(move |_cfg| f(input.get_or_init(make_input))),
                }
            })
            .collect(),
    };
    vec![
        Bench {
            rows: ["insert", "cancel", "expiry"]
                .iter()
                .map(|op| Row {
                    name: format!("timer {op} (1M pending)"),
                    show: Show::Time("ns/op"),
                })
                .collect(),
            extra: None,
            implementations: impls
                .into_iter()
                .map(|(name, f)| {
                    let input = Rc::clone(&input);
                    Implementation {
                        name,
                        run: Box::new(move |_cfg| f(input.get_or_init(make_input))),
                    }
                })
                .collect(),
        },
        loop_bench,
    ]
}

fn make_input() -> Input {
    let mut rng = fastrand::Rng::with_seed(0x5eed_7173);
    let pending = (0..PENDING).map(|_| rng.u64(1..=SPAN_MS)).collect();
    let extra = (0..EXTRA).map(|_| rng.u64(1..=SPAN_MS)).collect();
    let mut cancel_order: Vec<usize> = (0..EXTRA).collect();
    rng.shuffle(&mut cancel_order);
    Input {
        pending,
        extra,
        cancel_order,
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

fn run_ferrio(input: &Input) -> Vec<Sample> {
    let mut timer: Timer<usize> = Timer::with_capacity(PENDING + EXTRA);
    for (i, &d) in input.pending.iter().enumerate() {
        let _ = timer.insert(d, i).expect("timer capacity");
    }
    let mut handles = Vec::with_capacity(EXTRA);
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
    let (expiry, fired) = phase(PENDING, || {
        let mut fired = 0usize;
        for tick in 1..=SPAN_MS {
            while let Some((_, v)) = timer.poll(tick) {
                black_box(v);
                fired += 1;
            }
        }
        fired
    });
    assert_eq!(fired, PENDING, "ferrio Timer: every timeout fires by 10 s");
    vec![insert, cancel, expiry]
}

/// A handler that is never run: the loop only holds the timeouts.
struct TimeoutsOnly;

impl ferrio::Handler for TimeoutsOnly {
    type Timeout = usize;
    type Message = ();
}

/// Insert and cancel through `EventLoop::timeout_ms` / `clear_timeout` (no expiry: real time).
fn run_eventloop(input: &Input) -> Vec<Sample> {
    let mut config = ferrio::EventLoopConfig::new();
    config.timer_capacity(PENDING + EXTRA);
    let mut event_loop: ferrio::EventLoop<TimeoutsOnly> =
        ferrio::EventLoop::configured(config).expect("event loop");
    for (i, &d) in input.pending.iter().enumerate() {
        let _ = event_loop.timeout_ms(i, d).expect("timer capacity");
    }
    let mut handles = Vec::with_capacity(EXTRA);
    let (insert, ()) = phase(EXTRA, || {
        for (i, &d) in input.extra.iter().enumerate() {
            handles.push(event_loop.timeout_ms(i, d).expect("timer capacity"));
        }
    });
    let (cancel, ()) = phase(EXTRA, || {
        for &i in &input.cancel_order {
            assert!(event_loop.clear_timeout(handles[i]), "pending timeout");
        }
    });
    vec![insert, cancel]
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
        for (i, &d) in input.pending.iter().enumerate() {
            queue.insert_at(i, at(d));
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
        // Expiry: advance the paused clock 1 ms at a time and take what is due.
        let allocs = allocations();
        let t = Instant::now();
        let mut fired = 0usize;
        let mut tick = 0;
        while fired < PENDING {
            tick += 1;
            assert!(tick <= SPAN_MS + 10, "DelayQueue: timeouts left after 10 s");
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
        vec![insert, cancel, expiry]
    })
}

fn run_heap(input: &Input) -> Vec<Sample> {
    let mut heap: BinaryHeap<Reverse<(u64, u32)>> = BinaryHeap::with_capacity(PENDING + EXTRA);
    let mut cancelled = vec![false; PENDING + EXTRA];
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
    let (expiry, fired) = phase(PENDING, || {
        let mut fired = 0usize;
        for tick in 1..=SPAN_MS {
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
    assert_eq!(fired, PENDING, "BinaryHeap: every timeout fires by 10 s");
    vec![insert, cancel, expiry]
}
