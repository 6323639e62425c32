//! Type promises: auto traits of the public types, `EventSet`/`PollOpt` operator semantics
//! and Debug output, `Token` and `IoEvent` basics.

use std::collections::HashSet;

use ferrio::tcp::{TcpBuilder, TcpListener, TcpStream};
use ferrio::udp::UdpSocket;
#[cfg(unix)]
use ferrio::unix::{EventedFd, PipeReader, PipeWriter};
#[cfg(windows)]
use ferrio::windows::EventedSocket;
use ferrio::{EventSet, Events, IoEvent, Poll, PollOpt, Registry, Token, Waker};

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}
fn assert_clone<T: Clone>() {}
fn assert_copy<T: Copy>() {}
fn assert_debug<T: std::fmt::Debug>() {}

#[test]
fn auto_traits() {
    assert_send::<Poll>();
    assert_send::<Registry>();
    assert_sync::<Registry>();
    assert_clone::<Registry>();
    assert_send::<Waker>();
    assert_sync::<Waker>();
    assert_send::<Events>();

    assert_send::<TcpStream>();
    assert_sync::<TcpStream>();
    assert_send::<TcpListener>();
    assert_sync::<TcpListener>();
    assert_send::<TcpBuilder>();
    assert_send::<UdpSocket>();
    assert_sync::<UdpSocket>();
    #[cfg(unix)]
    {
        assert_send::<PipeReader>();
        assert_sync::<PipeReader>();
        assert_send::<PipeWriter>();
        assert_sync::<PipeWriter>();
    }

    assert_copy::<Token>();
    assert_copy::<EventSet>();
    assert_copy::<PollOpt>();
    assert_copy::<IoEvent>();
    #[cfg(unix)]
    assert_copy::<EventedFd<'static>>();
    #[cfg(windows)]
    assert_copy::<EventedSocket<'static>>();

    assert_debug::<Poll>();
    assert_debug::<Registry>();
    assert_debug::<Waker>();
    assert_debug::<Events>();
    assert_debug::<TcpStream>();
    assert_debug::<TcpListener>();
    assert_debug::<TcpBuilder>();
    assert_debug::<UdpSocket>();
    #[cfg(unix)]
    {
        assert_debug::<PipeReader>();
        assert_debug::<PipeWriter>();
    }
    #[cfg(windows)]
    assert_debug::<EventedSocket<'static>>();
}

#[test]
fn small_types_stay_small() {
    use std::mem::size_of;
    assert_eq!(size_of::<Token>(), size_of::<usize>());
    assert_eq!(size_of::<EventSet>(), size_of::<usize>());
    assert_eq!(size_of::<PollOpt>(), size_of::<usize>());
    assert_eq!(size_of::<Option<Token>>(), 2 * size_of::<usize>());
}

#[test]
fn event_set_constructors_and_predicates() {
    let r = EventSet::readable();
    let w = EventSet::writable();
    let e = EventSet::error();
    let h = EventSet::hup();
    assert!(r.is_readable() && !r.is_writable() && !r.is_error() && !r.is_hup());
    assert!(w.is_writable() && !w.is_readable());
    assert!(e.is_error() && !e.is_hup());
    assert!(h.is_hup() && !h.is_error());
    assert!(EventSet::none().is_none());
    assert!(!r.is_none());
    assert_eq!(EventSet::all(), r | w | e | h);
    assert_eq!(EventSet::default(), EventSet::none());
    assert_eq!(
        (r.bits(), w.bits(), e.bits(), h.bits()),
        (1, 2, 4, 8),
        "bit values are documented"
    );
    assert_eq!(EventSet::from_bits_truncate(0xff), EventSet::all());
    assert_eq!(EventSet::from_bits_truncate(0x10), EventSet::none());

    // The flags mio 0.5 did not have: above mio 0.5's bits (and PollOpt's 0x20..0x80), and
    // not in all().
    let p = EventSet::priority();
    let rc = EventSet::read_closed();
    let wc = EventSet::write_closed();
    assert_eq!((p.bits(), rc.bits(), wc.bits()), (0x100, 0x200, 0x400));
    assert!(p.is_priority() && !p.is_readable() && !p.is_read_closed());
    assert!(rc.is_read_closed() && !rc.is_hup() && !rc.is_write_closed());
    assert!(wc.is_write_closed() && !wc.is_error() && !wc.is_read_closed());
    for extra in [p, rc, wc] {
        assert!(!EventSet::all().contains(extra));
        assert_eq!(EventSet::from_bits_truncate(extra.bits()), extra);
    }
    assert_eq!(
        EventSet::from_bits_truncate(0x7ff),
        EventSet::all() | p | rc | wc
    );

    // All seven are distinct.
    let set: HashSet<EventSet> = [r, w, e, h, p, rc, wc].into_iter().collect();
    assert_eq!(set.len(), 7);
}

#[test]
fn event_set_operators() {
    let r = EventSet::readable();
    let w = EventSet::writable();
    let h = EventSet::hup();
    let rw = r | w;
    assert_eq!(rw & r, r);
    assert_eq!(rw & h, EventSet::none());
    assert_eq!(rw ^ r, w);
    assert_eq!(rw ^ rw, EventSet::none());
    assert_eq!(rw - w, r);
    assert_eq!(r - w, r);
    assert!(rw.contains(r) && rw.contains(rw) && !rw.contains(h));
    assert!(rw.contains(EventSet::none()));

    // `!` masks to all(): no undefined high bits appear.
    assert_eq!(!EventSet::none(), EventSet::all());
    assert_eq!(!EventSet::all(), EventSet::none());
    assert_eq!(!r, w | EventSet::error() | h);
    assert_eq!((!r).bits() & !EventSet::all().bits(), 0);
    assert_eq!(!!rw, rw);
    // `!` never produces the flags outside all(), and drops them.
    assert_eq!(!EventSet::read_closed(), EventSet::all());
    assert_eq!(!(r | EventSet::priority()), w | EventSet::error() | h);

    let mut s = EventSet::none();
    s.insert(r);
    s |= h;
    assert_eq!(s, r | h);
    s.remove(r);
    assert_eq!(s, h);
    s.remove(w); // removing an absent flag is a no-op
    assert_eq!(s, h);
}

#[test]
fn event_set_debug_lists_flags() {
    assert_eq!(format!("{:?}", EventSet::none()), "EventSet(None)");
    assert_eq!(format!("{:?}", EventSet::readable()), "EventSet(Readable)");
    assert_eq!(
        format!("{:?}", EventSet::readable() | EventSet::hup()),
        "EventSet(Readable | Hup)"
    );
    assert_eq!(
        format!("{:?}", EventSet::all()),
        "EventSet(Readable | Writable | Error | Hup)"
    );
    assert_eq!(
        format!(
            "{:?}",
            EventSet::hup()
                | EventSet::read_closed()
                | EventSet::write_closed()
                | EventSet::priority()
        ),
        "EventSet(Hup | ReadClosed | WriteClosed | Priority)"
    );
}

#[test]
fn poll_opt_semantics() {
    let edge = PollOpt::edge();
    let level = PollOpt::level();
    let oneshot = PollOpt::oneshot();
    assert!(edge.is_edge() && !edge.is_level() && !edge.is_oneshot());
    assert!(level.is_level() && !level.is_edge());
    assert!(oneshot.is_oneshot());
    // No edge flag means level.
    assert!(oneshot.is_level() && !oneshot.is_edge());
    assert!(PollOpt::empty().is_level() && !PollOpt::empty().is_edge());
    assert_eq!(PollOpt::default(), PollOpt::empty());

    // Level wins over edge.
    let both = edge | level;
    assert!(both.is_level() && !both.is_edge());
    assert!(PollOpt::all().is_level() && PollOpt::all().is_oneshot());
    assert!(!PollOpt::all().is_edge());
    assert!((edge | oneshot).is_edge() && (edge | oneshot).is_oneshot());

    assert_eq!(PollOpt::all(), edge | level | oneshot);
    assert_eq!(!PollOpt::empty(), PollOpt::all());
    assert_eq!(!PollOpt::all(), PollOpt::empty());
    assert_eq!(!edge, level | oneshot);
    assert_eq!((edge | oneshot) - oneshot, edge);
    assert_eq!((edge | oneshot) & oneshot, oneshot);
    assert_eq!((edge | oneshot) ^ edge, oneshot);
    assert!((edge | oneshot).contains(edge) && !(edge | oneshot).contains(level));
    // mio 0.5's values.
    assert_eq!(
        (edge.bits(), level.bits(), oneshot.bits()),
        (0x20, 0x40, 0x80)
    );
    assert_eq!(PollOpt::all().bits(), 0xe0);

    let mut opts = PollOpt::empty();
    opts.insert(edge);
    opts |= oneshot;
    assert_eq!(opts, edge | oneshot);
    opts.remove(edge);
    assert_eq!(opts, oneshot);
}

#[test]
fn poll_opt_debug_lists_flags() {
    assert_eq!(format!("{:?}", PollOpt::empty()), "PollOpt(Empty)");
    assert_eq!(format!("{:?}", PollOpt::edge()), "PollOpt(Edge)");
    assert_eq!(
        format!("{:?}", PollOpt::edge() | PollOpt::oneshot()),
        "PollOpt(Edge | Oneshot)"
    );
    assert_eq!(
        format!("{:?}", PollOpt::all()),
        "PollOpt(Edge | Level | Oneshot)"
    );
}

#[test]
fn token_and_io_event_basics() {
    assert!(Token(1) < Token(2));
    assert_eq!(Token::from(7), Token(7));
    assert_eq!(usize::from(Token(9)), 9);
    assert_eq!(Token(9).as_usize(), 9);
    assert_eq!(format!("{:?}", Token(3)), "Token(3)");
    let set: HashSet<Token> = [Token(1), Token(1), Token(2)].into_iter().collect();
    assert_eq!(set.len(), 2);

    let ev = IoEvent::new(EventSet::writable(), Token(4));
    assert_eq!(ev.kind(), EventSet::writable());
    assert_eq!(ev.token(), Token(4));
    assert_eq!(ev.kind, ev.kind());
    assert_eq!(ev.token, ev.token());
    assert_eq!(
        ev,
        IoEvent {
            kind: EventSet::writable(),
            token: Token(4)
        }
    );
    assert!(ev.is_writable() && !ev.is_readable() && !ev.is_error() && !ev.is_hup());
    let all =
        EventSet::all() | EventSet::priority() | EventSet::read_closed() | EventSet::write_closed();
    let ev = IoEvent::new(all, Token(5));
    assert!(ev.is_readable() && ev.is_writable() && ev.is_error() && ev.is_hup());
    assert!(ev.is_priority() && ev.is_read_closed() && ev.is_write_closed());
    let ev = IoEvent::new(EventSet::none(), Token(5));
    assert!(!ev.is_priority() && !ev.is_read_closed() && !ev.is_write_closed());
}

#[test]
fn events_buffer_basics() {
    let events = Events::with_capacity(16);
    assert!(events.capacity() >= 16);
    assert_eq!(events.len(), 0);
    assert!(events.is_empty());
    assert_eq!(events.get(0), None);
    assert_eq!(events.iter().count(), 0);
    assert_eq!((&events).into_iter().len(), 0);
}
