//! Signals and child exits as event sources, per backend: latency from `kill` to the event,
//! signal round trips per second, and children reaped per second.
//!
//! ```sh
//! cargo bench -p ferrio-benches --bench signals            # every backend of this build
//! cargo bench -p ferrio-benches --bench signals -- 20000   # round trips per measurement
//! ```
//!
//! * **kill → event**: one thread sends `SIGUSR1` to its own process with `kill(2)` and polls
//!   a `Signals` source registered edge-triggered until it reports readable, then takes the
//!   pending set: the time from just before `kill` to just after `pending()`, per round trip
//!   (median and p99 of N).
//! * **signals per second**: the same round trip back to back, N times: how many signals one
//!   thread sends, receives through the source and takes per second.
//! * **children reaped per second**: 100 children (`cat`, each held back by its stdin) are
//!   spawned and watched by `ChildExit` sources registered on one poll; then their stdins are
//!   closed at once, and the time from there until every exit is reported and reaped gives
//!   children per second (the children's own exit is included; spawning is not).
//!
//! Wall time on a shared machine: compare backends within one run.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferrio::process::ChildExit;
use ferrio::signal::Signals;
use ferrio::{Backend, EventSet, Events, Poll, PollOpt, Token};

const CHILDREN: usize = 100;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Polls until `token` is reported, at most 10 s (a lost signal fails the bench).
fn wait_for(poll: &mut Poll, events: &mut Events, token: Token) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        poll.poll(events, Some(Duration::from_secs(1)))
            .expect("poll failed");
        if events.iter().any(|e| e.token() == token) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no event for 10 s: a lost signal"
        );
    }
}

fn signals(backend: Backend, n: usize) -> (Duration, Duration, f64) {
    let mut poll = Poll::with_backend(backend).expect("backend");
    let mut events = Events::with_capacity(8);
    let source = Signals::new([libc::SIGUSR1]).expect("Signals::new");
    poll.register(&source, Token(1), EventSet::readable(), PollOpt::edge())
        .expect("register");
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let mut samples = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t0 = Instant::now();
        // SAFETY: sends SIGUSR1 to this process, whose handler is ferrio's (installed above).
        assert_eq!(unsafe { libc::kill(pid, libc::SIGUSR1) }, 0);
        wait_for(&mut poll, &mut events, Token(1));
        let pending = source.pending().expect("pending");
        samples.push(t0.elapsed());
        assert!(
            pending.contains(libc::SIGUSR1),
            "the signal was not pending"
        );
    }
    let per_second = n as f64 / start.elapsed().as_secs_f64();
    samples.sort();
    (
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        per_second,
    )
}

fn children(backend: Backend) -> f64 {
    let mut poll = Poll::with_backend(backend).expect("backend");
    let mut events = Events::with_capacity(CHILDREN);
    // Each child is a `cat` held back by its stdin: closing them all lets all exit at once.
    let mut gates = Vec::with_capacity(CHILDREN);
    let mut exits: Vec<Option<ChildExit>> = (0..CHILDREN)
        .map(|i| {
            let child = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .expect("spawn cat");
            let mut exit = ChildExit::new(child).expect("ChildExit::new");
            gates.push(exit.take_stdin().expect("stdin"));
            poll.register(&exit, Token(i), EventSet::readable(), PollOpt::level())
                .expect("register");
            Some(exit)
        })
        .collect();
    let start = Instant::now();
    drop(gates);
    let mut left = CHILDREN;
    let deadline = Instant::now() + Duration::from_secs(30);
    while left > 0 {
        assert!(Instant::now() < deadline, "children not reaped in 30 s");
        poll.poll(&mut events, Some(Duration::from_secs(1)))
            .expect("poll failed");
        for event in &events {
            let slot = &mut exits[event.token().0];
            let Some(exit) = slot.as_mut() else { continue };
            if let Some(status) = exit.try_wait().expect("try_wait") {
                assert!(status.success(), "cat failed: {status}");
                poll.deregister(exit).expect("deregister");
                *slot = None;
                left -= 1;
            }
        }
    }
    CHILDREN as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(|a| a.parse().expect("round trips: a number"))
        .unwrap_or(20_000);
    println!("signals and child exits, {n} signal round trips and {CHILDREN} children per backend");
    println!("| backend | kill → event p50 | p99 | signal round trips/s | children reaped/s |");
    println!("|---|---:|---:|---:|---:|");
    for backend in Backend::ALL {
        let (p50, p99, per_second) = signals(backend, n);
        let reaped = children(backend);
        println!(
            "| {backend:?} | {:.2} µs | {:.2} µs | {:.0} k/s | {:.0} /s |",
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6,
            per_second / 1e3,
            reaped
        );
    }
}
