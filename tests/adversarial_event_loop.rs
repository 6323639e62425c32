//! The EventLoop under attack, on every backend of the build: sources deregistered, dropped
//! and replaced (their fd numbers reused) by the callbacks of other sources in the same batch,
//! timers at the extremes, the channel full and closed, message storms from many threads.
#![cfg(unix)]

mod util;

use std::collections::{HashMap, HashSet};
use std::os::fd::AsRawFd;
use std::thread;
use std::time::Duration;

use ferrio::unix::UnixStream;
use ferrio::{
    Backend, EventLoop, EventLoopConfig, EventSet, Handler, NotifyError, PollOpt, Token, TryRead,
    TryWrite,
};

use util::*;

fn event_loop<H: Handler>(backend: Backend) -> Option<EventLoop<H>> {
    let mut config = EventLoopConfig::new();
    config.backend(backend);
    let event_loop = EventLoop::configured(&config).unwrap();
    if event_loop.registry().backend() != backend {
        precondition_missing(&format!("{backend} runs here (fell back)"));
        return None;
    }
    Some(event_loop)
}

/// The first callback of a batch deregisters or drops every other source of the batch and
/// replaces each with a new, already readable source (which gets a freed fd number) under a
/// new token, or under the same token. No callback is made for a token whose source is gone,
/// and every replacement's event is delivered (none lost to the skip).
struct Replacer {
    sources: HashMap<Token, (UnixStream, UnixStream)>,
    gone: HashSet<Token>,
    same_token: bool,
    next: usize,
    replaced: bool,
    delivered: Vec<Token>,
    fresh: HashSet<Token>,
    backend: Backend,
}

impl Handler for Replacer {
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<Replacer>, token: Token, events: EventSet) {
        assert!(
            !self.gone.contains(&token),
            "{}: ready({token:?}, {events:?}) after its source was removed in this batch",
            self.backend
        );
        self.delivered.push(token);
        if self.replaced {
            if let Some((a, _)) = self.sources.get(&token) {
                let mut buf = [0u8; 64];
                while let Ok(Some(n)) = (&*a).try_read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                }
            }
            self.fresh.remove(&token);
            if self.fresh.is_empty() {
                event_loop.shutdown();
            }
            return;
        }
        self.replaced = true;
        let others: Vec<Token> = self
            .sources
            .keys()
            .copied()
            .filter(|&t| t != token)
            .collect();
        for (i, t) in others.into_iter().enumerate() {
            let (a, b) = self.sources.remove(&t).unwrap();
            if i % 2 == 0 {
                event_loop.deregister(&a).unwrap();
            }
            drop(a);
            drop(b);
            let new_token = if self.same_token {
                t
            } else {
                self.next += 1;
                self.gone.insert(t);
                Token(self.next)
            };
            let (c, mut d) = UnixStream::pair().unwrap();
            event_loop
                .register(&c, new_token, EventSet::readable(), PollOpt::edge())
                .unwrap();
            d.try_write(b"fresh").unwrap();
            self.fresh.insert(new_token);
            self.sources.insert(new_token, (c, d));
        }
        // The source of this callback is drained and stays.
        let (a, _) = &self.sources[&token];
        let mut buf = [0u8; 64];
        while let Ok(Some(n)) = (&*a).try_read(&mut buf) {
            if n == 0 {
                break;
            }
        }
    }

    fn timeout(&mut self, _: &mut EventLoop<Replacer>, _: ()) {
        panic!(
            "{}: replacements never all delivered: missing {:?}, delivered {:?}",
            self.backend, self.fresh, self.delivered
        );
    }
}

#[test]
fn sources_replaced_in_the_middle_of_a_batch() {
    for same_token in [false, true] {
        for backend in Backend::ALL {
            let Some(mut event_loop) = event_loop::<Replacer>(backend) else {
                continue;
            };
            let mut handler = Replacer {
                sources: HashMap::new(),
                gone: HashSet::new(),
                same_token,
                next: 100,
                replaced: false,
                delivered: Vec::new(),
                fresh: HashSet::new(),
                backend,
            };
            for i in 0..16 {
                let (a, mut b) = UnixStream::pair().unwrap();
                event_loop
                    .register(&a, Token(i), EventSet::readable(), PollOpt::edge())
                    .unwrap();
                b.try_write(b"x").unwrap();
                handler.sources.insert(Token(i), (a, b));
            }
            let _timeout = event_loop.timeout((), Duration::from_secs(10)).unwrap();
            event_loop.run(&mut handler).unwrap();
            assert!(handler.fresh.is_empty());
        }
    }
}

/// Timers at the extremes: `Duration::MAX` and `u64::MAX` ms never fire and are cleared
/// cleanly; a zero delay fires in the next iteration; a full timer refuses with the value
/// handed back and accepts again after one fires.
struct Timers {
    fired: Vec<u32>,
}

impl Handler for Timers {
    type Timeout = u32;
    type Message = ();

    fn timeout(&mut self, event_loop: &mut EventLoop<Timers>, t: u32) {
        self.fired.push(t);
        if t == 1 {
            event_loop.shutdown();
        }
    }
}

#[test]
fn timers_at_the_extremes() {
    for backend in Backend::ALL {
        let mut config = EventLoopConfig::new();
        config.backend(backend).timer_capacity(4);
        let mut event_loop: EventLoop<Timers> = EventLoop::configured(&config).unwrap();
        let never = event_loop.timeout(100, Duration::MAX).unwrap();
        let never_ms = event_loop.timeout_ms(101, u64::MAX).unwrap();
        let _soon = event_loop.timeout(0, Duration::ZERO).unwrap();
        let _done = event_loop.timeout(1, Duration::from_millis(5)).unwrap();
        match event_loop.try_timeout(2, Duration::ZERO) {
            Err((_, 2)) => {}
            other => panic!("{backend}: a full timer gave {other:?}"),
        }
        assert!(event_loop.reset_timeout(never, Duration::MAX));
        let mut handler = Timers { fired: Vec::new() };
        event_loop.run(&mut handler).unwrap();
        assert_eq!(handler.fired, vec![0, 1], "{backend}");
        // Two slots are free again.
        let _timeout = event_loop.timeout(3, Duration::ZERO).unwrap();
        let _timeout = event_loop.timeout(4, Duration::ZERO).unwrap();
        assert!(event_loop.clear_timeout(never));
        assert!(!event_loop.clear_timeout(never));
        assert!(event_loop.clear_timeout(never_ms));
        // A zero delay rounds up to the next tick: each fires in the first iteration whose
        // clock reading has passed it (this one or the next).
        for _ in 0..100 {
            if handler.fired.len() == 4 {
                break;
            }
            event_loop.run_once(&mut handler, Some(usize::MAX)).unwrap();
        }
        assert_eq!(handler.fired, vec![0, 1, 3, 4], "{backend}");
        // A huge run_once timeout with nothing pending but a wake from another thread.
        let tx = event_loop.channel();
        let t = thread::spawn(move || {
            let _ = tx.send(());
        });
        event_loop.run_once(&mut handler, Some(usize::MAX)).unwrap();
        t.join().unwrap();
    }
}

/// The channel at capacity 1: the second send is `Full` with the message back; after the loop
/// takes one, sends work again; once the loop is dropped, `Closed` with the message back.
/// Four threads send 2,000 messages each: every one arrives once, in order per thread.
struct Messages {
    got: Vec<(usize, usize)>,
    want: usize,
}

impl Handler for Messages {
    type Timeout = ();
    type Message = (usize, usize);

    fn notify(&mut self, event_loop: &mut EventLoop<Messages>, msg: (usize, usize)) {
        self.got.push(msg);
        if self.got.len() == self.want {
            event_loop.shutdown();
        }
    }
}

#[test]
fn channel_full_closed_and_storms() {
    for backend in Backend::ALL {
        let mut config = EventLoopConfig::new();
        config.backend(backend).notify_capacity(1);
        let mut event_loop: EventLoop<Messages> = EventLoop::configured(&config).unwrap();
        let tx = event_loop.channel();
        tx.send((9, 0)).unwrap();
        match tx.send((9, 1)) {
            Err(NotifyError::Full((9, 1))) => {}
            other => panic!("{backend}: {other:?}"),
        }
        let mut handler = Messages {
            got: Vec::new(),
            want: 1,
        };
        event_loop.run(&mut handler).unwrap();
        assert_eq!(handler.got, vec![(9, 0)]);
        tx.send((9, 2)).unwrap();
        drop(event_loop);
        match tx.send((9, 3)) {
            Err(NotifyError::Closed(Some((9, 3)))) => {}
            other => panic!("{backend}: send after the loop was dropped: {other:?}"),
        }

        let mut config = EventLoopConfig::new();
        config.backend(backend).notify_capacity(64);
        let mut event_loop: EventLoop<Messages> = EventLoop::configured(&config).unwrap();
        const PER: usize = 2000;
        let mut handles = Vec::new();
        for t in 0..4 {
            let tx = event_loop.channel();
            handles.push(thread::spawn(move || {
                for i in 0..PER {
                    let mut msg = (t, i);
                    loop {
                        match tx.send(msg) {
                            Ok(()) => break,
                            Err(NotifyError::Full(m)) => {
                                msg = m;
                                thread::yield_now();
                            }
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                }
            }));
        }
        let mut handler = Messages {
            got: Vec::new(),
            want: 4 * PER,
        };
        event_loop.run(&mut handler).unwrap();
        for h in handles {
            h.join().unwrap();
        }
        let mut next = [0usize; 4];
        for &(t, i) in &handler.got {
            assert_eq!(i, next[t], "{backend}: thread {t} out of order");
            next[t] += 1;
        }
        assert_eq!(next, [PER; 4], "{backend}");
    }
}

/// Deregistration from another thread while the loop sleeps, then the fd number is reused by
/// a source registered on that thread under another token: the loop reports only the new one.
struct OnlyNew {
    old: Token,
    new: Token,
    seen_new: bool,
    backend: Backend,
}

impl Handler for OnlyNew {
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<OnlyNew>, token: Token, _: EventSet) {
        assert_ne!(token, self.old, "{}: the old token came back", self.backend);
        if token == self.new {
            self.seen_new = true;
            event_loop.shutdown();
        }
    }

    fn timeout(&mut self, _: &mut EventLoop<OnlyNew>, _: ()) {
        panic!("{}: the new source was never reported", self.backend);
    }
}

#[test]
fn deregistered_and_reused_from_another_thread() {
    for backend in Backend::ALL {
        let Some(mut event_loop) = event_loop::<OnlyNew>(backend) else {
            continue;
        };
        let (a, mut b) = UnixStream::pair().unwrap();
        event_loop
            .register(&a, Token(1), EventSet::readable(), PollOpt::level())
            .unwrap();
        let registry = event_loop.registry().clone();
        let t = thread::spawn(move || {
            registry.deregister(&a).unwrap();
            let old_fd = a.as_raw_fd();
            b.try_write(b"stale").unwrap();
            drop(a);
            let (c, d) = UnixStream::pair().unwrap();
            let (new, mut peer) = if c.as_raw_fd() == old_fd {
                (c, d)
            } else {
                (d, c)
            };
            registry
                .register(&new, Token(2), EventSet::readable(), PollOpt::level())
                .unwrap();
            peer.try_write(b"new").unwrap();
            (new, peer, b)
        });
        let _timeout = event_loop.timeout((), Duration::from_secs(10)).unwrap();
        let mut handler = OnlyNew {
            old: Token(1),
            new: Token(2),
            seen_new: false,
            backend,
        };
        let keep = t.join().unwrap();
        event_loop.run(&mut handler).unwrap();
        assert!(handler.seen_new);
        drop(keep);
    }
}

/// Messages left in the channel when the loop is dropped are dropped with it (no leak, no
/// double drop), whether the senders outlive the loop or not; `shutdown` then `run` again
/// works.
struct Holds(usize);

impl Handler for Holds {
    type Timeout = ();
    type Message = std::sync::Arc<()>;

    fn notify(&mut self, event_loop: &mut EventLoop<Holds>, msg: std::sync::Arc<()>) {
        drop(msg);
        self.0 += 1;
        if self.0 % 2 == 0 {
            event_loop.shutdown();
        }
    }
}

#[test]
fn undelivered_messages_are_dropped_with_the_loop() {
    for backend in Backend::ALL {
        let token = std::sync::Arc::new(());
        let mut config = EventLoopConfig::new();
        config.backend(backend).notify_capacity(8);
        let mut event_loop: EventLoop<Holds> = EventLoop::configured(&config).unwrap();
        let tx = event_loop.channel();
        for _ in 0..6 {
            tx.send(token.clone()).unwrap();
        }
        let mut handler = Holds(0);
        event_loop.run(&mut handler).unwrap();
        assert_eq!(handler.0 % 2, 0);
        // Run again after shutdown, with two more sent: it runs and stops again.
        let before = handler.0;
        tx.send(token.clone()).unwrap();
        tx.send(token.clone()).unwrap();
        event_loop.run(&mut handler).unwrap();
        assert!(handler.0 >= before + 2, "{backend}: run after shutdown");
        assert_eq!(std::sync::Arc::strong_count(&token), 1 + 8 - handler.0);
        drop(event_loop);
        assert_eq!(
            std::sync::Arc::strong_count(&token),
            1,
            "{backend}: messages left in the channel leaked"
        );
        // A send after the loop is gone hands the message back, which is then dropped.
        match tx.send(token.clone()) {
            Err(NotifyError::Closed(Some(m))) => drop(m),
            other => panic!("{backend}: {other:?}"),
        }
        drop(tx);
        assert_eq!(std::sync::Arc::strong_count(&token), 1);
    }
}
