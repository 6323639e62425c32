// mio 0.5.1: registrations with every interest and option form its programs passed:
// `PollOpt::empty()` (level), `EventSet::all()` (hup and error included), `EventSet::none()`
// to pause a source, `EventSet::hup()` alone to learn of a peer's close.
extern crate mio;

use std::io::Write;
use std::time::{Duration, Instant};

use mio::unix::{pipe, UnixStream};
use mio::{EventLoop, EventSet, Handler, PollOpt, Token};

struct Collect(Vec<(Token, EventSet)>);

impl Handler for Collect {
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, _: &mut EventLoop<Collect>, token: Token, events: EventSet) {
        self.0.push((token, events));
    }
}

// Runs the loop until `token` is reported or `limit` passes.
fn events_of(event_loop: &mut EventLoop<Collect>, token: Token, limit: Duration) -> Vec<EventSet> {
    let mut handler = Collect(Vec::new());
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        event_loop.run_once(&mut handler, Some(20)).unwrap();
        if handler.0.iter().any(|e| e.0 == token) {
            break;
        }
    }
    handler.0.into_iter().filter(|e| e.0 == token).map(|e| e.1).collect()
}

#[test]
fn empty_options_are_level_triggered() {
    let (reader, mut writer) = pipe().unwrap();
    let mut event_loop = EventLoop::new().unwrap();
    event_loop.register(&reader, Token(1), EventSet::readable(), PollOpt::empty()).unwrap();
    writer.write_all(b"x").unwrap();
    // Not read: level-triggered reports it on every turn.
    assert!(events_of(&mut event_loop, Token(1), Duration::from_secs(10))[0].is_readable());
    assert!(events_of(&mut event_loop, Token(1), Duration::from_secs(10))[0].is_readable());
}

#[test]
fn none_pauses_and_all_resumes() {
    let (reader, mut writer) = pipe().unwrap();
    let mut event_loop = EventLoop::new().unwrap();
    event_loop.register(&reader, Token(2), EventSet::all(), PollOpt::level()).unwrap();
    writer.write_all(b"x").unwrap();
    assert!(events_of(&mut event_loop, Token(2), Duration::from_secs(10))[0].is_readable());
    event_loop.reregister(&reader, Token(2), EventSet::none(), PollOpt::level()).unwrap();
    assert!(events_of(&mut event_loop, Token(2), Duration::from_millis(100)).is_empty());
    event_loop.reregister(&reader, Token(2), EventSet::all(), PollOpt::edge()).unwrap();
    assert!(events_of(&mut event_loop, Token(2), Duration::from_secs(10))[0].is_readable());
}

#[test]
fn hup_alone_reports_a_close() {
    let (a, b) = UnixStream::pair_for_test();
    let mut event_loop = EventLoop::new().unwrap();
    event_loop.register(&a, Token(3), EventSet::hup(), PollOpt::edge()).unwrap();
    drop(b);
    let events = events_of(&mut event_loop, Token(3), Duration::from_secs(10));
    assert!(events[0].is_hup(), "{:?}", events);
}

trait PairForTest {
    fn pair_for_test() -> (UnixStream, UnixStream);
}

impl PairForTest for UnixStream {
    fn pair_for_test() -> (UnixStream, UnixStream) {
        use std::os::unix::io::{FromRawFd, IntoRawFd};
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        unsafe {
            (UnixStream::from_raw_fd(a.into_raw_fd()), UnixStream::from_raw_fd(b.into_raw_fd()))
        }
    }
}
