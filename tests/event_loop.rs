//! `EventLoop` (spec section 5): iteration order, the message channel, shutdown, `run_once`,
//! deregistration within a batch, the reserved token, level-triggered readiness, `EINTR`, and
//! registration from other threads. Timers are in `event_loop_timers.rs`, allocation counts
//! in `event_loop_allocations.rs`.
//!
//! Every `run` is bounded by a watchdog timeout that panics, so a loop that sleeps when it
//! must not fails the test instead of hanging it.

mod util;

use std::io::{self, Read, Write};
#[cfg(unix)]
use std::os::fd::AsRawFd;
#[cfg(unix)]
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ferrio::tcp::TcpStream;
#[cfg(unix)]
use ferrio::unix::{pipe, EventedFd, PipeReader, PipeWriter};
// Windows has no ferrio pipes and no EventedFd: a loopback TCP pair stands in for a pipe and
// EventedSocket for EventedFd (the tests' `as_raw_fd()` reads the socket there).
#[cfg(windows)]
use ferrio::windows::EventedSocket as EventedFd;
#[cfg(windows)]
use util::AsRawFd;
#[cfg(windows)]
type PipeReader = TcpStream;
#[cfg(windows)]
type PipeWriter = TcpStream;

/// Windows: a connected loopback TCP pair as (reader, writer).
#[cfg(windows)]
fn pipe() -> io::Result<(PipeReader, PipeWriter)> {
    let (writer, reader) = util::tcp_pair();
    Ok((reader, writer))
}
use ferrio::{
    EventLoop, EventLoopConfig, EventSet, Handler, NotifyError, PollOpt, Sender, Token, TryRead,
};

use util::assert_error_kind;

/// How long a watchdog lets a test's loop run before failing the test.
const WATCHDOG: Duration = Duration::from_secs(10);

/// One callback, as recorded by the handlers below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Ready(Token),
    Notify(u32),
    Timeout(u32),
    Interrupted,
    Tick,
}

/// What a recording handler's timeouts carry: a value to record, or the watchdog.
#[derive(Debug)]
enum Tm {
    Value(u32),
    Watchdog,
}

/// A pipe whose reader is readable (it holds one unread byte).
fn readable_pipe() -> (PipeReader, PipeWriter) {
    let (reader, mut writer) = pipe().unwrap();
    writer.write_all(b"x").unwrap();
    (reader, writer)
}

/// Busy-waits until `instant` has passed, so a timeout set with a deadline before it is due.
///
/// Not synchronisation with another thread: the loop reads the same monotonic clock, so
/// once this returns the timeout is due, deterministically.
fn let_pass(instant: Instant) {
    while Instant::now() < instant {
        std::hint::spin_loop();
    }
}

/// Records every callback; optionally shuts down on one, or on the n-th tick.
#[derive(Default)]
struct Recorder {
    calls: Vec<Call>,
    shutdown_on: Option<Call>,
    shutdown_after_ticks: Option<usize>,
    ticks: usize,
    /// `is_running` as seen before and after the callback's own `shutdown`.
    running_seen: Vec<(bool, bool)>,
}

impl Recorder {
    fn record(&mut self, event_loop: &mut EventLoop<Recorder>, call: Call) {
        self.calls.push(call);
        if self.shutdown_on == Some(call) {
            let before = event_loop.is_running();
            event_loop.shutdown();
            self.running_seen.push((before, event_loop.is_running()));
        }
    }

    /// The calls of iteration `n` (0-based), each iteration ending with `Tick`.
    fn iteration(&self, n: usize) -> Vec<Call> {
        self.calls
            .split_inclusive(|c| *c == Call::Tick)
            .nth(n)
            .map(<[Call]>::to_vec)
            .unwrap_or_default()
    }
}

impl Handler for Recorder {
    type Timeout = Tm;
    type Message = u32;

    fn ready(&mut self, event_loop: &mut EventLoop<Recorder>, token: Token, _: EventSet) {
        assert_ne!(
            token,
            Token(usize::MAX),
            "the reserved token reached user code"
        );
        self.record(event_loop, Call::Ready(token));
    }

    fn notify(&mut self, event_loop: &mut EventLoop<Recorder>, msg: u32) {
        self.record(event_loop, Call::Notify(msg));
    }

    fn timeout(&mut self, event_loop: &mut EventLoop<Recorder>, timeout: Tm) {
        match timeout {
            Tm::Value(v) => self.record(event_loop, Call::Timeout(v)),
            Tm::Watchdog => panic!("watchdog: the loop did not finish; calls {:?}", self.calls),
        }
    }

    fn interrupted(&mut self, event_loop: &mut EventLoop<Recorder>) {
        self.record(event_loop, Call::Interrupted);
    }

    fn tick(&mut self, event_loop: &mut EventLoop<Recorder>) {
        self.record(event_loop, Call::Tick);
        self.ticks += 1;
        if self.shutdown_after_ticks == Some(self.ticks) {
            event_loop.shutdown();
        }
    }
}

fn watchdog<H: Handler<Timeout = Tm>>(event_loop: &mut EventLoop<H>) {
    let _ = event_loop.timeout(Tm::Watchdog, WATCHDOG).unwrap();
}

#[test]
fn one_iteration_calls_ready_then_notify_then_timeout_then_tick() {
    let mut event_loop = EventLoop::<Recorder>::new().unwrap();
    let (reader, _writer) = readable_pipe();
    event_loop
        .register(&reader, Token(3), EventSet::readable(), PollOpt::level())
        .unwrap();
    let tx = event_loop.channel();
    tx.send(7).unwrap();
    let set_at = Instant::now();
    let _ = event_loop.timeout_ms(Tm::Value(9), 1).unwrap();
    // Due after 1 ms, rounded up to the next 1 ms tick.
    let_pass(set_at + Duration::from_millis(3));

    let mut handler = Recorder::default();
    event_loop.run_once(&mut handler, None).unwrap();
    assert_eq!(
        handler.calls,
        [
            Call::Ready(Token(3)),
            Call::Notify(7),
            Call::Timeout(9),
            Call::Tick
        ]
    );
}

#[test]
fn messages_arrive_in_fifo_order_across_threads() {
    let mut event_loop = EventLoop::<Recorder>::new().unwrap();
    watchdog(&mut event_loop);
    let tx = event_loop.channel();
    let producer = thread::spawn(move || {
        for i in 0..1000 {
            tx.send(i).unwrap();
        }
    });
    let mut handler = Recorder {
        shutdown_on: Some(Call::Notify(999)),
        ..Recorder::default()
    };
    event_loop.run(&mut handler).unwrap();
    producer.join().unwrap();
    let got: Vec<u32> = handler
        .calls
        .iter()
        .filter_map(|c| match c {
            Call::Notify(m) => Some(*m),
            _ => None,
        })
        .collect();
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
}

#[test]
fn messages_beyond_messages_per_tick_carry_over_without_sleeping() {
    let mut config = EventLoopConfig::new();
    config.messages_per_tick(3);
    let mut event_loop = EventLoop::<Recorder>::configured(config).unwrap();
    // If the loop slept with messages queued, only this would end the sleep: the test fails.
    watchdog(&mut event_loop);
    let tx = event_loop.channel();
    for i in 0..10 {
        tx.send(i).unwrap();
    }
    let mut handler = Recorder::default();
    for _ in 0..4 {
        event_loop.run_once(&mut handler, None).unwrap();
    }
    let notify = |msgs: &[u32]| {
        let mut calls: Vec<Call> = msgs.iter().map(|&m| Call::Notify(m)).collect();
        calls.push(Call::Tick);
        calls
    };
    assert_eq!(handler.iteration(0), notify(&[0, 1, 2]));
    assert_eq!(handler.iteration(1), notify(&[3, 4, 5]));
    assert_eq!(handler.iteration(2), notify(&[6, 7, 8]));
    assert_eq!(handler.iteration(3), notify(&[9]));
}

#[test]
fn send_is_full_at_capacity_and_recovers_after_draining() {
    let mut config = EventLoopConfig::new();
    config.notify_capacity(4);
    let mut event_loop = EventLoop::<Recorder>::configured(config).unwrap();
    let tx = event_loop.channel();
    assert_eq!(tx.capacity(), 4);
    for i in 0..4 {
        tx.send(i).unwrap();
    }
    match tx.send(4) {
        Err(NotifyError::Full(4)) => {}
        other => panic!("expected Full(4), got {other:?}"),
    }
    let mut handler = Recorder::default();
    event_loop.run_once(&mut handler, Some(0)).unwrap();
    assert_eq!(
        handler.calls,
        [
            Call::Notify(0),
            Call::Notify(1),
            Call::Notify(2),
            Call::Notify(3),
            Call::Tick
        ]
    );
    // Drained: there is room for `capacity` messages again.
    for i in 10..14 {
        tx.send(i).unwrap();
    }
    assert!(matches!(tx.send(14), Err(NotifyError::Full(14))));
}

/// A message that counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

struct CountedHandler;

impl Handler for CountedHandler {
    type Timeout = ();
    type Message = Counted;
}

#[test]
fn dropping_the_loop_closes_the_channel_and_drops_queued_messages_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let event_loop = EventLoop::<CountedHandler>::new().unwrap();
    let tx = event_loop.channel();
    let tx2 = tx.clone();
    for _ in 0..3 {
        tx.send(Counted(Arc::clone(&drops))).unwrap();
    }
    assert!(!tx.is_closed());
    drop(event_loop);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    assert!(tx.is_closed());
    match tx2.send(Counted(Arc::clone(&drops))) {
        Err(NotifyError::Closed(Some(msg))) => {
            // Handed back untouched: not dropped by the channel.
            assert_eq!(drops.load(Ordering::SeqCst), 3);
            drop(msg);
        }
        other => panic!("expected Closed(Some(_)), got {:?}", other.map(|_| ())),
    }
    assert_eq!(drops.load(Ordering::SeqCst), 4);
    drop((tx, tx2));
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

/// Echoes every message below a limit back to its own loop.
struct Echo {
    tx: Sender<u32>,
    iteration: usize,
    got: Vec<(usize, u32)>,
}

impl Handler for Echo {
    type Timeout = Tm;
    type Message = u32;

    fn notify(&mut self, event_loop: &mut EventLoop<Echo>, msg: u32) {
        self.got.push((self.iteration, msg));
        if msg < 5 {
            self.tx.send(msg + 1).unwrap();
        } else {
            event_loop.shutdown();
        }
    }

    fn timeout(&mut self, _: &mut EventLoop<Echo>, _: Tm) {
        panic!("watchdog: got {:?}", self.got);
    }

    fn tick(&mut self, _: &mut EventLoop<Echo>) {
        self.iteration += 1;
    }
}

#[test]
fn a_message_sent_from_notify_arrives_in_a_later_iteration() {
    let mut event_loop = EventLoop::<Echo>::new().unwrap();
    watchdog(&mut event_loop);
    let tx = event_loop.channel();
    tx.send(0).unwrap();
    let mut handler = Echo {
        tx,
        iteration: 0,
        got: Vec::new(),
    };
    event_loop.run(&mut handler).unwrap();
    // One message per iteration, although the default messages_per_tick (256) would allow
    // more; and the loop did not sleep in between (the watchdog would have fired).
    assert_eq!(
        handler.got,
        [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]
    );
}

#[test]
fn shutdown_finishes_the_current_iteration_then_run_returns() {
    let mut event_loop = EventLoop::<Recorder>::new().unwrap();
    watchdog(&mut event_loop);
    let (reader, _writer) = readable_pipe();
    event_loop
        .register(&reader, Token(1), EventSet::readable(), PollOpt::level())
        .unwrap();
    let tx = event_loop.channel();
    tx.send(1).unwrap();
    let set_at = Instant::now();
    let _ = event_loop.timeout_ms(Tm::Value(2), 1).unwrap();
    let_pass(set_at + Duration::from_millis(3));

    let mut handler = Recorder {
        shutdown_on: Some(Call::Ready(Token(1))),
        ..Recorder::default()
    };
    assert!(!event_loop.is_running());
    event_loop.run(&mut handler).unwrap();
    assert!(!event_loop.is_running());
    // The rest of the iteration ran after shutdown, and no further iteration.
    assert_eq!(
        handler.calls,
        [
            Call::Ready(Token(1)),
            Call::Notify(1),
            Call::Timeout(2),
            Call::Tick
        ]
    );
    // Inside run, is_running was true until the callback's own shutdown.
    assert_eq!(handler.running_seen, [(true, false)]);

    // run can be called again: the level-triggered pipe is still readable.
    tx.send(3).unwrap();
    handler.calls.clear();
    handler.running_seen.clear();
    handler.shutdown_on = Some(Call::Notify(3));
    event_loop.run(&mut handler).unwrap();
    assert_eq!(
        handler.calls,
        [Call::Ready(Token(1)), Call::Notify(3), Call::Tick]
    );
    assert_eq!(handler.running_seen, [(true, false)]);
    assert!(!event_loop.is_running());
}

#[test]
fn shutdown_in_tick_stops_after_that_iteration() {
    let mut event_loop = EventLoop::<Recorder>::new().unwrap();
    watchdog(&mut event_loop);
    let (reader, _writer) = readable_pipe();
    event_loop
        .register(&reader, Token(0), EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut handler = Recorder {
        shutdown_after_ticks: Some(3),
        ..Recorder::default()
    };
    event_loop.run(&mut handler).unwrap();
    assert_eq!(handler.ticks, 3);
}

#[test]
fn run_once_outside_run_is_not_running() {
    struct Probe(Vec<bool>);
    impl Handler for Probe {
        type Timeout = ();
        type Message = ();
        fn tick(&mut self, event_loop: &mut EventLoop<Probe>) {
            self.0.push(event_loop.is_running());
        }
    }
    let mut event_loop = EventLoop::<Probe>::new().unwrap();
    let mut probe = Probe(Vec::new());
    event_loop.run_once(&mut probe, Some(0)).unwrap();
    assert_eq!(probe.0, [false]);
}

#[test]
fn run_once_returns_after_its_timeout_with_only_a_tick() {
    let mut event_loop = EventLoop::<Recorder>::new().unwrap();
    let mut handler = Recorder::default();
    let timeout = Duration::from_millis(30);
    let start = Instant::now();
    event_loop
        .run_once_timeout(&mut handler, Some(timeout))
        .unwrap();
    // A correctness bound, not a performance one: the wait is rounded up, never down.
    assert!(
        start.elapsed() >= timeout,
        "returned early: {:?}",
        start.elapsed()
    );
    assert_eq!(handler.calls, [Call::Tick]);
}

#[test]
fn run_once_returns_when_a_message_arrives_from_another_thread() {
    let mut event_loop = EventLoop::<Recorder>::new().unwrap();
    let tx = event_loop.channel();
    let mut handler = Recorder::default();
    let sender = thread::spawn(move || tx.send(42).unwrap());
    // Bounded: a lost wake-up would make this wait the full 10 s and see no message.
    for _ in 0..2 {
        event_loop
            .run_once_timeout(&mut handler, Some(WATCHDOG))
            .unwrap();
        if handler.calls.contains(&Call::Notify(42)) {
            break;
        }
    }
    sender.join().unwrap();
    assert!(
        handler.calls.contains(&Call::Notify(42)),
        "{:?}",
        handler.calls
    );
}

#[test]
fn level_triggered_readiness_is_reported_every_iteration() {
    let mut event_loop = EventLoop::<Recorder>::new().unwrap();
    let (reader, _writer) = readable_pipe();
    event_loop
        .register(&reader, Token(5), EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut handler = Recorder::default();
    for _ in 0..3 {
        event_loop
            .run_once_timeout(&mut handler, Some(WATCHDOG))
            .unwrap();
    }
    assert_eq!(
        handler.calls,
        [Call::Ready(Token(5)), Call::Tick].repeat(3),
        "level-triggered readiness must be re-reported while the byte is unread"
    );
}

#[test]
fn edge_triggered_readiness_is_reported_once_per_change() {
    let mut event_loop = EventLoop::<Recorder>::new().unwrap();
    let (reader, mut writer) = readable_pipe();
    event_loop
        .register(&reader, Token(5), EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut handler = Recorder::default();
    event_loop
        .run_once_timeout(&mut handler, Some(WATCHDOG))
        .unwrap();
    // A bounded negative check: nothing changed, so nothing is reported.
    event_loop.run_once(&mut handler, Some(50)).unwrap();
    writer.write_all(b"y").unwrap();
    if matches!(
        event_loop.registry().backend(),
        ferrio::Backend::Poll | ferrio::Backend::Iocp
    ) {
        // Documented difference (`Backend::Poll`, `Backend::Iocp`): an emulated edge re-arms
        // on the source's
        // own IO, not on new data, so without a read in between no second event comes.
        event_loop.run_once(&mut handler, Some(50)).unwrap();
        assert_eq!(
            handler.calls,
            [Call::Ready(Token(5)), Call::Tick, Call::Tick, Call::Tick]
        );
        return;
    }
    event_loop
        .run_once_timeout(&mut handler, Some(WATCHDOG))
        .unwrap();
    assert_eq!(
        handler.calls,
        [
            Call::Ready(Token(5)),
            Call::Tick,
            Call::Tick,
            Call::Ready(Token(5)),
            Call::Tick
        ]
    );
}

/// How a `Skipper` removes the other source when the first of two is reported.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Removal {
    /// Control: remove nothing.
    Nothing,
    /// `event_loop.deregister(&other)`.
    Deregister,
    /// `event_loop.registry().deregister(&other)`.
    DeregisterViaRegistry,
    /// Drop the other source.
    Drop,
    /// Deregister it, then register a fresh source under the same token.
    DeregisterAndReuseToken,
    /// Both pipes are registered as raw fds (`EventedFd`); deregister the other's fd.
    DeregisterRawFd,
    /// Deregister the other through a `Registry` clone on another thread (joined before
    /// `ready` returns).
    DeregisterFromAnotherThread,
    /// Reregister the other under a new token (10 + its old one).
    ReregisterNewToken,
}

/// Two level-triggered readable pipes (tokens 0 and 1); whichever is reported first removes
/// the other.
struct Skipper {
    how: Removal,
    readers: [Option<PipeReader>; 2],
    /// Keeps the pipes' write ends (and the replacement pipe) alive.
    keep: Vec<PipeWriter>,
    replacement: Option<PipeReader>,
    calls: Vec<Call>,
    /// The token whose source was removed, once one was.
    removed: Option<Token>,
}

impl Handler for Skipper {
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<Skipper>, token: Token, _: EventSet) {
        self.calls.push(Call::Ready(token));
        if self.removed.is_some() || self.how == Removal::Nothing {
            return;
        }
        let other = 1 - token.0;
        self.removed = Some(Token(other));
        let reader = self.readers[other].as_ref().unwrap();
        match self.how {
            Removal::Nothing => unreachable!(),
            Removal::Deregister => event_loop.deregister(reader).unwrap(),
            Removal::DeregisterViaRegistry => event_loop.registry().deregister(reader).unwrap(),
            Removal::Drop => self.readers[other] = None,
            Removal::DeregisterRawFd => event_loop
                .deregister(&EventedFd(&reader.as_raw_fd()))
                .unwrap(),
            Removal::DeregisterFromAnotherThread => {
                let registry = event_loop.registry().clone();
                let fd = reader.as_raw_fd();
                std::thread::scope(|s| {
                    s.spawn(|| registry.deregister(reader).unwrap());
                });
                #[cfg(unix)]
                assert!(fd >= 0);
                #[cfg(windows)]
                let _ = fd;
            }
            Removal::ReregisterNewToken => event_loop
                .reregister(
                    reader,
                    Token(10 + other),
                    EventSet::readable(),
                    PollOpt::level(),
                )
                .unwrap(),
            Removal::DeregisterAndReuseToken => {
                event_loop.deregister(reader).unwrap();
                let (fresh, writer) = readable_pipe();
                event_loop
                    .register(&fresh, Token(other), EventSet::readable(), PollOpt::level())
                    .unwrap();
                self.replacement = Some(fresh);
                self.keep.push(writer);
            }
        }
    }

    fn tick(&mut self, _: &mut EventLoop<Skipper>) {
        self.calls.push(Call::Tick);
    }
}

fn run_skipper(how: Removal, iterations: usize) -> Skipper {
    let mut event_loop = EventLoop::<Skipper>::new().unwrap();
    let (r0, w0) = readable_pipe();
    let (r1, w1) = readable_pipe();
    for (reader, token) in [(&r0, Token(0)), (&r1, Token(1))] {
        if how == Removal::DeregisterRawFd {
            let fd = reader.as_raw_fd();
            event_loop
                .register(
                    &EventedFd(&fd),
                    token,
                    EventSet::readable(),
                    PollOpt::level(),
                )
                .unwrap();
        } else {
            event_loop
                .register(reader, token, EventSet::readable(), PollOpt::level())
                .unwrap();
        }
    }
    let mut handler = Skipper {
        how,
        readers: [Some(r0), Some(r1)],
        keep: vec![w0, w1],
        replacement: None,
        calls: Vec::new(),
        removed: None,
    };
    for _ in 0..iterations {
        event_loop
            .run_once_timeout(&mut handler, Some(WATCHDOG))
            .unwrap();
    }
    handler
}

#[test]
fn both_sources_are_reported_in_one_batch_without_removal() {
    // The control for the tests below: both pipes are in the same batch.
    let handler = run_skipper(Removal::Nothing, 1);
    let mut ready: Vec<Call> = handler.calls.clone();
    ready.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(
        ready,
        [Call::Ready(Token(0)), Call::Ready(Token(1)), Call::Tick]
    );
}

fn assert_removed_source_never_reported(how: Removal) {
    let handler = run_skipper(how, 3);
    let removed = handler.removed.expect("no source was reported");
    let kept = Token(1 - removed.0);
    assert!(
        !handler.calls.contains(&Call::Ready(removed)),
        "{how:?}: ready was called for {removed:?} after its removal: {:?}",
        handler.calls
    );
    assert_eq!(
        handler.calls,
        [Call::Ready(kept), Call::Tick].repeat(3),
        "{how:?}"
    );
}

#[test]
fn no_ready_after_deregister_even_in_the_same_batch() {
    assert_removed_source_never_reported(Removal::Deregister);
}

#[test]
fn no_ready_after_deregister_through_the_registry_in_the_same_batch() {
    assert_removed_source_never_reported(Removal::DeregisterViaRegistry);
}

#[test]
fn no_ready_after_the_source_is_dropped_in_the_same_batch() {
    assert_removed_source_never_reported(Removal::Drop);
}

#[test]
fn no_ready_after_a_raw_fd_is_deregistered_in_the_same_batch() {
    assert_removed_source_never_reported(Removal::DeregisterRawFd);
}

#[test]
fn no_ready_after_deregister_from_another_thread_in_the_same_batch() {
    assert_removed_source_never_reported(Removal::DeregisterFromAnotherThread);
}

#[test]
fn a_source_reregistered_under_a_new_token_gets_no_event_under_the_old_one() {
    let handler = run_skipper(Removal::ReregisterNewToken, 2);
    let moved = handler.removed.expect("no source was reported");
    let kept = Token(1 - moved.0);
    // Iteration 0: the batch's event under the old token is skipped. Iteration 1: the source
    // is reported under its new token.
    assert_eq!(handler.calls[..2], [Call::Ready(kept), Call::Tick]);
    let mut second = handler.calls[2..].to_vec();
    second.sort_by_key(|c| format!("{c:?}"));
    let mut expected = vec![
        Call::Ready(kept),
        Call::Ready(Token(10 + moved.0)),
        Call::Tick,
    ];
    expected.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(second, expected);
}

#[test]
fn a_token_reused_in_the_batch_is_reported_from_the_next_iteration() {
    let handler = run_skipper(Removal::DeregisterAndReuseToken, 2);
    let removed = handler.removed.expect("no source was reported");
    let kept = Token(1 - removed.0);
    // Iteration 0: the stale event for the old source is skipped. Iteration 1: the new
    // source under the same token is reported.
    assert_eq!(handler.calls[..2], [Call::Ready(kept), Call::Tick]);
    let mut second = handler.calls[2..].to_vec();
    second.sort_by_key(|c| format!("{c:?}"));
    let mut expected = vec![Call::Ready(Token(0)), Call::Ready(Token(1)), Call::Tick];
    expected.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(second, expected);
}

#[test]
fn the_reserved_token_is_rejected_and_never_reported() {
    let mut event_loop = EventLoop::<Recorder>::new().unwrap();
    let (reader, _writer) = readable_pipe();
    assert_error_kind(
        event_loop.register(
            &reader,
            Token(usize::MAX),
            EventSet::readable(),
            PollOpt::level(),
        ),
        io::ErrorKind::InvalidInput,
    );
    assert_error_kind(
        event_loop.registry().register(
            &reader,
            Token(usize::MAX),
            EventSet::readable(),
            PollOpt::level(),
        ),
        io::ErrorKind::InvalidInput,
    );
    // The channel's wake-ups use the reserved token; `Recorder::ready` asserts it never
    // sees it.
    let tx = event_loop.channel();
    let mut handler = Recorder::default();
    let sender = thread::spawn(move || {
        for i in 0..100 {
            tx.send(i).unwrap();
        }
    });
    while !handler.calls.contains(&Call::Notify(99)) {
        event_loop
            .run_once_timeout(&mut handler, Some(WATCHDOG))
            .unwrap();
        assert!(handler.ticks < 200, "messages did not arrive");
    }
    sender.join().unwrap();
    assert!(handler
        .calls
        .iter()
        .all(|c| matches!(c, Call::Notify(_) | Call::Tick)));
}

#[test]
fn register_errors_are_the_registry_errors() {
    let mut event_loop = EventLoop::<Recorder>::new().unwrap();
    let (reader, _writer) = pipe().unwrap();
    assert_error_kind(
        event_loop.reregister(&reader, Token(1), EventSet::readable(), PollOpt::edge()),
        io::ErrorKind::NotFound,
    );
    assert_error_kind(event_loop.deregister(&reader), io::ErrorKind::NotFound);
    event_loop
        .register(&reader, Token(1), EventSet::readable(), PollOpt::edge())
        .unwrap();
    assert_error_kind(
        event_loop.register(&reader, Token(2), EventSet::readable(), PollOpt::edge()),
        io::ErrorKind::AlreadyExists,
    );
    event_loop
        .reregister(&reader, Token(2), EventSet::readable(), PollOpt::level())
        .unwrap();
    event_loop.deregister(&reader).unwrap();
}

// ---- EINTR (Unix: Windows has no signals to interrupt a wait) ----

#[cfg(unix)]
extern "C" fn ignore_signal(_: libc::c_int) {}

/// Installs a no-op SIGUSR1 handler without `SA_RESTART`, so a blocked `epoll_wait` in the
/// thread that gets the signal fails with `EINTR`.
#[cfg(unix)]
fn install_sigusr1_handler() {
    // SAFETY: a zeroed `sigaction` is a valid value (no flags, empty mask, null handler)
    // that we then fill in.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = ignore_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    action.sa_flags = 0; // no SA_RESTART
                         // SAFETY: `action.sa_mask` is a valid sigset_t owned by us.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: installs an async-signal-safe handler (it does nothing) with a valid action.
    let rc = unsafe { libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "sigaction: {}", io::Error::last_os_error());
}

#[cfg(unix)]
struct Interruptible {
    interrupted: Arc<AtomicBool>,
}

#[cfg(unix)]
impl Handler for Interruptible {
    type Timeout = ();
    /// `()` = stop (the test gave up).
    type Message = ();

    fn interrupted(&mut self, event_loop: &mut EventLoop<Interruptible>) {
        self.interrupted.store(true, Ordering::SeqCst);
        event_loop.shutdown();
    }

    fn notify(&mut self, event_loop: &mut EventLoop<Interruptible>, _: ()) {
        event_loop.shutdown();
    }
}

#[cfg(unix)]
#[test]
fn a_signal_interrupting_the_wait_calls_interrupted() {
    use std::os::unix::thread::JoinHandleExt;

    install_sigusr1_handler();
    let interrupted = Arc::new(AtomicBool::new(false));
    let mut event_loop = EventLoop::<Interruptible>::new().unwrap();
    let stop = event_loop.channel();
    let mut handler = Interruptible {
        interrupted: Arc::clone(&interrupted),
    };
    // The loop has no timeout and no timer: only a signal (or the stop message) ends its wait.
    let loop_thread = thread::spawn(move || event_loop.run(&mut handler));

    // A signal that arrives while the loop thread is not blocked in epoll_wait just runs the
    // handler; so signal repeatedly (bounded) until one interrupts the wait.
    let mut signals = 0;
    while !interrupted.load(Ordering::SeqCst) && signals < 2000 {
        // SAFETY: the thread is joinable and not yet joined, so its pthread_t is valid.
        let rc = unsafe { libc::pthread_kill(loop_thread.as_pthread_t(), libc::SIGUSR1) };
        assert_eq!(rc, 0, "pthread_kill failed: {rc}");
        signals += 1;
        thread::sleep(Duration::from_millis(5));
    }
    if !interrupted.load(Ordering::SeqCst) {
        stop.send(()).unwrap();
    }
    loop_thread.join().unwrap().unwrap();
    assert!(
        interrupted.load(Ordering::SeqCst),
        "interrupted was not called after {signals} signals"
    );
}

// ---- Registration from other threads ----

struct Waiter {
    token: Token,
    got: Vec<(Token, EventSet)>,
}

impl Handler for Waiter {
    type Timeout = Tm;
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<Waiter>, token: Token, events: EventSet) {
        self.got.push((token, events));
        if token == self.token {
            event_loop.shutdown();
        }
    }

    fn timeout(&mut self, _: &mut EventLoop<Waiter>, _: Tm) {
        panic!("watchdog: got {:?}", self.got);
    }
}

#[test]
fn other_threads_register_through_the_registry_and_get_ready_calls() {
    let mut event_loop = EventLoop::<Waiter>::new().unwrap();
    watchdog(&mut event_loop);
    let registry = event_loop.registry().clone();
    // The loop is (or soon will be) blocked in its wait while the other thread registers.
    let other = thread::spawn(move || {
        let (reader, mut writer) = pipe().unwrap();
        registry
            .register(&reader, Token(77), EventSet::readable(), PollOpt::edge())
            .unwrap();
        writer.write_all(b"z").unwrap();
        (reader, writer)
    });
    let mut handler = Waiter {
        token: Token(77),
        got: Vec::new(),
    };
    event_loop.run(&mut handler).unwrap();
    let (mut reader, _writer) = other.join().unwrap();
    assert_eq!(handler.got.len(), 1, "{:?}", handler.got);
    assert!(handler.got[0].1.is_readable());
    let mut byte = [0u8; 1];
    assert_eq!(reader.read(&mut byte).unwrap(), 1);
    assert_eq!(&byte, b"z");
}

// ---- TCP through the loop ----

/// An echo server and a client on one loop: the client sends 10 lines, the server echoes.
struct EchoPair {
    server: TcpStream,
    client: TcpStream,
    sent: usize,
    echoed: Vec<u8>,
    target: usize,
}

const SERVER: Token = Token(10);
const CLIENT: Token = Token(11);

impl Handler for EchoPair {
    type Timeout = Tm;
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<EchoPair>, token: Token, _: EventSet) {
        let mut buf = [0u8; 64];
        match token {
            SERVER => {
                while let Some(n) = self.server.try_read(&mut buf).unwrap() {
                    if n == 0 {
                        return;
                    }
                    self.server.write_all(&buf[..n]).unwrap();
                }
            }
            CLIENT => {
                while let Some(n) = self.client.try_read(&mut buf).unwrap() {
                    assert!(n > 0, "server closed");
                    self.echoed.extend_from_slice(&buf[..n]);
                }
                if self.echoed.len() == self.sent && self.sent < self.target {
                    self.client.write_all(&[self.sent as u8]).unwrap();
                    self.sent += 1;
                }
                if self.echoed.len() == self.target {
                    event_loop.shutdown();
                }
            }
            _ => panic!("unexpected token {token:?}"),
        }
    }

    fn timeout(&mut self, _: &mut EventLoop<EchoPair>, _: Tm) {
        panic!("watchdog: echoed {:?}", self.echoed);
    }
}

#[test]
fn tcp_echo_through_the_loop() {
    let (mut client, server) = util::tcp_pair();
    let mut event_loop = EventLoop::<EchoPair>::new().unwrap();
    watchdog(&mut event_loop);
    event_loop
        .register(&server, SERVER, EventSet::readable(), PollOpt::edge())
        .unwrap();
    event_loop
        .register(&client, CLIENT, EventSet::readable(), PollOpt::edge())
        .unwrap();
    client.write_all(&[0]).unwrap();
    let mut handler = EchoPair {
        server,
        client,
        sent: 1,
        echoed: Vec::new(),
        target: 100,
    };
    event_loop.run(&mut handler).unwrap();
    assert_eq!(
        handler.echoed,
        (0..100).map(|i| i as u8).collect::<Vec<_>>()
    );
}

// ---- Configuration and type promises ----

#[test]
fn invalid_configurations_are_rejected() {
    let bad = [
        EventLoopConfig::new().notify_capacity(0).clone(),
        EventLoopConfig::new().messages_per_tick(0).clone(),
        EventLoopConfig::new().timer_tick_ms(0).clone(),
        EventLoopConfig::new()
            .timer_tick(Duration::from_nanos(999))
            .clone(),
        EventLoopConfig::new().events_capacity(0).clone(),
    ];
    for config in bad {
        match EventLoop::<Recorder>::configured(config.clone()) {
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{config:?}"),
            Ok(_) => panic!("accepted {config:?}"),
        }
    }
    // mio 0.5's wheel sizes are accepted (and ignored): never an error.
    for slots in [0, 64, 128, 1024, usize::MAX] {
        let mut ok = EventLoopConfig::new();
        ok.timer_wheel_size(slots)
            .timer_tick(Duration::from_micros(1))
            .events_capacity(1)
            .timer_capacity(1);
        EventLoop::<Recorder>::configured(ok).unwrap();
    }
}

#[test]
fn a_one_event_buffer_still_reports_every_source() {
    let mut config = EventLoopConfig::new();
    config.events_capacity(1);
    let mut event_loop = EventLoop::<Recorder>::configured(config).unwrap();
    let pipes: Vec<_> = (0..3).map(|_| readable_pipe()).collect();
    for (i, (reader, _)) in pipes.iter().enumerate() {
        event_loop
            .register(reader, Token(i), EventSet::readable(), PollOpt::level())
            .unwrap();
    }
    let mut handler = Recorder::default();
    for _ in 0..6 {
        event_loop
            .run_once_timeout(&mut handler, Some(WATCHDOG))
            .unwrap();
    }
    for i in 0..3 {
        assert!(
            handler.calls.contains(&Call::Ready(Token(i))),
            "source {i} starved: {:?}",
            handler.calls
        );
    }
    // One event per iteration.
    for n in 0..6 {
        assert_eq!(handler.iteration(n).len(), 2, "{:?}", handler.iteration(n));
    }
}

#[test]
fn the_loop_and_its_sender_are_send() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    send::<EventLoop<Recorder>>();
    send_sync::<Sender<u32>>();
    send_sync::<ferrio::Registry>();
}

#[test]
fn debug_output_names_the_state() {
    let mut event_loop = EventLoop::<Recorder>::new().unwrap();
    let _ = event_loop.timeout_ms(Tm::Value(1), 1000).unwrap();
    let text = format!("{event_loop:?}");
    assert!(text.contains("EventLoop"), "{text}");
    assert!(text.contains("pending_timeouts: 1"), "{text}");
}
