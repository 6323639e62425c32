//! Timers on an `EventLoop`: a periodic timeout, then the lateness of 1,000 timeouts.
//!
//! ```sh
//! cargo run --release --example timers
//! ```
//!
//! 1. A 20 ms periodic timeout (re-armed in its own callback) fires 5 times; each line shows
//!    when it fired and how late.
//! 2. 1,000 timeouts of 10 ms, set at **staggered** times: a pacer thread sends a message
//!    every 0.1 ms (on an absolute schedule; `thread::sleep` may stretch a gap), and the
//!    loop's `notify` sets one 10 ms timeout per message, so timeouts are set over about
//!    100 ms while others are pending and the loop is asleep.
//! 3. The same 1,000 timeouts of 10 ms set all at once, one right after the other, with
//!    nothing else waking the loop.
//! 4. **Precision on an idle loop**: 1,000 timeouts with delays spread over 1-300 ms (a fixed
//!    pseudo-random sequence), set at once; the loop sleeps between deadlines. This is the
//!    figure the OS wait's resolution decides: ferrio waits with nanosecond timeouts where the
//!    kernel has them (`epoll_pwait2`, `ppoll`, io_uring's timeout, kqueue's `timespec`), and
//!    a long wait is made in two so that the kernel's timer slack does not end it late (see
//!    `Backend`); with `epoll_wait`'s whole milliseconds each wait would be rounded up to the
//!    next millisecond.
//!
//! Lateness is `fired_at - (set_at + delay)`, both read with `Instant` (set_at before the
//! call that sets the timeout, fired_at in the callback). For 2, 3 and 4 the example prints its
//! minimum (never negative: timeouts never fire early), median, p99 and max in µs, and the
//! loop iterations it took.
//!
//! Exits 0 in about half a second (1 if a timeout fired early or went missing).

use std::process;
use std::thread;
use std::time::{Duration, Instant};

use ferrio::{EventLoop, EventLoopConfig, Handler};

const PERIOD: Duration = Duration::from_millis(20);
const PERIODIC_FIRINGS: usize = 5;
const TIMEOUTS: usize = 1_000;
const DELAY: Duration = Duration::from_millis(10);
const STAGGER: Duration = Duration::from_micros(100);

enum Tm {
    Periodic {
        n: usize,
        set_at: Instant,
    },
    /// One of the 1,000; `set_at` is when it was set, `delay` its delay.
    OneShot {
        set_at: Instant,
        delay: Duration,
    },
}

struct Timers {
    start: Instant,
    lateness_us: Vec<u64>,
    early: usize,
    iterations: usize,
}

impl Handler for Timers {
    type Timeout = Tm;
    /// A request from the pacer thread to set one 10 ms timeout.
    type Message = ();

    fn timeout(&mut self, event_loop: &mut EventLoop<Timers>, timeout: Tm) {
        let now = Instant::now();
        match timeout {
            Tm::Periodic { n, set_at } => {
                let late = now - set_at - PERIOD;
                println!(
                    "periodic #{n}: fired at {:>6.2} ms, {:>4} µs after its deadline",
                    (now - self.start).as_secs_f64() * 1e3,
                    late.as_micros()
                );
                if n < PERIODIC_FIRINGS {
                    let next = Tm::Periodic {
                        n: n + 1,
                        set_at: now,
                    };
                    let _ = event_loop.timeout(next, PERIOD).expect("timer full");
                } else {
                    event_loop.shutdown();
                }
            }
            Tm::OneShot { set_at, delay } => {
                match now.checked_duration_since(set_at + delay) {
                    Some(late) => self.lateness_us.push(late.as_micros() as u64),
                    None => self.early += 1,
                }
                if self.lateness_us.len() + self.early == TIMEOUTS {
                    event_loop.shutdown();
                }
            }
        }
    }

    fn notify(&mut self, event_loop: &mut EventLoop<Timers>, _: ()) {
        let set_at = Instant::now();
        let timeout = Tm::OneShot {
            set_at,
            delay: DELAY,
        };
        let _ = event_loop.timeout(timeout, DELAY).expect("timer full");
    }

    fn tick(&mut self, _: &mut EventLoop<Timers>) {
        self.iterations += 1;
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Prints the lateness statistics of the last 1,000 timeouts and resets them; exits 1 if
/// any fired early or went missing.
fn report(handler: &mut Timers) {
    let mut late = std::mem::take(&mut handler.lateness_us);
    late.sort_unstable();
    if handler.early > 0 || late.len() != TIMEOUTS {
        eprintln!(
            "FAILED: {} early, {} of {TIMEOUTS} measured",
            handler.early,
            late.len()
        );
        process::exit(1);
    }
    println!(
        "   lateness (µs): min {}, median {}, p99 {}, max {}  ({} timeouts, {} loop iterations)",
        late[0],
        percentile(&late, 0.5),
        percentile(&late, 0.99),
        late[late.len() - 1],
        late.len(),
        handler.iterations
    );
}

fn main() -> std::io::Result<()> {
    let mut event_loop = EventLoop::configured(EventLoopConfig::new().notify_capacity(TIMEOUTS))?;
    let mut handler = Timers {
        start: Instant::now(),
        lateness_us: Vec::with_capacity(TIMEOUTS),
        early: 0,
        iterations: 0,
    };

    // 1. Periodic.
    println!("1. a {PERIOD:?} periodic timeout, {PERIODIC_FIRINGS} times");
    let first = Tm::Periodic {
        n: 1,
        set_at: Instant::now(),
    };
    let _ = event_loop.timeout(first, PERIOD).expect("timer full");
    event_loop.run(&mut handler)?;

    // 2. 1,000 staggered timeouts.
    println!(
        "2. {TIMEOUTS} timeouts of {DELAY:?}, one set every {STAGGER:?} (paced by another thread)"
    );
    handler.iterations = 0;
    let tx = event_loop.channel();
    let pacer = thread::spawn(move || {
        let start = Instant::now();
        for i in 0..TIMEOUTS as u32 {
            // Paced on an absolute schedule; sleeping (not spinning) keeps a core free.
            let due = start + STAGGER * i;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                thread::sleep(wait);
            }
            tx.send(()).expect("the loop stopped early");
        }
    });
    event_loop.run(&mut handler)?;
    pacer.join().expect("pacer panicked");

    report(&mut handler);

    // 3. The same 1,000 timeouts, all set at once: nothing else wakes the loop.
    println!("3. {TIMEOUTS} timeouts of {DELAY:?}, all set at once");
    handler.iterations = 0;
    for _ in 0..TIMEOUTS {
        let set_at = Instant::now();
        let timeout = Tm::OneShot {
            set_at,
            delay: DELAY,
        };
        let _ = event_loop.timeout(timeout, DELAY).expect("timer full");
    }
    event_loop.run(&mut handler)?;
    report(&mut handler);

    // 4. Precision on an idle loop: delays of 1-300 ms.
    println!("4. {TIMEOUTS} timeouts of 1-300 ms, set at once, on an idle loop");
    handler.iterations = 0;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..TIMEOUTS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let delay = Duration::from_micros(1_000 + x % 299_000);
        let set_at = Instant::now();
        let timeout = Tm::OneShot { set_at, delay };
        let _ = event_loop.timeout(timeout, delay).expect("timer full");
    }
    event_loop.run(&mut handler)?;
    report(&mut handler);
    Ok(())
}
