//! Cross-thread wake: a thread blocked in its poller, woken by another thread.
//!
//! Two threads, each blocked in its own poller, wake each other in turn; one round trip is
//! two wakes (two syscalls and two thread wake-ups). Figures: round trips per second, p50
//! and p99 of single round trips. Implementations provide a [`Parker`] (a poller plus its
//! waker); tokio uses a `Notify` awaited on a current-thread runtime in each thread, which
//! wakes the runtime's driver the same way (an eventfd registered with its epoll).
//!
//! Every parker that can tell a timeout from a wake-up waits with a [`WATCHDOG`]: a wake-up
//! that never arrives stops the run and the report shows the failure instead of hanging.
//!
//! Two more ferrio variants wake through a message instead of a bare `Waker`:
//!
//! * **ferrio EventLoop**: the parked thread runs its `EventLoop` (`run_once`) until its
//!   `Handler::notify` has received a message; the other thread's `Sender::send` wakes it.
//! * **ferrio channel**: the bare `ferrio::channel` on a `Poll`: drain with `try_recv`, then
//!   `prepare_sleep`, poll, `after_wake`, as the channel's docs prescribe.
//!
//! Here the receiver is always asleep when the message is sent, so every message costs a
//! wake-up syscall (the channel workload measures the busy case, where it costs none).

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::util::{tokio_runtime, Recorder};
use crate::{implementation, raw, Bench, Config, Sample, Show};

/// The wake benches.
pub fn benches(_cfg: &Config) -> Vec<Bench> {
    vec![Bench::single(
        "cross-thread wake",
        Show::Rate("rt/s"),
        vec![
            implementation("ferrio", round_trips::<FerrioParker>),
            implementation("ferrio EventLoop", round_trips::<EventLoopParker>),
            implementation("ferrio channel", round_trips::<ChannelParker>),
            implementation("epoll", round_trips::<EventfdParker>),
            implementation("mio", round_trips::<MioParker>),
            implementation("polling", round_trips::<PollingParker>),
            implementation("tokio", tokio_round_trips),
        ],
    )]
}

/// A poller that a thread blocks in, and the handle other threads wake it with.
pub trait Parker: Sized + Send + 'static {
    /// The `Send + Sync` side that wakes the parker.
    type Unparker: Send + Sync + 'static;
    /// A new parker and its unparker.
    fn new() -> (Self, Self::Unparker);
    /// Blocks until woken (once per `unpark`, as the ping-pong never has two in flight).
    /// Returns `false` if nothing woke it within [`WATCHDOG`]: a lost wake-up (an
    /// implementation whose wake-ups cannot be told from a timeout may block without limit).
    fn park(&mut self) -> bool;
    /// Wakes the parker, from another thread.
    fn unpark(u: &Self::Unparker);
}

const WARMUP: usize = 1_000;

/// A wake-up that takes longer than this was lost: the run stops and is reported as failed.
pub const WATCHDOG: Duration = Duration::from_secs(1);

fn rounds(cfg: &Config) -> usize {
    cfg.pick(10_000, 100_000)
}

fn round_trips<P: Parker>(cfg: &Config) -> Sample {
    let rounds = rounds(cfg);
    let (mut main_parker, main_unparker) = P::new();
    let (mut peer_parker, peer_unparker) = P::new();
    let main_unparker = Arc::new(main_unparker);
    let peer_unparker = Arc::new(peer_unparker);
    let stop = Arc::new(AtomicBool::new(false));
    let peer_lost_wake = Arc::new(AtomicBool::new(false));
    let peer = {
        let main_unparker = Arc::clone(&main_unparker);
        let (stop, lost) = (Arc::clone(&stop), Arc::clone(&peer_lost_wake));
        thread::spawn(move || loop {
            let woken = peer_parker.park();
            if stop.load(Ordering::Acquire) {
                break;
            }
            if !woken {
                lost.store(true, Ordering::Release);
            }
            P::unpark(&main_unparker);
        })
    };
    let mut round_trip = || {
        P::unpark(&peer_unparker);
        main_parker.park() && !peer_lost_wake.load(Ordering::Acquire)
    };
    let mut ok = (0..WARMUP).all(|_| round_trip());
    let mut rec = Recorder::start(rounds);
    if ok {
        for _ in 0..rounds {
            if !round_trip() {
                ok = false;
                break;
            }
            rec.record();
        }
    }
    let mut sample = rec.finish();
    if !ok {
        sample.failure = Some("lost wake-up: a wake did not reach a thread blocked in poll");
    }
    stop.store(true, Ordering::Release);
    P::unpark(&peer_unparker);
    peer.join().expect("peer thread");
    sample
}

const WAKE: usize = 7;

/// ferrio `Poll` + `Waker`.
struct FerrioParker {
    poll: ferrio::Poll,
    events: ferrio::Events,
}

impl Parker for FerrioParker {
    type Unparker = ferrio::Waker;

    fn new() -> (Self, ferrio::Waker) {
        let poll = ferrio::Poll::new().expect("poll");
        let waker = ferrio::Waker::new(poll.registry(), ferrio::Token(WAKE)).expect("waker");
        let events = ferrio::Events::with_capacity(8);
        (FerrioParker { poll, events }, waker)
    }

    #[inline]
    fn park(&mut self) -> bool {
        loop {
            let n = self
                .poll
                .poll(&mut self.events, Some(WATCHDOG))
                .expect("poll");
            if n == 0 {
                return false;
            }
            if self.events.iter().any(|e| e.token() == ferrio::Token(WAKE)) {
                return true;
            }
        }
    }

    #[inline]
    fn unpark(u: &ferrio::Waker) {
        u.wake().expect("wake");
    }
}

/// ferrio `EventLoop`: parked in `run_once`, woken by a message on the loop's channel.
struct EventLoopParker {
    event_loop: ferrio::EventLoop<WakeHandler>,
    handler: WakeHandler,
}

/// Notes that a message arrived.
struct WakeHandler {
    woken: bool,
}

impl ferrio::Handler for WakeHandler {
    type Timeout = ();
    type Message = ();

    #[inline]
    fn notify(&mut self, _event_loop: &mut ferrio::EventLoop<Self>, _msg: ()) {
        self.woken = true;
    }
}

impl Parker for EventLoopParker {
    type Unparker = ferrio::Sender<()>;

    fn new() -> (Self, ferrio::Sender<()>) {
        let event_loop = ferrio::EventLoop::new().expect("event loop");
        let sender = event_loop.channel();
        let handler = WakeHandler { woken: false };
        (
            EventLoopParker {
                event_loop,
                handler,
            },
            sender,
        )
    }

    #[inline]
    fn park(&mut self) -> bool {
        let start = Instant::now();
        while !self.handler.woken {
            self.event_loop
                .run_once_timeout(&mut self.handler, Some(WATCHDOG))
                .expect("run_once");
            if !self.handler.woken && start.elapsed() >= WATCHDOG {
                return false;
            }
        }
        self.handler.woken = false;
        true
    }

    #[inline]
    fn unpark(u: &ferrio::Sender<()>) {
        u.send(()).expect("send");
    }
}

/// The bare `ferrio::channel` on a `Poll`.
struct ChannelParker {
    poll: ferrio::Poll,
    events: ferrio::Events,
    rx: ferrio::channel::Receiver<()>,
}

impl Parker for ChannelParker {
    type Unparker = ferrio::Sender<()>;

    fn new() -> (Self, ferrio::Sender<()>) {
        let poll = ferrio::Poll::new().expect("poll");
        let (tx, rx) =
            ferrio::channel::channel(poll.registry(), ferrio::Token(WAKE), 64).expect("channel");
        let events = ferrio::Events::with_capacity(8);
        (ChannelParker { poll, events, rx }, tx)
    }

    #[inline]
    fn park(&mut self) -> bool {
        loop {
            if self.rx.try_recv().is_some() {
                return true;
            }
            let sleep = self.rx.prepare_sleep();
            let timeout = if sleep { WATCHDOG } else { Duration::ZERO };
            let n = self
                .poll
                .poll(&mut self.events, Some(timeout))
                .expect("poll");
            self.rx.after_wake();
            if sleep && n == 0 {
                // The watchdog expired: no wake-up came (even if a message is queued).
                return false;
            }
        }
    }

    #[inline]
    fn unpark(u: &ferrio::Sender<()>) {
        u.send(()).expect("send");
    }
}

/// Hand-written: an eventfd registered edge-triggered with an epoll; a wake is one write,
/// and the counter is never read (each write is a new edge).
struct EventfdParker {
    epoll: raw::Epoll,
    events: [libc::epoll_event; 8],
    _eventfd: Arc<OwnedFd>,
}

impl Parker for EventfdParker {
    type Unparker = Arc<OwnedFd>;

    fn new() -> (Self, Arc<OwnedFd>) {
        let epoll = raw::Epoll::new().expect("epoll");
        let efd = Arc::new(raw::eventfd().expect("eventfd"));
        epoll
            .add(efd.as_raw_fd(), libc::EPOLLIN | libc::EPOLLET, WAKE as u64)
            .expect("epoll add");
        let parker = EventfdParker {
            epoll,
            events: [raw::EMPTY_EVENT; 8],
            _eventfd: Arc::clone(&efd),
        };
        (parker, efd)
    }

    #[inline]
    fn park(&mut self) -> bool {
        let timeout_ms = WATCHDOG.as_millis() as i32;
        loop {
            let n = self
                .epoll
                .wait(&mut self.events, timeout_ms)
                .expect("epoll_wait");
            if n == 0 {
                return false;
            }
            if self.events[..n].iter().any(|e| {
                let data = e.u64;
                data == WAKE as u64
            }) {
                return true;
            }
        }
    }

    #[inline]
    fn unpark(u: &Arc<OwnedFd>) {
        raw::eventfd_write(u.as_raw_fd()).expect("eventfd write");
    }
}

/// mio `Poll` + `Waker`.
struct MioParker {
    poll: mio::Poll,
    events: mio::Events,
}

impl Parker for MioParker {
    type Unparker = mio::Waker;

    fn new() -> (Self, mio::Waker) {
        let poll = mio::Poll::new().expect("poll");
        let waker = mio::Waker::new(poll.registry(), mio::Token(WAKE)).expect("waker");
        let events = mio::Events::with_capacity(8);
        (MioParker { poll, events }, waker)
    }

    #[inline]
    fn park(&mut self) -> bool {
        loop {
            self.poll
                .poll(&mut self.events, Some(WATCHDOG))
                .expect("poll");
            if self.events.is_empty() {
                return false;
            }
            if self.events.iter().any(|e| e.token() == mio::Token(WAKE)) {
                return true;
            }
        }
    }

    #[inline]
    fn unpark(u: &mio::Waker) {
        u.wake().expect("wake");
    }
}

/// `polling::Poller::notify`.
struct PollingParker {
    poller: Arc<polling::Poller>,
    events: polling::Events,
}

impl Parker for PollingParker {
    type Unparker = Arc<polling::Poller>;

    fn new() -> (Self, Arc<polling::Poller>) {
        let poller = Arc::new(polling::Poller::new().expect("poller"));
        let parker = PollingParker {
            poller: Arc::clone(&poller),
            events: polling::Events::new(),
        };
        (parker, poller)
    }

    #[inline]
    fn park(&mut self) -> bool {
        // With no sources registered, `wait(None)` returns only when notified. A timeout
        // would look the same (no events), so polling gets no watchdog.
        self.events.clear();
        self.poller.wait(&mut self.events, None).expect("wait");
        true
    }

    #[inline]
    fn unpark(u: &Arc<polling::Poller>) {
        u.notify().expect("notify");
    }
}

/// tokio: a current-thread runtime per thread, each awaiting its `Notify`.
fn tokio_round_trips(cfg: &Config) -> Sample {
    let rounds = rounds(cfg);
    let main_notify = Arc::new(tokio::sync::Notify::new());
    let peer_notify = Arc::new(tokio::sync::Notify::new());
    let stop = Arc::new(AtomicBool::new(false));
    let peer = {
        let (main_notify, peer_notify, stop) = (
            Arc::clone(&main_notify),
            Arc::clone(&peer_notify),
            Arc::clone(&stop),
        );
        thread::spawn(move || {
            tokio_runtime().block_on(async move {
                loop {
                    peer_notify.notified().await;
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    main_notify.notify_one();
                }
            })
        })
    };
    let sample = tokio_runtime().block_on(async {
        for _ in 0..WARMUP {
            peer_notify.notify_one();
            main_notify.notified().await;
        }
        let mut rec = Recorder::start(rounds);
        for _ in 0..rounds {
            peer_notify.notify_one();
            main_notify.notified().await;
            rec.record();
        }
        rec.finish()
    });
    stop.store(true, Ordering::Release);
    peer_notify.notify_one();
    peer.join().expect("peer thread");
    sample
}
