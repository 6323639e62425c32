//! Poll overhead: K registered eventfds, one of them ready; the cost of a poll call that
//! returns that one event.
//!
//! * **level**: the ready fd is registered level-triggered and stays ready (its counter is
//!   never read), so every poll returns it. mio 1.x has no level-triggered mode: n/a.
//! * **edge**: every fd is edge-triggered; after each poll the ready fd is re-armed with a
//!   reregister (`EPOLL_CTL_MOD`, which queues a new event for an fd that is still ready), so
//!   a step is one poll plus one reregister.
//!
//! K = 1, 1,000 and 10,000: epoll's wait costs O(ready fds), so K should not matter; a
//! library that scanned its registrations per poll would show it here.
//!
//! An implementation is a [`PollFn`].

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Instant;

use crate::{allocations, raw, Bench, Config, Implementation, Row, Sample, Show};

/// Level or re-armed edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Level,
    Edge,
}

/// Registers every fd of `fds` with token = index, then polls `iters` times; each poll must
/// return exactly the event of `fds[ready]` (re-armed after each poll in [`Mode::Edge`]).
/// Returns the sample for the polling loop only.
pub type PollFn = fn(fds: &[RawFd], ready: usize, mode: Mode, iters: usize) -> Sample;

/// The poll-overhead benches: level and edge, for each K.
pub fn benches(_cfg: &Config) -> Vec<Bench> {
    let mut out = Vec::new();
    for mode in [Mode::Level, Mode::Edge] {
        for k in [1usize, 1_000, 10_000] {
            let mut impls: Vec<(&'static str, PollFn)> =
                vec![("ferrio", poll_ferrio), ("epoll", poll_epoll)];
            if mode == Mode::Edge {
                impls.push(("mio", poll_mio));
            }
            impls.push(("polling", poll_polling));
            let name = format!(
                "poll K={k} {}",
                if mode == Mode::Level {
                    "level"
                } else {
                    "edge+rearm"
                }
            );
            out.push(Bench {
                rows: vec![Row {
                    name,
                    show: Show::Time("ns/poll"),
                }],
                extra: None,
                implementations: impls
                    .into_iter()
                    .map(|(name, f)| Implementation {
                        name,
                        run: Box::new(move |cfg| vec![run(cfg, k, mode, f)]),
                    })
                    .collect(),
            });
        }
    }
    out
}

fn run(cfg: &Config, k: usize, mode: Mode, f: PollFn) -> Sample {
    let mut iters = cfg.pick(100_000, 400_000);
    if std::env::var("FERRIO_BACKEND").is_ok_and(|b| b.trim().eq_ignore_ascii_case("poll")) {
        // poll(2) costs O(K) in the kernel per call (about 80 µs at K = 1,000 here): fewer
        // iterations keep a run short; every implementation of the row gets the same count.
        iters = iters.min((50_000_000 / k).max(500));
    }
    let fds: Vec<OwnedFd> = (0..k).map(|_| raw::eventfd().expect("eventfd")).collect();
    let ready = k / 2;
    raw::eventfd_write(fds[ready].as_raw_fd()).expect("eventfd write");
    let raw_fds: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    f(&raw_fds, ready, mode, iters)
}

const WARMUP: usize = 1_000;

/// Times `iters` calls of `step` (after a warm-up); each must report one event.
#[inline]
fn measure(iters: usize, mut step: impl FnMut()) -> Sample {
    for _ in 0..WARMUP {
        step();
    }
    let allocs = allocations();
    let start = Instant::now();
    for _ in 0..iters {
        step();
    }
    let elapsed = start.elapsed();
    Sample {
        ns_per_op: elapsed.as_nanos() as f64 / iters as f64,
        allocs_per_op: (allocations() - allocs) as f64 / iters as f64,
        ..Sample::default()
    }
}

fn poll_ferrio(fds: &[RawFd], ready: usize, mode: Mode, iters: usize) -> Sample {
    use ferrio::unix::EventedFd;
    let mut poll = ferrio::Poll::new().expect("poll");
    let opts = match mode {
        Mode::Level => ferrio::PollOpt::level(),
        Mode::Edge => ferrio::PollOpt::edge(),
    };
    let interest = ferrio::EventSet::readable();
    for (i, fd) in fds.iter().enumerate() {
        poll.register(&EventedFd(fd), ferrio::Token(i), interest, opts)
            .expect("register");
    }
    let mut events = ferrio::Events::with_capacity(64);
    let token = ferrio::Token(ready);
    let sample = measure(iters, || {
        poll.poll(&mut events, None).expect("poll");
        let ev = events.get(0).expect("one event");
        assert!(events.len() == 1 && ev.token() == token && ev.kind().is_readable());
        if mode == Mode::Edge {
            poll.reregister(&EventedFd(&fds[ready]), token, interest, opts)
                .expect("reregister");
        }
    });
    for fd in fds {
        poll.deregister(&EventedFd(fd)).expect("deregister");
    }
    sample
}

fn poll_epoll(fds: &[RawFd], ready: usize, mode: Mode, iters: usize) -> Sample {
    let epoll = raw::Epoll::new().expect("epoll");
    let flags = match mode {
        Mode::Level => libc::EPOLLIN | libc::EPOLLRDHUP,
        Mode::Edge => libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET,
    };
    for (i, &fd) in fds.iter().enumerate() {
        epoll.add(fd, flags, i as u64).expect("epoll add");
    }
    let mut events = [raw::EMPTY_EVENT; 64];
    measure(iters, || {
        let n = epoll.wait(&mut events, -1).expect("epoll_wait");
        let data = events[0].u64;
        assert!(n == 1 && data == ready as u64);
        if mode == Mode::Edge {
            epoll
                .modify(fds[ready], flags, ready as u64)
                .expect("epoll mod");
        }
    })
}

fn poll_mio(fds: &[RawFd], ready: usize, mode: Mode, iters: usize) -> Sample {
    use mio::unix::SourceFd;
    assert_eq!(mode, Mode::Edge, "mio 1.x is edge-triggered only");
    let mut poll = mio::Poll::new().expect("poll");
    for (i, fd) in fds.iter().enumerate() {
        poll.registry()
            .register(&mut SourceFd(fd), mio::Token(i), mio::Interest::READABLE)
            .expect("register");
    }
    let mut events = mio::Events::with_capacity(64);
    let token = mio::Token(ready);
    let sample = measure(iters, || {
        poll.poll(&mut events, None).expect("poll");
        let mut it = events.iter();
        let ev = it.next().expect("one event");
        assert!(it.next().is_none() && ev.token() == token && ev.is_readable());
        poll.registry()
            .reregister(&mut SourceFd(&fds[ready]), token, mio::Interest::READABLE)
            .expect("reregister");
    });
    for fd in fds {
        poll.registry()
            .deregister(&mut SourceFd(fd))
            .expect("deregister");
    }
    sample
}

fn poll_polling(fds: &[RawFd], ready: usize, mode: Mode, iters: usize) -> Sample {
    let poller = polling::Poller::new().expect("poller");
    let pmode = match mode {
        Mode::Level => polling::PollMode::Level,
        Mode::Edge => polling::PollMode::Edge,
    };
    // The fds are owned by `run`, which closes them after this function has deleted them.
    let borrowed: Vec<std::os::fd::BorrowedFd<'_>> = fds
        .iter()
        // SAFETY: every fd stays open until `run` drops its `OwnedFd`s, after we return.
        .map(|&fd| unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) })
        .collect();
    for (i, fd) in borrowed.iter().enumerate() {
        // SAFETY: every fd is deleted from the poller below, before it is closed.
        unsafe {
            poller
                .add_with_mode(fd, polling::Event::readable(i), pmode)
                .expect("polling add")
        };
    }
    let mut events = polling::Events::with_capacity(std::num::NonZeroUsize::new(64).unwrap());
    let sample = measure(iters, || {
        events.clear();
        poller.wait(&mut events, None).expect("wait");
        let mut it = events.iter();
        let ev = it.next().expect("one event");
        assert!(it.next().is_none() && ev.key == ready && ev.readable);
        if mode == Mode::Edge {
            poller
                .modify_with_mode(borrowed[ready], polling::Event::readable(ready), pmode)
                .expect("modify");
        }
    });
    for fd in &borrowed {
        poller.delete(fd).expect("delete");
    }
    sample
}
