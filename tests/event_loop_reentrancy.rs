//! `run_once` called from inside the loop's own callbacks: from `ready` in the middle of a
//! batch, from `notify`, from `timeout` and from `tick`. Every event is delivered exactly once,
//! none after its source was deregistered, and edge-triggered sources, which are not reported
//! again, are never lost.

use std::io::Write;
use std::time::Duration;

#[cfg(unix)]
use ferrio::unix::{pipe, PipeReader, PipeWriter};

// Windows has no ferrio pipes: a connected loopback TCP pair stands in for one.
#[cfg(windows)]
type PipeReader = ferrio::tcp::TcpStream;
#[cfg(windows)]
type PipeWriter = ferrio::tcp::TcpStream;

/// Windows: (reader, writer) of a connected loopback TCP pair.
#[cfg(windows)]
fn pipe() -> std::io::Result<(PipeReader, PipeWriter)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let writer = std::net::TcpStream::connect(listener.local_addr()?)?;
    let (reader, _) = listener.accept()?;
    Ok((
        ferrio::tcp::TcpStream::from_std(reader)?,
        ferrio::tcp::TcpStream::from_std(writer)?,
    ))
}
use ferrio::{EventLoop, EventSet, Handler, PollOpt, Token};

/// How long one outer iteration may wait for the pipes (they are readable before it starts).
const WAIT_MS: usize = 5_000;

/// `n` pipes with one byte written, their read ends registered edge-triggered as `Token(i)`.
fn readable_pipes<H: Handler>(
    event_loop: &mut EventLoop<H>,
    n: usize,
) -> Vec<(PipeReader, PipeWriter)> {
    (0..n)
        .map(|i| {
            let (reader, mut writer) = pipe().unwrap();
            writer.write_all(b"x").unwrap();
            event_loop
                .register(&reader, Token(i), EventSet::readable(), PollOpt::edge())
                .unwrap();
            (reader, writer)
        })
        .collect()
}

/// Records every callback; nests `run_once` where told to.
#[derive(Default)]
struct Nester {
    ready: Vec<Token>,
    /// Nest from the first `ready`, `notify`, `timeout` or `tick`.
    nest_in: Option<&'static str>,
    /// Deregister this source from the first `ready` before nesting.
    deregister_first: Option<PipeReader>,
    notified: Vec<u32>,
    timeouts: Vec<u32>,
    ticks: usize,
    nested_calls: usize,
}

impl Nester {
    fn nest(&mut self, event_loop: &mut EventLoop<Nester>, from: &'static str) {
        if self.nest_in == Some(from) {
            self.nest_in = None;
            self.nested_calls += 1;
            event_loop.run_once(self, Some(0)).unwrap();
        }
    }
}

impl Handler for Nester {
    type Timeout = u32;
    type Message = u32;

    fn ready(&mut self, event_loop: &mut EventLoop<Nester>, token: Token, _: EventSet) {
        self.ready.push(token);
        if let Some(source) = self.deregister_first.take() {
            event_loop.deregister(&source).unwrap();
        }
        self.nest(event_loop, "ready");
    }

    fn notify(&mut self, event_loop: &mut EventLoop<Nester>, msg: u32) {
        self.notified.push(msg);
        self.nest(event_loop, "notify");
    }

    fn timeout(&mut self, event_loop: &mut EventLoop<Nester>, id: u32) {
        self.timeouts.push(id);
        self.nest(event_loop, "timeout");
    }

    fn tick(&mut self, event_loop: &mut EventLoop<Nester>) {
        self.ticks += 1;
        self.nest(event_loop, "tick");
    }
}

fn sorted(mut tokens: Vec<Token>) -> Vec<Token> {
    tokens.sort();
    tokens
}

#[test]
fn run_once_nested_in_ready_delivers_the_rest_of_the_batch() {
    let mut event_loop = EventLoop::new().unwrap();
    let _pipes = readable_pipes(&mut event_loop, 4);
    let mut handler = Nester {
        nest_in: Some("ready"),
        ..Nester::default()
    };
    event_loop.run_once(&mut handler, Some(WAIT_MS)).unwrap();
    assert_eq!(handler.nested_calls, 1);
    // All four in this one outer call (three of them through the nested call), once each.
    assert_eq!(
        sorted(handler.ready.clone()),
        [Token(0), Token(1), Token(2), Token(3)],
        "ready calls: {:?}",
        handler.ready
    );
    // Edge-triggered and not read: nothing more ever comes, and nothing twice.
    for _ in 0..3 {
        event_loop.run_once(&mut handler, Some(0)).unwrap();
    }
    assert_eq!(handler.ready.len(), 4, "{:?}", handler.ready);
    // Both calls ran a whole iteration each: two ticks for the first, then three more.
    assert_eq!(handler.ticks, 5);
}

#[test]
fn the_nested_call_skips_a_source_deregistered_earlier_in_the_batch() {
    let mut event_loop = EventLoop::new().unwrap();
    let mut pipes = readable_pipes(&mut event_loop, 4);
    // The first `ready` deregisters whichever of the other sources is last in the batch,
    // so that source must not be reported, by the outer call or by the nested one.
    let mut handler = Nester {
        nest_in: Some("ready"),
        ..Nester::default()
    };
    // Deregister the pipe of token 3 from inside the first ready (whatever its token).
    let (reader, _writer) = pipes.remove(3);
    handler.deregister_first = Some(reader);
    event_loop.run_once(&mut handler, Some(WAIT_MS)).unwrap();
    let seen = sorted(handler.ready.clone());
    if handler.ready[0] == Token(3) {
        // Reported first, before it was deregistered: the others all came.
        assert_eq!(seen, [Token(0), Token(1), Token(2), Token(3)]);
    } else {
        assert_eq!(seen, [Token(0), Token(1), Token(2)], "{:?}", handler.ready);
    }
    for _ in 0..2 {
        event_loop.run_once(&mut handler, Some(0)).unwrap();
    }
    assert!(handler.ready.len() <= 4);
}

#[test]
fn run_once_nested_in_notify_keeps_every_message_once_in_order() {
    let mut event_loop = EventLoop::new().unwrap();
    let tx = event_loop.channel();
    let _pipes = readable_pipes(&mut event_loop, 2);
    for i in 0..10 {
        tx.send(i).unwrap();
    }
    let mut handler = Nester {
        nest_in: Some("notify"),
        ..Nester::default()
    };
    event_loop.run_once(&mut handler, Some(WAIT_MS)).unwrap();
    event_loop.run_once(&mut handler, Some(0)).unwrap();
    assert_eq!(handler.notified, (0..10).collect::<Vec<_>>());
    assert_eq!(sorted(handler.ready.clone()), [Token(0), Token(1)]);
}

#[test]
fn run_once_nested_in_timeout_fires_every_due_timeout_once() {
    let mut event_loop = EventLoop::new().unwrap();
    for id in 0..5 {
        let _ = event_loop.timeout_ms(id, 0).unwrap();
    }
    let _later = event_loop.timeout(99, Duration::from_secs(60)).unwrap();
    let _pipes = readable_pipes(&mut event_loop, 2);
    let mut handler = Nester {
        nest_in: Some("timeout"),
        ..Nester::default()
    };
    event_loop.run_once(&mut handler, Some(WAIT_MS)).unwrap();
    event_loop.run_once(&mut handler, Some(0)).unwrap();
    let mut fired = handler.timeouts.clone();
    fired.sort();
    assert_eq!(fired, [0, 1, 2, 3, 4]);
    assert_eq!(sorted(handler.ready.clone()), [Token(0), Token(1)]);
}

#[test]
fn run_once_nested_in_tick_is_a_whole_iteration() {
    let mut event_loop = EventLoop::new().unwrap();
    let mut handler = Nester {
        nest_in: Some("tick"),
        ..Nester::default()
    };
    event_loop.run_once(&mut handler, Some(0)).unwrap();
    let _pipes = readable_pipes(&mut event_loop, 3);
    event_loop.run_once(&mut handler, Some(WAIT_MS)).unwrap();
    assert_eq!(
        sorted(handler.ready.clone()),
        [Token(0), Token(1), Token(2)]
    );
    assert_eq!(handler.ticks, 3);
}

/// A handler whose first `ready` panics.
struct PanicsOnce {
    panicked: bool,
    ready: Vec<Token>,
}

impl Handler for PanicsOnce {
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, _: &mut EventLoop<PanicsOnce>, token: Token, _: EventSet) {
        self.ready.push(token);
        if !self.panicked {
            self.panicked = true;
            panic!("handler panics in ready");
        }
    }
}

#[test]
fn events_after_a_panicking_callback_are_delivered_by_the_next_run_once() {
    let mut event_loop = EventLoop::new().unwrap();
    let _pipes = readable_pipes(&mut event_loop, 4);
    let mut handler = PanicsOnce {
        panicked: false,
        ready: Vec::new(),
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        event_loop.run_once(&mut handler, Some(WAIT_MS))
    }));
    assert!(result.is_err());
    assert_eq!(handler.ready.len(), 1);
    // The rest of the batch is still the loop's: the next call delivers it first.
    event_loop.run_once(&mut handler, Some(0)).unwrap();
    assert_eq!(
        sorted(handler.ready.clone()),
        [Token(0), Token(1), Token(2), Token(3)]
    );
}

/// Sets a timeout from `tick` and then runs the loop from there.
#[derive(Default)]
struct NestsAfterSetting {
    fired: Vec<&'static str>,
    nested: bool,
    /// Whether the nested `run_once` returned with the timeout set in `tick` fired.
    fired_in_nested: bool,
}

impl Handler for NestsAfterSetting {
    type Timeout = &'static str;
    type Message = ();

    fn timeout(&mut self, _: &mut EventLoop<NestsAfterSetting>, what: &'static str) {
        self.fired.push(what);
    }

    fn tick(&mut self, event_loop: &mut EventLoop<NestsAfterSetting>) {
        if self.fired == ["first"] && !self.nested {
            self.nested = true;
            // No other timeout is pending any more: only this one, set inside a callback.
            let _ = event_loop.timeout_ms("from tick", 20).unwrap();
            let start = std::time::Instant::now();
            while self.fired.len() < 2 && start.elapsed() < Duration::from_millis(WAIT_MS as u64) {
                event_loop.run_once(self, Some(WAIT_MS)).unwrap();
            }
            self.fired_in_nested = self.fired == ["first", "from tick"];
        }
    }
}

#[test]
fn run_once_nested_in_the_callback_that_set_a_timeout_waits_for_that_timeout() {
    // The nested call must see the timeout its caller set (filed when the callback returns)
    // and sleep until it, not for its whole `WAIT_MS` timeout.
    let mut event_loop = EventLoop::new().unwrap();
    let mut handler = NestsAfterSetting::default();
    let _ = event_loop.timeout_ms("first", 1).unwrap();
    let start = std::time::Instant::now();
    while !handler.nested && start.elapsed() < Duration::from_millis(WAIT_MS as u64) {
        event_loop.run_once(&mut handler, Some(WAIT_MS)).unwrap();
    }
    assert!(handler.fired_in_nested, "fired: {:?}", handler.fired);
    assert!(
        start.elapsed() < Duration::from_millis(WAIT_MS as u64),
        "the nested call slept for its whole timeout"
    );
}
