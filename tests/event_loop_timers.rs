//! `EventLoop` timers (spec section 5): `timeout_ms` and `timeout`, never early, at most once,
//! in deadline order, `clear_timeout` results, a full timer, a timeout value that owns a
//! socket, and the loop sleeping until the earliest deadline (not per tick), including an
//! strace check that an idle loop with one timer makes exactly one `epoll_wait`.
//!
//! "Never early" is a correctness assertion: `fired_at - set_at >= delay`, both measured with
//! `Instant`. Nothing asserts how late a timeout fires.

mod util;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use ferrio::tcp::TcpStream;
use ferrio::{
    EventLoop, EventLoopConfig, EventSet, Events, Handler, Poll, PollOpt, Timeout, TimerError,
    Token,
};

/// How long a watchdog lets a test's loop run before failing the test.
const WATCHDOG: Duration = Duration::from_secs(10);
/// The timeout id of the watchdog.
const WATCHDOG_ID: u32 = u32::MAX;

/// Sets timeouts, records when and in which iteration each fires, and shuts the loop down
/// once `expect` have fired.
#[derive(Default)]
struct Timers {
    /// `(id, set_at, delay)` per timeout set through `set`.
    set: Vec<(u32, Instant, Duration)>,
    /// `(id, fired_at, iteration)`.
    fired: Vec<(u32, Instant, usize)>,
    iteration: usize,
    expect: usize,
    /// Re-arm timeout `0` this many more times, with this delay.
    periodic: Option<(u32, Duration)>,
    /// Cleared from the first timeout callback: `(handle, clear_timeout's result)`.
    clear_in_callback: Option<(Timeout, Option<bool>)>,
}

impl Timers {
    fn set(&mut self, event_loop: &mut EventLoop<Timers>, id: u32, delay: Duration) -> Timeout {
        let set_at = Instant::now();
        let handle = event_loop.timeout(id, delay).unwrap();
        self.set.push((id, set_at, delay));
        handle
    }

    /// Asserts that every timeout fired exactly once and none fired early.
    fn assert_never_early(&self) {
        for &(id, set_at, delay) in &self.set {
            let fired: Vec<_> = self.fired.iter().filter(|f| f.0 == id).collect();
            assert_eq!(fired.len(), 1, "timeout {id} fired {} times", fired.len());
            let waited = fired[0].1 - set_at;
            assert!(
                waited >= delay,
                "timeout {id} fired early: after {waited:?}, delay {delay:?}"
            );
        }
    }

    fn fired_ids(&self) -> Vec<u32> {
        self.fired.iter().map(|f| f.0).collect()
    }
}

impl Handler for Timers {
    type Timeout = u32;
    type Message = ();

    fn timeout(&mut self, event_loop: &mut EventLoop<Timers>, id: u32) {
        assert_ne!(
            id,
            WATCHDOG_ID,
            "watchdog: fired so far {:?}",
            self.fired_ids()
        );
        self.fired.push((id, Instant::now(), self.iteration));
        if let Some((handle, result @ None)) = &mut self.clear_in_callback {
            *result = Some(event_loop.clear_timeout(*handle));
        }
        if let Some((left, delay)) = self.periodic {
            if left > 0 {
                self.periodic = Some((left - 1, delay));
                // A new id each time, so `assert_never_early` checks each period.
                let next = self.set.len() as u32;
                let _ = self.set(event_loop, next, delay);
                self.expect += 1;
            }
        }
        if self.fired.len() == self.expect {
            event_loop.shutdown();
        }
    }

    fn tick(&mut self, _: &mut EventLoop<Timers>) {
        self.iteration += 1;
    }
}

fn timer_loop(config: impl Into<EventLoopConfig>) -> EventLoop<Timers> {
    let mut event_loop = EventLoop::configured(config).unwrap();
    let _ = event_loop.timeout(WATCHDOG_ID, WATCHDOG).unwrap();
    event_loop
}

#[test]
fn timeouts_never_fire_early_fire_once_and_in_deadline_order() {
    let mut event_loop = timer_loop(EventLoopConfig::new());
    let mut handler = Timers::default();
    let delays = [
        Duration::ZERO,
        Duration::from_micros(300),
        Duration::from_millis(1),
        Duration::from_micros(1500),
        Duration::from_millis(2),
        Duration::from_micros(2700),
        Duration::from_millis(3),
        Duration::from_millis(5),
        Duration::from_millis(8),
        Duration::from_millis(13),
        Duration::from_millis(21),
        Duration::from_millis(34),
    ];
    // Set in increasing deadline order; `set` returns before the next is set, so deadlines
    // are non-decreasing and the firing order must be the setting order.
    for (id, delay) in delays.iter().enumerate() {
        let _ = handler.set(&mut event_loop, id as u32, *delay);
    }
    handler.expect = delays.len();
    event_loop.run(&mut handler).unwrap();
    handler.assert_never_early();
    assert_eq!(
        handler.fired_ids(),
        (0..delays.len() as u32).collect::<Vec<_>>()
    );
}

#[test]
fn timeouts_set_in_reverse_order_fire_in_deadline_order() {
    let mut event_loop = timer_loop(EventLoopConfig::new());
    let mut handler = Timers::default();
    for (id, ms) in [(0, 30), (1, 20), (2, 10)] {
        let _ = handler.set(&mut event_loop, id, Duration::from_millis(ms));
    }
    handler.expect = 3;
    event_loop.run(&mut handler).unwrap();
    handler.assert_never_early();
    assert_eq!(handler.fired_ids(), [2, 1, 0]);
}

#[test]
fn timeout_ms_and_the_duration_form_both_fire_with_their_values() {
    struct Values(Vec<&'static str>);
    impl Handler for Values {
        type Timeout = &'static str;
        type Message = ();
        fn timeout(&mut self, event_loop: &mut EventLoop<Values>, value: &'static str) {
            assert_ne!(value, "watchdog");
            self.0.push(value);
            if self.0.len() == 2 {
                event_loop.shutdown();
            }
        }
    }
    let mut event_loop = EventLoop::<Values>::new().unwrap();
    let _ = event_loop.timeout("watchdog", WATCHDOG).unwrap();
    let _ = event_loop.timeout_ms("ms", 2).unwrap();
    let _ = event_loop
        .timeout("duration", Duration::from_millis(4))
        .unwrap();
    let mut handler = Values(Vec::new());
    event_loop.run(&mut handler).unwrap();
    assert_eq!(handler.0, ["ms", "duration"]);
}

#[test]
fn a_periodic_timeout_rearmed_in_its_callback_is_never_early() {
    let mut event_loop = timer_loop(EventLoopConfig::new());
    let mut handler = Timers {
        periodic: Some((9, Duration::from_millis(3))),
        expect: 1,
        ..Timers::default()
    };
    let _ = handler.set(&mut event_loop, 0, Duration::from_millis(3));
    event_loop.run(&mut handler).unwrap();
    assert_eq!(handler.fired.len(), 10);
    handler.assert_never_early();
}

#[test]
fn a_coarse_tick_is_never_early_either() {
    let mut event_loop = timer_loop(EventLoopConfig::new().timer_tick_ms(10));
    let mut handler = Timers::default();
    for (id, ms) in [(0, 1), (1, 9), (2, 11), (3, 25)] {
        let _ = handler.set(&mut event_loop, id, Duration::from_millis(ms));
    }
    handler.expect = 4;
    event_loop.run(&mut handler).unwrap();
    handler.assert_never_early();
}

#[test]
fn a_fine_tick_is_never_early_either() {
    let mut config = EventLoopConfig::new();
    config.timer_tick(Duration::from_micros(50));
    let mut event_loop = timer_loop(config);
    let mut handler = Timers::default();
    for (id, us) in [(0, 120), (1, 480), (2, 1_050), (3, 2_222)] {
        let _ = handler.set(&mut event_loop, id, Duration::from_micros(us));
    }
    handler.expect = 4;
    event_loop.run(&mut handler).unwrap();
    handler.assert_never_early();
}

#[test]
fn the_loop_sleeps_until_the_earliest_deadline_not_per_tick() {
    // No watchdog here: it would be a second deadline. The timeouts end the loop.
    let mut event_loop = EventLoop::<Timers>::new().unwrap();
    let mut handler = Timers {
        expect: 2,
        ..Timers::default()
    };
    let _ = handler.set(&mut event_loop, 0, Duration::from_millis(40));
    let _ = handler.set(&mut event_loop, 1, Duration::from_millis(80));
    event_loop.run(&mut handler).unwrap();
    handler.assert_never_early();
    // One iteration (one wait) per deadline: with a 1 ms tick, a loop that woke per tick
    // would have iterated about 80 times.
    let iterations: Vec<usize> = handler.fired.iter().map(|f| f.2).collect();
    assert_eq!(
        iterations,
        [0, 1],
        "each timeout must fire at the end of one wait"
    );
    assert_eq!(handler.iteration, 2);
}

#[test]
fn run_once_with_a_long_timeout_returns_when_a_timer_is_due() {
    let mut event_loop = EventLoop::<Timers>::new().unwrap();
    let mut handler = Timers::default();
    let _ = handler.set(&mut event_loop, 0, Duration::from_millis(20));
    // Bounded: if the timer did not shorten the wait, this would take the full 10 s and
    // report nothing.
    event_loop
        .run_once_timeout(&mut handler, Some(WATCHDOG))
        .unwrap();
    assert_eq!(handler.fired_ids(), [0]);
    assert_eq!(handler.iteration, 1);
    handler.assert_never_early();
}

#[test]
fn run_once_with_a_short_timeout_returns_before_a_later_timer() {
    let mut event_loop = EventLoop::<Timers>::new().unwrap();
    let mut handler = Timers::default();
    let _ = handler.set(&mut event_loop, 0, Duration::from_secs(5));
    event_loop.run_once(&mut handler, Some(10)).unwrap();
    assert!(handler.fired.is_empty());
    assert_eq!(handler.iteration, 1);
}

#[test]
fn clear_timeout_is_true_only_for_a_pending_timeout() {
    let mut event_loop = timer_loop(EventLoopConfig::new());
    let mut handler = Timers::default();
    let cleared = handler.set(&mut event_loop, 0, Duration::from_millis(5));
    let fires = handler.set(&mut event_loop, 1, Duration::from_millis(10));
    assert!(event_loop.clear_timeout(cleared), "pending: true");
    assert!(!event_loop.clear_timeout(cleared), "already cleared: false");
    handler.expect = 1;
    event_loop.run(&mut handler).unwrap();
    // The cleared one never fired, although its deadline passed first.
    assert_eq!(handler.fired_ids(), [1]);
    assert!(!event_loop.clear_timeout(fires), "already fired: false");
}

#[test]
fn a_stale_handle_does_not_cancel_the_timeout_reusing_its_slot() {
    // Capacity 2: the watchdog and one more, so the second timeout reuses the first's entry.
    let mut event_loop = timer_loop(EventLoopConfig::new().timer_capacity(2));
    let mut handler = Timers::default();
    let first = handler.set(&mut event_loop, 0, Duration::from_millis(1));
    handler.expect = 1;
    event_loop.run(&mut handler).unwrap();
    let second = handler.set(&mut event_loop, 1, Duration::from_millis(2));
    assert_ne!(first, second);
    assert!(
        !event_loop.clear_timeout(first),
        "fired, slot reused: false"
    );
    handler.expect = 2;
    event_loop.run(&mut handler).unwrap();
    assert_eq!(handler.fired_ids(), [0, 1]);

    // The same with a cleared (not fired) first handle.
    let third = handler.set(&mut event_loop, 2, Duration::from_millis(1));
    assert!(event_loop.clear_timeout(third));
    let _fourth = handler.set(&mut event_loop, 3, Duration::from_millis(1));
    assert!(
        !event_loop.clear_timeout(third),
        "cleared, slot reused: false"
    );
    handler.expect = 3;
    event_loop.run(&mut handler).unwrap();
    assert_eq!(handler.fired_ids(), [0, 1, 3]);
}

#[test]
fn clearing_a_timeout_due_in_the_same_batch_cancels_it() {
    let mut event_loop = timer_loop(EventLoopConfig::new());
    let mut handler = Timers::default();
    let _ = handler.set(&mut event_loop, 0, Duration::from_millis(1));
    let second = handler.set(&mut event_loop, 1, Duration::from_millis(1));
    let _ = handler.set(&mut event_loop, 2, Duration::from_millis(20));
    handler.clear_in_callback = Some((second, None));
    // Let both be due before the first iteration, so they are in one batch.
    let due = Instant::now() + Duration::from_millis(3);
    while Instant::now() < due {
        std::hint::spin_loop();
    }
    handler.expect = 2;
    event_loop.run(&mut handler).unwrap();
    assert_eq!(handler.clear_in_callback.unwrap().1, Some(true));
    assert_eq!(handler.fired_ids(), [0, 2]);
}

#[test]
fn clear_timeout_on_a_loop_without_timeouts_is_false() {
    let mut other = EventLoop::<Timers>::new().unwrap();
    let handle = other.timeout(1, Duration::from_secs(60)).unwrap();
    let mut fresh = EventLoop::<Timers>::new().unwrap();
    assert!(!fresh.clear_timeout(handle));
    assert!(other.clear_timeout(handle));
}

#[test]
fn a_full_timer_refuses_and_hands_the_value_back() {
    let mut config = EventLoopConfig::new();
    config.timer_capacity(2);
    let mut event_loop = EventLoop::<Timers>::configured(config).unwrap();
    let a = event_loop.timeout_ms(0, 1_000).unwrap();
    let _ = event_loop.timeout(1, Duration::from_secs(1)).unwrap();
    assert_eq!(event_loop.timeout_ms(2, 1), Err(TimerError));
    assert_eq!(
        event_loop.timeout(2, Duration::from_millis(1)),
        Err(TimerError)
    );
    assert_eq!(
        event_loop.try_timeout(2, Duration::ZERO),
        Err((TimerError, 2))
    );
    assert!(!TimerError.to_string().is_empty());
    let _: &dyn std::error::Error = &TimerError;
    // Room again after a clear.
    assert!(event_loop.clear_timeout(a));
    let _ = event_loop.timeout_ms(2, 1).unwrap();
}

#[test]
fn huge_delays_do_not_overflow_and_never_fire() {
    let mut event_loop = EventLoop::<Timers>::new().unwrap();
    let mut handler = Timers::default();
    let a = event_loop.timeout_ms(0, u64::MAX).unwrap();
    let b = event_loop.timeout(1, Duration::MAX).unwrap();
    event_loop.run_once(&mut handler, Some(5)).unwrap();
    assert!(handler.fired.is_empty());
    assert!(event_loop.clear_timeout(a));
    assert!(event_loop.clear_timeout(b));
}

// ---- A timeout value that owns a socket ----

/// Timeouts carry a `TcpStream`: the callback greets through it and drops it.
struct Greeter {
    fired: usize,
}

impl Handler for Greeter {
    type Timeout = Option<TcpStream>;
    type Message = ();

    fn timeout(&mut self, event_loop: &mut EventLoop<Greeter>, stream: Option<TcpStream>) {
        let mut stream = stream.expect("watchdog");
        stream.write_all(b"hello").unwrap();
        self.fired += 1;
        event_loop.shutdown();
        // `stream` is dropped here: the peer sees EOF after the greeting.
    }
}

/// Reads everything until EOF from `stream`, waiting (bounded) on a private `Poll`.
fn read_to_eof(stream: &mut TcpStream) -> Vec<u8> {
    let mut poll = Poll::new().unwrap();
    poll.register(stream, Token(0), EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(4);
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    for _ in 0..100 {
        match stream.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                util::poll_once(&mut poll, &mut events, Duration::from_millis(500));
            }
            Err(e) => panic!("read failed: {e}"),
        }
    }
    panic!("no EOF; got {got:?}");
}

#[test]
fn a_timeout_value_owning_a_tcp_stream_moves_through_the_timer() {
    let (mut fired_peer, fired_end) = util::tcp_pair();
    let (mut cleared_peer, cleared_end) = util::tcp_pair();
    let mut event_loop = EventLoop::<Greeter>::new().unwrap();
    let _ = event_loop.timeout(None, WATCHDOG).unwrap();
    let _ = event_loop.timeout_ms(Some(fired_end), 5).unwrap();
    let cleared = event_loop
        .timeout(Some(cleared_end), Duration::from_secs(60))
        .unwrap();
    // Clearing drops the value: that stream closes without a greeting.
    assert!(event_loop.clear_timeout(cleared));
    assert_eq!(read_to_eof(&mut cleared_peer), b"");

    let mut handler = Greeter { fired: 0 };
    event_loop.run(&mut handler).unwrap();
    assert_eq!(handler.fired, 1);
    assert_eq!(read_to_eof(&mut fired_peer), b"hello");
}

// ---- strace: an idle loop with one timer waits once ----

/// The scenario traced by `an_idle_loop_waits_once_per_deadline`: a loop with no IO, no
/// channel and one 300 ms timeout.
// Linux only: the syscalls are counted with strace.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "a child scenario: traced by an_idle_loop_waits_once_per_deadline"]
fn strace_child_idle_timer() {
    util::child_scenario("strace_child_idle_timer");
    let mut event_loop = EventLoop::<Timers>::new().unwrap();
    let mut handler = Timers {
        expect: 1,
        ..Timers::default()
    };
    let _ = handler.set(&mut event_loop, 0, Duration::from_millis(300));
    event_loop.run(&mut handler).unwrap();
    handler.assert_never_early();
    assert_eq!(handler.iteration, 1);
    println!("child: the idle loop fired its one timer");
}

// Linux only: the syscalls are counted with strace.
#[cfg(target_os = "linux")]
#[test]
fn an_idle_loop_waits_once_per_deadline() {
    let Some(text) = util::strace_child_test(
        "strace_child_idle_timer",
        &[],
        &[
            "-e",
            "trace=epoll_wait,epoll_pwait,epoll_pwait2,ppoll,poll,io_uring_enter,write",
        ],
        "child: the idle loop fired its one timer",
    ) else {
        return;
    };
    // The harness's own output proves the scenario ran under the tracer.
    assert!(
        text.contains("strace_child_idle_timer"),
        "the scenario did not run under strace: {text}"
    );
    // "<... epoll_wait resumed>" lines have no "(": each call is counted once.
    let waits: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains("epoll_wait(")
                || l.contains("epoll_pwait(")
                || l.contains("epoll_pwait2(")
                || l.contains("ppoll(")
                // poll(2)'s portable form (`--cfg ferrio_portable`) waits in plain `poll`
                // (not std's start-up check that fds 0 to 2 are open).
                || (l.contains(" poll(") && !l.contains("{fd=0, events=0}"))
                // A submit-only enter (the ring's set-up probe) does not wait.
                || (l.contains("io_uring_enter(") && l.contains("GETEVENTS"))
        })
        .collect();
    // One wait until the deadline; a timed wait may be made in two (the timeout less the
    // kernel's slack estimate, then the rest, at most 0.1 % of 300 ms: see
    // `sys::timeout::precise`), so a second, short wait may follow. Never more: the idle loop
    // does not tick.
    assert!(
        matches!(waits.len(), 1 | 2),
        "expected one wait (or one plus the short rest) for the 300 ms timeout, trace:\n{text}"
    );
    let timeout_of = |wait: &str| -> Option<Duration> {
        if wait.contains("epoll_wait(") || wait.contains(" poll(") {
            // The last argument, in ms.
            wait.split(')')
                .next()
                .and_then(|args| args.rsplit(", ").next())
                .and_then(|ms| ms.trim().parse::<u64>().ok())
                .map(Duration::from_millis)
        } else if wait.contains("epoll_pwait2(") || wait.contains("ppoll(") {
            // strace shows the timespec argument: {tv_sec=S, tv_nsec=N}.
            let field = |name: &str| -> Option<u64> {
                let rest = &wait[wait.find(name)? + name.len()..];
                rest[..rest.find(|c: char| !c.is_ascii_digit())?]
                    .parse()
                    .ok()
            };
            Some(Duration::new(field("tv_sec=")?, field("tv_nsec=")? as u32))
        } else {
            // io_uring_enter passes its timeout through the ring (strace cannot show it):
            // the count of waits is the check there.
            None
        }
    };
    if let Some(first) = timeout_of(waits[0]) {
        // It blocks until (about) the deadline: not a zero timeout, not a tick.
        assert!(
            first >= Duration::from_millis(250),
            "the first wait must block until the deadline: {}",
            waits[0]
        );
    }
    if let Some(second) = waits.get(1) {
        let rest = timeout_of(second);
        assert!(
            rest.map_or(true, |rest| rest <= Duration::from_millis(1)),
            "a second wait is only the short rest after the slack estimate: {second}"
        );
    }
}

#[test]
fn handles_from_another_loop_cancel_and_reset_nothing() {
    let mut a = timer_loop(EventLoopConfig::new());
    let mut b = timer_loop(EventLoopConfig::new());
    let mut in_a = Timers::default();
    let mut in_b = Timers::default();
    // Same order of inserts on both loops: the handles name the same entry and generation.
    let from_a = in_a.set(&mut a, 0, Duration::from_millis(2));
    let _own = in_b.set(&mut b, 0, Duration::from_millis(2));
    assert!(!b.clear_timeout(from_a), "a's handle cancelled b's timeout");
    assert!(!b.reset_timeout(from_a, Duration::from_secs(60)));
    in_b.expect = 1;
    b.run(&mut in_b).unwrap();
    in_b.assert_never_early();
    in_a.expect = 1;
    a.run(&mut in_a).unwrap();
    in_a.assert_never_early();
    assert!(!a.clear_timeout(from_a), "fired: stale");
}

/// Pushes one idle timeout back from `tick` a number of times, as a server does on every
/// event, and records when each push-back was made and when the timeout fired.
struct PushedBack {
    idle: Option<ferrio::Timeout>,
    delay: Duration,
    pushes_left: usize,
    last_push: Option<Instant>,
    fired: Vec<Instant>,
    resets_refused: usize,
}

impl Handler for PushedBack {
    type Timeout = u32;
    type Message = ();

    fn timeout(&mut self, event_loop: &mut EventLoop<PushedBack>, id: u32) {
        assert_ne!(id, WATCHDOG_ID, "watchdog");
        self.fired.push(Instant::now());
        // The handle is stale now.
        if !event_loop.reset_timeout(self.idle.unwrap(), self.delay) {
            self.resets_refused += 1;
        }
        event_loop.shutdown();
    }

    fn tick(&mut self, event_loop: &mut EventLoop<PushedBack>) {
        // Once the timeout has fired (an iteration stalled past the delay, as on a loaded
        // machine under Wine), there is nothing left to push back.
        if self.pushes_left > 0 && self.fired.is_empty() {
            self.pushes_left -= 1;
            let at = Instant::now();
            assert!(event_loop.reset_timeout(self.idle.unwrap(), self.delay));
            self.last_push = Some(at);
        }
    }
}

#[test]
fn an_idle_timeout_pushed_back_from_callbacks_fires_once_never_early() {
    let mut event_loop = EventLoop::<PushedBack>::new().unwrap();
    let _ = event_loop.timeout(WATCHDOG_ID, WATCHDOG).unwrap();
    let delay = Duration::from_millis(20);
    let set_at = Instant::now();
    let idle = event_loop.timeout(1, delay).unwrap();
    let mut handler = PushedBack {
        idle: Some(idle),
        delay,
        pushes_left: 200,
        last_push: None,
        fired: Vec::new(),
        resets_refused: 0,
    };
    // Iterations without IO: each `tick` pushes the deadline back, normally before it is
    // reached; an iteration that stalls past the delay lets it fire, which ends the pushes.
    while handler.pushes_left > 0 && handler.fired.is_empty() {
        event_loop.run_once(&mut handler, Some(0)).unwrap();
    }
    if handler.fired.is_empty() {
        event_loop.run(&mut handler).unwrap();
    }
    assert_eq!(handler.fired.len(), 1);
    let since_last_push = handler.fired[0] - handler.last_push.unwrap_or(set_at);
    assert!(
        since_last_push >= delay,
        "fired {since_last_push:?} after the last push-back, delay {delay:?}"
    );
    assert!(handler.fired[0] - set_at >= delay);
    assert_eq!(handler.resets_refused, 1);
}

#[test]
fn reset_timeout_outside_callbacks_moves_the_deadline_both_ways() {
    let mut event_loop = timer_loop(EventLoopConfig::new());
    let mut handler = Timers::default();
    // Later: set for 1 ms, pushed to 30 ms.
    let late = handler.set(&mut event_loop, 0, Duration::from_millis(1));
    let pushed_at = Instant::now();
    assert!(event_loop.reset_timeout_ms(late, 30));
    handler.set[0] = (0, pushed_at, Duration::from_millis(30));
    // Earlier: set for an hour, pulled in to 2 ms.
    let early = handler.set(&mut event_loop, 1, Duration::from_secs(3600));
    let pulled_at = Instant::now();
    assert!(event_loop.reset_timeout(early, Duration::from_millis(2)));
    handler.set[1] = (1, pulled_at, Duration::from_millis(2));
    handler.expect = 2;
    event_loop.run(&mut handler).unwrap();
    handler.assert_never_early();
    assert_eq!(handler.fired_ids(), [1, 0]);
    assert!(!event_loop.reset_timeout(late, Duration::ZERO), "stale");
}
