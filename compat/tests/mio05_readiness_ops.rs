// mio 0.5.1: `EventSet`, `PollOpt`, `Token` and `IoEvent` as values: constructors, predicates,
// in-place edits, the operators and the derived traits programs leaned on.
extern crate mio;

use std::collections::{BTreeSet, HashMap};

use mio::{EventSet, IoEvent, PollOpt, Token};

#[test]
fn event_set_arithmetic() {
    let mut interest = EventSet::none();
    assert_eq!(interest.bits(), 0);
    interest.insert(EventSet::readable());
    interest = interest | EventSet::hup();
    assert!(interest.is_readable() && interest.is_hup());
    assert!(!interest.is_writable() && !interest.is_error());
    assert!(interest.contains(EventSet::readable() | EventSet::hup()));
    interest.remove(EventSet::hup());
    assert_eq!(interest, EventSet::readable());

    let all = EventSet::all();
    assert_eq!(all.bits(), 0xf);
    assert_eq!((all - EventSet::writable()).bits(), 0xd);
    assert_eq!((all & EventSet::error()).bits(), 0x4);
    assert_eq!((EventSet::readable() ^ all).bits(), 0xe);
    assert_eq!(!EventSet::readable(), EventSet::writable() | EventSet::error() | EventSet::hup());
    assert_eq!(!all, EventSet::none());

    // Copy, Ord and Debug: kept in ordered sets and printed.
    let a = EventSet::writable();
    let b = a;
    assert_eq!(a, b);
    let ordered: BTreeSet<EventSet> = vec![EventSet::hup(), EventSet::readable()].into_iter().collect();
    assert_eq!(ordered.iter().next(), Some(&EventSet::readable()));
    assert!(EventSet::readable() < EventSet::hup());
    let shown = format!("{:?}", EventSet::readable() | EventSet::writable());
    assert!(shown.contains("Readable") && shown.contains("Writable"));
}

#[test]
fn poll_opt_arithmetic() {
    let mut opts = PollOpt::empty();
    assert_eq!(opts.bits(), 0);
    opts.insert(PollOpt::edge());
    opts = opts | PollOpt::oneshot();
    assert!(opts.is_edge() && opts.is_oneshot() && !opts.is_level());
    assert!(opts.contains(PollOpt::oneshot()));
    opts.remove(PollOpt::oneshot());
    assert_eq!(opts, PollOpt::edge());
    assert_eq!(PollOpt::all().bits(), 0xe0);
    assert_eq!((PollOpt::all() - PollOpt::level()).bits(), 0xa0);
    assert_eq!((PollOpt::all() & PollOpt::level()).bits(), 0x40);
    assert_eq!((PollOpt::edge() ^ PollOpt::all()).bits(), 0xc0);
    assert_eq!(!PollOpt::edge(), PollOpt::level() | PollOpt::oneshot());
    assert!(PollOpt::edge() < PollOpt::level());
    let copied = opts;
    assert_eq!(copied.bits(), opts.bits());
    assert!(format!("{:?}", PollOpt::level()).contains("Level"));
}

#[test]
fn tokens_as_keys() {
    const SERVER: Token = Token(0);
    let client = Token(7);
    let mut names = HashMap::new();
    names.insert(SERVER, "server");
    names.insert(client, "client");
    assert_eq!(names[&Token(7)], "client");
    match client {
        SERVER => panic!("not the server"),
        Token(n) => assert_eq!(n, 7),
    }
    assert_eq!(client.as_usize(), 7);
    assert_eq!(client.0 + 1, 8);
    assert!(SERVER < client);
    let mut sorted = vec![Token(3), Token(1), Token(2)];
    sorted.sort();
    assert_eq!(sorted, vec![Token(1), Token(2), Token(3)]);
    assert_eq!(format!("{:?}", Token(5)), "Token(5)");
}

#[test]
fn io_event_values() {
    let event = IoEvent::new(EventSet::readable() | EventSet::hup(), Token(9));
    assert_eq!(event.token, Token(9));
    assert!(event.kind.is_readable() && event.kind.is_hup());
    let same = IoEvent { kind: event.kind, token: event.token };
    let copied = same;
    assert_eq!(copied, event);
    assert!(format!("{:?}", event).contains("Token(9)"));
}
