// mio 0.5: EventSet, PollOpt, Token and IoEvent as the original exposed them, bit values
// included (programs stored and combined `bits()`).
extern crate mio;

use mio::{EventSet, IoEvent, PollOpt, Token};

#[test]
fn event_set_values_and_operators() {
    assert_eq!(EventSet::readable().bits(), 0x001);
    assert_eq!(EventSet::writable().bits(), 0x002);
    assert_eq!(EventSet::error().bits(), 0x004);
    assert_eq!(EventSet::hup().bits(), 0x008);
    assert_eq!(EventSet::all().bits(), 0x00f);
    assert_eq!(EventSet::none().bits(), 0);

    let mut interest = EventSet::readable();
    interest.insert(EventSet::writable());
    assert!(interest.is_readable() && interest.is_writable());
    assert!(interest.contains(EventSet::writable()));
    interest.remove(EventSet::writable());
    assert_eq!(interest, EventSet::readable());
    assert_eq!(!EventSet::readable(), EventSet::writable() | EventSet::error() | EventSet::hup());
    assert_eq!((EventSet::all() - EventSet::hup()).bits(), 0x007);
    assert_eq!((EventSet::all() & EventSet::error()).bits(), 0x004);
    assert_eq!((EventSet::readable() ^ EventSet::all()).bits(), 0x00e);
    assert!(!EventSet::hup().is_error() && EventSet::error().is_error());
}

#[test]
fn poll_opt_values_and_operators() {
    assert_eq!(PollOpt::edge().bits(), 0x020);
    assert_eq!(PollOpt::level().bits(), 0x040);
    assert_eq!(PollOpt::oneshot().bits(), 0x080);
    assert_eq!(PollOpt::empty().bits(), 0);
    assert_eq!(PollOpt::all().bits(), 0x0e0);

    let opts = PollOpt::edge() | PollOpt::oneshot();
    assert!(opts.is_edge() && opts.is_oneshot() && !opts.is_level());
    assert!(opts.contains(PollOpt::oneshot()));
    let mut opts = opts;
    opts.remove(PollOpt::oneshot());
    opts.insert(PollOpt::level());
    assert!(opts.is_level());
    // The two kinds of bits never overlap: a program may pack both into one word.
    assert_eq!(EventSet::all().bits() & PollOpt::all().bits(), 0);
}

#[test]
fn token_and_io_event() {
    const SERVER: Token = Token(0);
    let conn = Token(42);
    assert_eq!(conn.as_usize(), 42);
    assert_eq!(SERVER.as_usize(), 0);
    let Token(raw) = conn;
    assert_eq!(raw, 42);

    let event = IoEvent::new(EventSet::readable() | EventSet::hup(), conn);
    assert_eq!(event.token, conn);
    assert!(event.kind.is_readable() && event.kind.is_hup());
    let copy = event;
    assert_eq!(copy, event);
}
