// mio 0.5.1: what its programs relied on the loop doing. A second `register` of the same
// source is an error, `reregister` of a source never registered is an error, a deregistered
// source can be registered again, oneshot reports once until `reregister`, `tick` runs once
// per turn, a timeout fires once and a cleared one never, a write to a pipe whose reader is
// gone is an error (no SIGPIPE), and a dropped peer shows up as readable with a 0-byte read.
extern crate mio;

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use mio::tcp::{TcpListener, TcpStream};
use mio::unix::pipe;
use mio::{EventLoop, EventLoopConfig, EventSet, Handler, PollOpt, Token, TryRead, TryWrite};

#[derive(Default)]
struct Record {
    events: Vec<(Token, EventSet)>,
    ticks: usize,
    timeouts: Vec<u32>,
}

impl Handler for Record {
    type Timeout = u32;
    type Message = ();

    fn ready(&mut self, _: &mut EventLoop<Record>, token: Token, events: EventSet) {
        self.events.push((token, events));
    }

    fn timeout(&mut self, _: &mut EventLoop<Record>, which: u32) {
        self.timeouts.push(which);
    }

    fn tick(&mut self, _: &mut EventLoop<Record>) {
        self.ticks += 1;
    }
}

fn turn_until<F: Fn(&Record) -> bool>(event_loop: &mut EventLoop<Record>, handler: &mut Record, done: F) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(handler) {
        assert!(Instant::now() < deadline, "condition not met within 10 s");
        event_loop.run_once(handler, Some(20)).unwrap();
    }
}

#[test]
fn registration_misuse_is_an_error() {
    let (reader, _writer) = pipe().unwrap();
    let (never, _w2) = pipe().unwrap();
    let mut event_loop: EventLoop<Record> = EventLoop::new().unwrap();
    event_loop.register(&reader, Token(1), EventSet::readable(), PollOpt::edge()).unwrap();
    assert!(event_loop.register(&reader, Token(1), EventSet::readable(), PollOpt::edge()).is_err());
    assert!(event_loop.reregister(&never, Token(2), EventSet::readable(), PollOpt::edge()).is_err());
    event_loop.deregister(&reader).unwrap();
    event_loop.register(&reader, Token(3), EventSet::readable(), PollOpt::edge()).unwrap();
}

#[test]
fn oneshot_until_reregistered() {
    let (mut reader, mut writer) = pipe().unwrap();
    let mut event_loop: EventLoop<Record> = EventLoop::new().unwrap();
    event_loop.register(&reader, Token(4), EventSet::readable(), PollOpt::level() | PollOpt::oneshot()).unwrap();
    writer.try_write(b"a").unwrap().unwrap();
    let mut handler = Record::default();
    turn_until(&mut event_loop, &mut handler, |h| !h.events.is_empty());
    // Still readable (nothing was read), but oneshot: no second report.
    for _ in 0..5 {
        event_loop.run_once(&mut handler, Some(10)).unwrap();
    }
    assert_eq!(handler.events.len(), 1);
    event_loop.reregister(&reader, Token(4), EventSet::readable(), PollOpt::level() | PollOpt::oneshot()).unwrap();
    turn_until(&mut event_loop, &mut handler, |h| h.events.len() == 2);
    let mut buf = [0u8; 4];
    assert_eq!(reader.try_read(&mut buf).unwrap(), Some(1));
}

#[test]
fn tick_per_turn_and_timeouts() {
    let mut config = EventLoopConfig::new();
    config.timer_tick_ms(1);
    let mut event_loop: EventLoop<Record> = EventLoop::configured(config).unwrap();
    let mut handler = Record::default();
    for _ in 0..3 {
        event_loop.run_once(&mut handler, Some(0)).unwrap();
    }
    assert_eq!(handler.ticks, 3);

    let start = Instant::now();
    let keep = event_loop.timeout_ms(1, 30).unwrap();
    let cancel = event_loop.timeout_ms(2, 10).unwrap();
    assert!(event_loop.clear_timeout(cancel));
    turn_until(&mut event_loop, &mut handler, |h| !h.timeouts.is_empty());
    assert!(start.elapsed() >= Duration::from_millis(30), "fired early");
    // Let the cleared one's time pass as well.
    let until = Instant::now() + Duration::from_millis(30);
    while Instant::now() < until {
        event_loop.run_once(&mut handler, Some(5)).unwrap();
    }
    assert_eq!(handler.timeouts, vec![1]);
    assert!(!event_loop.clear_timeout(keep), "already fired");
}

#[test]
fn broken_pipe_is_an_error() {
    let (reader, mut writer) = pipe().unwrap();
    drop(reader);
    match writer.try_write(b"lost") {
        Err(ref e) if e.kind() == ErrorKind::BrokenPipe => {}
        other => panic!("expected a broken pipe, got {:?}", other),
    }
}

#[test]
fn dropped_peer_reads_zero() {
    let any = "127.0.0.1:0".parse().unwrap();
    let listener = TcpListener::bind(&any).unwrap();
    let addr = listener.local_addr().unwrap();
    let client = TcpStream::connect(&addr).unwrap();
    let mut event_loop: EventLoop<Record> = EventLoop::new().unwrap();
    event_loop.register(&listener, Token(0), EventSet::readable(), PollOpt::level()).unwrap();
    let mut handler = Record::default();
    turn_until(&mut event_loop, &mut handler, |h| h.events.iter().any(|e| e.0 == Token(0)));
    let (mut server, _) = listener.accept().unwrap().unwrap();
    event_loop.register(&server, Token(1), EventSet::readable() | EventSet::hup(), PollOpt::edge()).unwrap();
    drop(client);
    turn_until(&mut event_loop, &mut handler, |h| h.events.iter().any(|e| e.0 == Token(1)));
    let kind = handler.events.iter().find(|e| e.0 == Token(1)).unwrap().1;
    assert!(kind.is_readable() || kind.is_hup(), "{:?}", kind);
    let mut buf = [0u8; 8];
    assert_eq!(server.try_read(&mut buf).unwrap(), Some(0));
}
