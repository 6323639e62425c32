//! The bare timer wheel, one phase at a time, for counting instructions and cache misses under
//! callgrind or cachegrind, and for quick wall-time comparisons of two builds.
//!
//! ```sh
//! cargo bench -p ferrio-benches --bench timer_callgrind --no-run         # build it
//! target/release/deps/timer_callgrind-* expiry                           # run up to a phase
//! scripts/timer_callgrind.sh                                             # instructions and misses per op
//! ```
//!
//! The load is the loop bench's on a 1 µs tick: 1,000,000 timeouts pending at random deadlines
//! within 10^7 ticks (10 s), the storage warmed by setting and cancelling 100,000 more. The
//! argument names the last phase run, each after all earlier ones:
//! `setup`, then `insert` (100,000 more at random deadlines within 10^7 ticks), `cancel` (those
//! 100,000, in random order), `reset` (100,000 of the pending, due after 5 s, moved 10^6 ticks
//! later) and `expiry` (the clock jumps from deadline to deadline, `next_deadline` then `poll`
//! until nothing is due, as the event loop drives it, until all 1,000,000 fired). The
//! difference of the counts of two consecutive phases, divided by the phase's operations
//! (100,000, or 1,000,000 for expiry), is that phase's cost per operation.
//!
//! A second argument `ms` runs the suite's bare-wheel load instead (`benches/suite/timers.rs`:
//! 1 ms ticks, deadlines within 10^4 ticks, resets 10^3 later, expiry polling every tick up to
//! 11,000).
//!
//! Each phase also prints its wall time per operation, to stderr.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use ferrio::timer::Timer;

const PENDING: usize = 1_000_000;
const EXTRA: usize = 100_000;

const PHASES: [&str; 5] = ["setup", "insert", "cancel", "reset", "expiry"];

fn main() -> ExitCode {
    let arg = std::env::args().nth(1).unwrap_or_default();
    let Some(last) = PHASES.iter().position(|&p| p == arg) else {
        eprintln!("usage: timer_callgrind {}", PHASES.join("|"));
        return ExitCode::FAILURE;
    };
    let ms = std::env::args().nth(2).as_deref() == Some("ms");
    let (span, reset_by): (u64, u64) = if ms {
        (10_000, 1_000)
    } else {
        (10_000_000, 1_000_000)
    };
    let mut rng = fastrand::Rng::with_seed(0x5eed_7173);
    let pending: Vec<u64> = (0..PENDING).map(|_| rng.u64(1..=span)).collect();
    let extra: Vec<u64> = (0..EXTRA).map(|_| rng.u64(1..=span)).collect();
    let mut cancel_order: Vec<usize> = (0..EXTRA).collect();
    rng.shuffle(&mut cancel_order);
    let mut reset: Vec<usize> = (0..PENDING).filter(|&i| pending[i] > span / 2).collect();
    rng.shuffle(&mut reset);
    reset.truncate(EXTRA);

    let mut timer: Timer<usize> = Timer::with_capacity(PENDING + EXTRA);
    let handles: Vec<_> = pending
        .iter()
        .enumerate()
        .map(|(i, &d)| timer.insert(d, i).expect("capacity"))
        .collect();
    let mut extra_handles = Vec::with_capacity(EXTRA);
    for (i, &d) in extra.iter().enumerate() {
        extra_handles.push(timer.insert(d, PENDING + i).expect("capacity"));
    }
    for &i in &cancel_order {
        black_box(timer.cancel(extra_handles[i]).expect("pending"));
    }
    extra_handles.clear();

    let timed = |name: &str, ops: usize, f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        let ns = start.elapsed().as_nanos() as f64 / ops as f64;
        eprintln!("{name}\t{ns:.1} ns/op");
    };
    if last >= 1 {
        timed("insert", EXTRA, &mut || {
            for (i, &d) in extra.iter().enumerate() {
                extra_handles.push(timer.insert(d, PENDING + i).expect("capacity"));
            }
        });
    }
    if last >= 2 {
        timed("cancel", EXTRA, &mut || {
            for &i in &cancel_order {
                black_box(timer.cancel(extra_handles[i]).expect("pending"));
            }
        });
    }
    if last >= 3 {
        timed("reset", EXTRA, &mut || {
            for &i in &reset {
                assert!(timer.reset(handles[i], pending[i] + reset_by));
            }
        });
    }
    if last >= 4 {
        let mut fired = 0;
        timed("expiry", PENDING, &mut || {
            if ms {
                for now in 1..=span + reset_by {
                    while let Some((_, v)) = timer.poll(now) {
                        black_box(v);
                        fired += 1;
                    }
                }
            } else {
                while let Some(now) = timer.next_deadline() {
                    while let Some((_, v)) = timer.poll(now) {
                        black_box(v);
                        fired += 1;
                    }
                }
            }
        });
        assert_eq!(fired, PENDING);
    }
    black_box(&timer);
    ExitCode::SUCCESS
}
