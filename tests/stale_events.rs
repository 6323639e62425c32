//! Token reuse and stale events: an fd number reused by a new source, a source deregistered
//! and dropped in the middle of a batch, a `dup`ed fd whose ferrio handle was dropped.

mod util;

#[cfg(unix)]
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};

use ferrio::tcp::TcpStream;
#[cfg(unix)]
use ferrio::unix::{EventedFd, UnixStream};
use ferrio::{EventLoop, EventSet, Events, Handler, Poll, PollOpt, Token, TryWrite};

use util::*;

static SERIAL: Mutex<()> = Mutex::new(());

/// Serialises the tests of this file, so fd numbers are reused deterministically (the
/// kernel hands out the lowest free number).
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A new source that gets a closed source's fd number, under a new token, receives only the
/// new token's events. (Unix: Windows hands out socket values in no order a test can rely on.)
#[cfg(unix)]
#[test]
fn reused_fd_number_reports_only_the_new_token() {
    let _g = serial();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (old, mut old_peer) = UnixStream::pair().unwrap();
    poll.register(&old, Token(1), EventSet::readable(), PollOpt::level())
        .unwrap();
    // Make the old source ready, then drop it (and its peer) before polling.
    old_peer.try_write(b"stale").unwrap();
    let old_fd = old.as_raw_fd();
    drop(old);
    drop(old_peer);

    // The two freed numbers go to the new pair; use whichever end got the old number.
    let (a, b) = UnixStream::pair().unwrap();
    let (new, mut new_peer) = if a.as_raw_fd() == old_fd {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(new.as_raw_fd(), old_fd, "the fd number was not reused");
    poll.register(&new, Token(2), EventSet::readable(), PollOpt::level())
        .unwrap();
    expect_no_events(&mut poll, &mut events);
    new_peer.try_write(b"fresh").unwrap();
    let seen = expect_events(
        &mut poll,
        &mut events,
        vec![(Token(2), EventSet::readable())],
    );
    assert!(
        seen.iter().all(|&(t, _)| t == Token(2)),
        "only the new token may be reported: {seen:?}"
    );
    // The same number, dropped and reused once more under Token(3).
    drop(new);
    let (c, d) = UnixStream::pair().unwrap();
    let again = if c.as_raw_fd() == old_fd { c } else { d };
    assert_eq!(again.as_raw_fd(), old_fd, "the fd number was not reused");
    poll.register(&again, Token(3), EventSet::writable(), PollOpt::level())
        .unwrap();
    let seen = expect_events(
        &mut poll,
        &mut events,
        vec![(Token(3), EventSet::writable())],
    );
    assert!(seen.iter().all(|&(t, _)| t == Token(3)), "{seen:?}");
}

/// Dropping a ferrio source whose fd was `dup`ed deregisters it: the duplicate stays open but
/// the old token never shows up again.
#[test]
fn dup_of_a_dropped_source_reports_nothing() {
    let _g = serial();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (stream, mut peer) = tcp_pair();
    poll.register(&stream, Token(7), EventSet::readable(), PollOpt::level())
        .unwrap();
    // A duplicate made outside ferrio (Unix; on Windows the clone below is the duplicate).
    #[cfg(unix)]
    let dup = {
        // SAFETY: dup on a live fd; the new fd is owned by `dup` below.
        let raw = unsafe { libc::dup(stream.as_raw_fd()) };
        assert!(raw >= 0);
        // SAFETY: dup just returned this fd and nothing else owns it.
        unsafe { OwnedFd::from_raw_fd(raw) }
    };
    let clone = stream.try_clone().unwrap();
    drop(stream);
    peer.try_write(b"data for the old token").unwrap();
    expect_no_events(&mut poll, &mut events);

    // The duplicates are still usable and can be registered anew under another token.
    poll.register(&clone, Token(8), EventSet::readable(), PollOpt::level())
        .unwrap();
    let seen = expect_events(
        &mut poll,
        &mut events,
        vec![(Token(8), EventSet::readable())],
    );
    assert!(seen.iter().all(|&(t, _)| t == Token(8)), "{seen:?}");
    drop(clone);
    expect_no_events(&mut poll, &mut events);
    #[cfg(unix)]
    drop(dup);
}

/// With raw fds (`EventedFd`) the caller owns the deregistration: after `deregister`, a
/// `dup` of the fd reports nothing either.
#[cfg(unix)]
#[test]
fn deregistered_evented_fd_with_a_dup_reports_nothing() {
    let _g = serial();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (a, mut b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    poll.register(
        &EventedFd(&fd),
        Token(4),
        EventSet::readable(),
        PollOpt::level(),
    )
    .unwrap();
    let dup = a.try_clone().unwrap();
    poll.deregister(&EventedFd(&fd)).unwrap();
    drop(a);
    b.try_write(b"x").unwrap();
    expect_no_events(&mut poll, &mut events);
    drop(dup);
}

/// Windows: the same with a raw socket (`EventedSocket`) and a duplicate made by `try_clone`
/// (`WSADuplicateSocket`).
#[cfg(windows)]
#[test]
fn deregistered_evented_socket_with_a_duplicate_reports_nothing() {
    use ferrio::windows::EventedSocket;
    use std::io::Write;
    use std::os::windows::io::AsRawSocket;
    let _g = serial();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let a = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut b, _) = listener.accept().unwrap();
    a.set_nonblocking(true).unwrap();
    let socket = a.as_raw_socket();
    poll.register(
        &EventedSocket(&socket),
        Token(4),
        EventSet::readable(),
        PollOpt::level(),
    )
    .unwrap();
    let dup = a.try_clone().unwrap();
    poll.deregister(&EventedSocket(&socket)).unwrap();
    drop(a);
    b.write_all(b"x").unwrap();
    expect_no_events(&mut poll, &mut events);
    drop(dup);
}

// --- the event loop never dispatches an event of a source dropped earlier in the batch ---

const SOURCES: usize = 64;

struct Dropper {
    streams: Vec<Option<TcpStream>>,
    peers: Vec<TcpStream>,
    dispatched: Vec<Token>,
    dropped: Vec<Token>,
    batches: usize,
}

impl Handler for Dropper {
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<Self>, token: Token, _: EventSet) {
        assert!(
            !self.dropped.contains(&token),
            "event for {token:?} dispatched after its source was dropped"
        );
        self.dispatched.push(token);
        // Drop every other still-open source: half of them by deregister + drop, half by
        // drop alone. Their events are already in this batch.
        for (i, slot) in self.streams.iter_mut().enumerate() {
            if Token(i) == token || slot.is_none() || i % 2 == token.0 % 2 {
                continue;
            }
            let stream = slot.take().unwrap();
            if (i / 2) % 2 == 0 {
                event_loop.deregister(&stream).unwrap();
            }
            drop(stream);
            self.dropped.push(Token(i));
        }
    }

    fn tick(&mut self, event_loop: &mut EventLoop<Self>) {
        self.batches += 1;
        event_loop.shutdown();
    }
}

#[test]
fn event_loop_skips_events_of_sources_dropped_earlier_in_the_batch() {
    let _g = serial();
    let mut event_loop: EventLoop<Dropper> = EventLoop::new().unwrap();
    let mut handler = Dropper {
        streams: Vec::new(),
        peers: Vec::new(),
        dispatched: Vec::new(),
        dropped: Vec::new(),
        batches: 0,
    };
    for _ in 0..SOURCES {
        let (stream, mut peer) = tcp_pair();
        peer.try_write(b"ready").unwrap();
        handler.streams.push(Some(stream));
        handler.peers.push(peer);
    }
    // Wait (bounded) until every source is readable, so the loop's one poll fetches them all.
    {
        let mut poll = Poll::new().unwrap();
        for (i, s) in handler.streams.iter().flatten().enumerate() {
            poll.register(s, Token(i), EventSet::readable(), PollOpt::level())
                .unwrap();
        }
        let mut events = Events::with_capacity(SOURCES * 2);
        let want = (0..SOURCES).map(|i| (Token(i), EventSet::readable()));
        expect_events(&mut poll, &mut events, want.collect());
        for s in handler.streams.iter().flatten() {
            poll.deregister(s).unwrap();
        }
    }
    for (i, s) in handler.streams.iter().flatten().enumerate() {
        event_loop
            .register(s, Token(i), EventSet::readable(), PollOpt::level())
            .unwrap();
    }
    event_loop.run(&mut handler).unwrap();
    assert_eq!(handler.batches, 1);
    // The first dispatched source dropped every source of the other parity; after that only
    // sources of its own parity can be dispatched.
    let first = handler.dispatched[0];
    assert_eq!(handler.dropped.len(), SOURCES / 2);
    assert!(handler
        .dispatched
        .iter()
        .all(|t| t.0 % 2 == first.0 % 2 && !handler.dropped.contains(t)));
    assert_eq!(handler.dispatched.len(), SOURCES / 2);
}
