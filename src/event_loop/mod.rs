//! [`EventLoop`]: a single-threaded loop dispatching IO readiness, messages and timeouts to a
//! [`Handler`].
//!
//! # One iteration
//!
//! 1. If messages are queued, poll without sleeping. Otherwise sleep until the earliest of:
//!    IO readiness, a message, the caller's timeout, the **earliest timer deadline**. The
//!    loop never wakes up per tick: an idle loop with no timers sleeps in one syscall.
//! 2. If a signal interrupted the wait, call [`Handler::interrupted`].
//! 3. Call [`Handler::ready`] once per ready source. A source deregistered (or dropped)
//!    during this step is skipped for the rest of the batch.
//! 4. Deliver up to `messages_per_tick` messages in FIFO order ([`Handler::notify`]), out of
//!    those queued when this step starts: a message sent meanwhile (even by a `notify` to
//!    its own loop) waits for the next iteration, which then polls without sleeping.
//! 5. Fire every due timeout in deadline order ([`Handler::timeout`]).
//! 6. Call [`Handler::tick`].
//!
//! # What it costs
//!
//! A feature costs only when used: the clock is read only while timeouts are pending, the
//! channel (an eventfd and a queue) exists only after the first [`EventLoop::channel`], the
//! timer wheel is allocated on the first timeout. After warm-up nothing allocates.

mod config;
mod handler;

pub use config::EventLoopConfig;
pub use handler::Handler;

use std::fmt;
use std::io;
use std::time::Duration;

use crate::channel::{self, Receiver, Sender};
use crate::event::Events;
use crate::event_set::EventSet;
use crate::evented::Evented;
use crate::poll::{Poll, Registry};
use crate::poll_opt::PollOpt;
use crate::timer::{Timeout, Timer, TimerError, TimerResult};
use crate::token::Token;

/// The loop's channel: a sender to clone out and the receiving end.
type Channel<M> = (Sender<M>, Receiver<M>);

/// A single-threaded event loop: IO readiness, cross-thread messages and timeouts,
/// dispatched to a [`Handler`].
///
/// # Examples
///
/// A listener and a client on one loop; the server accepts and drops the connection, the
/// client sees the close and shuts the loop down:
///
/// ```
/// use ferrio::{EventLoop, EventSet, Handler, PollOpt, Token};
/// use ferrio::tcp::{TcpListener, TcpStream};
///
/// const SERVER: Token = Token(0);
/// const CLIENT: Token = Token(1);
///
/// struct Demo(TcpListener);
///
/// impl Handler for Demo {
///     type Timeout = ();
///     type Message = ();
///
///     fn ready(&mut self, event_loop: &mut EventLoop<Demo>, token: Token, events: EventSet) {
///         match token {
///             SERVER => while let Ok(Some(_)) = self.0.accept() {}, // accept and drop
///             CLIENT if events.is_hup() => event_loop.shutdown(),
///             _ => {}
///         }
///     }
/// }
///
/// let server = TcpListener::bind(&"127.0.0.1:0".parse().unwrap())?;
/// let mut event_loop = EventLoop::new()?;
/// event_loop.register(&server, SERVER, EventSet::readable(), PollOpt::edge())?;
/// let client = TcpStream::connect(&server.local_addr()?)?;
/// event_loop.register(&client, CLIENT, EventSet::readable(), PollOpt::edge())?;
/// event_loop.run(&mut Demo(server))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct EventLoop<H: Handler> {
    poll: Poll,
    events: Events,
    running: bool,
    config: EventLoopConfig,
    /// Allocated on the first timeout.
    timer: Option<Timer<H::Timeout>>,
    /// Tick 0 of the timer, in `sys::monotonic_ns` time.
    epoch_ns: u64,
    tick_nanos: u64,
    /// Earliest pending deadline in ns since the epoch, `u64::MAX` if none. Never later
    /// than the true earliest deadline (a cleared timeout may leave it earlier: one
    /// spurious wake-up, after which it is recomputed).
    next_deadline_ns: u64,
    /// Created on the first `channel()`.
    notify: Option<Channel<H::Message>>,
}

impl<H: Handler> EventLoop<H> {
    /// A loop with the default [`EventLoopConfig`].
    ///
    /// # Errors
    ///
    /// The OS error of creating the selector.
    pub fn new() -> io::Result<EventLoop<H>> {
        EventLoop::configured(EventLoopConfig::default())
    }

    /// A loop with the given configuration.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an invalid configuration (a zero capacity, a zero tick), or the OS
    /// error of creating the selector.
    pub fn configured(config: EventLoopConfig) -> io::Result<EventLoop<H>> {
        config.validate()?;
        let tick_nanos = config.timer_tick.as_nanos().min(u64::MAX as u128) as u64;
        let poll = Poll::with_backend_or_env(config.backend)?;
        // The same-batch guarantee of `deregister`: the selector records deregistrations
        // (made on any thread, for any kind of source) while this loop runs.
        poll.registry().selector.deregister_log().enable();
        Ok(EventLoop {
            poll,
            events: Events::with_capacity(config.events_capacity),
            running: false,
            timer: None,
            epoch_ns: crate::sys::monotonic_ns(),
            tick_nanos,
            next_deadline_ns: u64::MAX,
            notify: None,
            config,
        })
    }

    /// The loop's thread-safe registration handle: other threads can register sources with
    /// this loop through it.
    pub fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// Registers `io` under `token`.
    ///
    /// # Errors
    ///
    /// As [`Registry::register`]: `AlreadyExists`, `InvalidInput` for `Token(usize::MAX)`,
    /// or the OS error.
    pub fn register<E: Evented + ?Sized>(
        &mut self,
        io: &E,
        token: Token,
        interest: EventSet,
        opt: PollOpt,
    ) -> io::Result<()> {
        self.poll.register(io, token, interest, opt)
    }

    /// Changes the token, interest or options of `io`'s registration.
    ///
    /// # Errors
    ///
    /// As [`Registry::reregister`]: `NotFound` if `io` is not registered here.
    pub fn reregister<E: Evented + ?Sized>(
        &mut self,
        io: &E,
        token: Token,
        interest: EventSet,
        opt: PollOpt,
    ) -> io::Result<()> {
        self.poll.reregister(io, token, interest, opt)
    }

    /// Removes `io`'s registration. From the moment this returns, [`Handler::ready`] is never
    /// called for `io` again, not even for events already fetched in the current batch. This
    /// holds for every kind of source (raw fds through [`EventedFd`](crate::unix::EventedFd)
    /// too) and also when the source is deregistered or dropped on another thread through the
    /// loop's [`registry`](Self::registry). After a [`reregister`](Self::reregister) under a
    /// new token, the batch's events under the old token are skipped the same way.
    ///
    /// # Errors
    ///
    /// As [`Registry::deregister`]: `NotFound` if `io` is not registered here.
    pub fn deregister<E: Evented + ?Sized>(&mut self, io: &E) -> io::Result<()> {
        self.poll.deregister(io)
    }

    /// Runs until [`shutdown`](Self::shutdown) is called; then returns after finishing the
    /// current iteration. `run` may be called again afterwards.
    ///
    /// # Errors
    ///
    /// An OS error from waiting for events (other than `EINTR`, which goes to
    /// [`Handler::interrupted`]).
    pub fn run(&mut self, handler: &mut H) -> io::Result<()> {
        self.running = true;
        while self.running {
            if let Err(e) = self.run_once(handler, None) {
                // `run` has returned: `is_running` must say so.
                self.running = false;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Runs one iteration, sleeping at most `timeout` (and less if a timer is due sooner).
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    pub fn run_once(&mut self, handler: &mut H, timeout: Option<Duration>) -> io::Result<()> {
        let mut sleep = timeout;
        let messages_pending = match &self.notify {
            Some((_, rx)) => !rx.prepare_sleep(),
            None => false,
        };
        if messages_pending {
            sleep = Some(Duration::ZERO);
        } else if self.next_deadline_ns != u64::MAX {
            let until_timer =
                Duration::from_nanos(self.next_deadline_ns.saturating_sub(self.elapsed_ns()));
            sleep = Some(sleep.map_or(until_timer, |t| t.min(until_timer)));
        }

        // Deregistrations recorded before this wait cannot concern what it fetches.
        self.poll
            .registry()
            .selector
            .deregister_log()
            .begin_iteration();
        let res = self.poll.poll(&mut self.events, sleep);
        self.poll
            .registry()
            .selector
            .deregister_log()
            .begin_dispatch();
        if let Some((_, rx)) = &self.notify {
            rx.after_wake();
        }
        match res {
            Ok(_) => self.dispatch_io(handler),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => handler.interrupted(self),
            Err(e) => return Err(e),
        }
        self.dispatch_messages(handler);
        self.dispatch_timeouts(handler);
        handler.tick(self);
        Ok(())
    }

    fn dispatch_io(&mut self, handler: &mut H) {
        for i in 0..self.events.len() {
            let Some(event) = self.events.get(i) else {
                break;
            };
            // One atomic load per event unless something was deregistered this iteration.
            if event.token == Token::RESERVED
                || self
                    .poll
                    .registry()
                    .selector
                    .deregister_log()
                    .was_deregistered(event.token)
            {
                continue;
            }
            handler.ready(self, event.token, event.kind);
        }
        // Forget the batch: a later run_once must not see stale events if poll fails.
        self.events.clear();
    }

    fn dispatch_messages(&mut self, handler: &mut H) {
        let Some((_, rx)) = &self.notify else { return };
        if rx.is_empty() {
            return;
        }
        // Only messages queued when delivery starts: one that a `notify` sends to its own
        // loop arrives in a later iteration, so a handler echoing messages to itself cannot
        // starve IO and timers within `messages_per_tick`.
        let batch = rx.len().min(self.config.messages_per_tick);
        for _ in 0..batch {
            let Some((_, rx)) = &self.notify else { return };
            match rx.try_recv() {
                Some(msg) => handler.notify(self, msg),
                None => return,
            }
        }
    }

    fn dispatch_timeouts(&mut self, handler: &mut H) {
        if self.next_deadline_ns == u64::MAX {
            return;
        }
        let now_ns = self.elapsed_ns();
        if now_ns < self.next_deadline_ns {
            return;
        }
        let now = now_ns / self.tick_nanos;
        // A handler may set or clear timeouts while we fire; re-borrow the timer each time.
        while let Some((_, value)) = self.timer.as_mut().and_then(|t| t.poll(now)) {
            handler.timeout(self, value);
        }
        self.next_deadline_ns = match self.timer.as_ref().and_then(|t| t.next_deadline()) {
            Some(tick) => tick.saturating_mul(self.tick_nanos),
            None => u64::MAX,
        };
    }

    /// Nanoseconds since the epoch.
    #[inline]
    fn elapsed_ns(&self) -> u64 {
        crate::sys::monotonic_ns().saturating_sub(self.epoch_ns)
    }

    /// Asks the loop to stop: the current iteration finishes, then [`run`](Self::run) returns.
    pub fn shutdown(&mut self) {
        self.running = false;
    }

    /// Whether [`run`](Self::run) is running (and `shutdown` has not been called since).
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// A sender for the loop's message channel (created on the first call).
    ///
    /// Messages arrive at [`Handler::notify`] in FIFO order, up to `messages_per_tick` per
    /// iteration. A send wakes the loop only if it may be asleep; while the loop is busy,
    /// sending makes no syscall.
    ///
    /// # Panics
    ///
    /// If the channel cannot be created the first time (the eventfd could not be made, for
    /// example when out of file descriptors). Use [`try_channel`](Self::try_channel) to get
    /// that as an error.
    pub fn channel(&mut self) -> Sender<H::Message> {
        self.try_channel()
            .expect("ferrio: could not create the event loop's channel")
    }

    /// A sender for the loop's message channel, creating it on the first call.
    ///
    /// # Errors
    ///
    /// The OS error of creating the channel's eventfd the first time.
    pub fn try_channel(&mut self) -> io::Result<Sender<H::Message>> {
        if self.notify.is_none() {
            let pair =
                channel::reserved_channel(self.poll.registry(), self.config.notify_capacity)?;
            self.notify = Some(pair);
        }
        Ok(self.notify.as_ref().map(|(tx, _)| tx.clone()).unwrap())
    }

    /// Sets a timeout that fires `delay_ms` milliseconds from now, delivering `token` to
    /// [`Handler::timeout`]. It never fires early, fires at most once, and fires less than
    /// one timer tick plus 1 ms late (the OS wait counts whole milliseconds), plus the time
    /// the iteration takes: under 1 ms with the default 1 µs tick.
    ///
    /// # Errors
    ///
    /// [`TimerError`] when `timer_capacity` timeouts are already pending; `token` is dropped
    /// (use [`try_timeout`](Self::try_timeout) to get it back).
    pub fn timeout_ms(&mut self, token: H::Timeout, delay_ms: u64) -> TimerResult<Timeout> {
        self.timeout(token, Duration::from_millis(delay_ms))
    }

    /// Sets a timeout that fires after `delay`; see [`timeout_ms`](Self::timeout_ms).
    ///
    /// # Errors
    ///
    /// [`TimerError`] when the timer is full.
    pub fn timeout(&mut self, token: H::Timeout, delay: Duration) -> TimerResult<Timeout> {
        self.try_timeout(token, delay).map_err(|(e, _)| e)
    }

    /// Sets a timeout like [`timeout`](Self::timeout), handing the value back if the timer
    /// is full.
    ///
    /// # Errors
    ///
    /// `(TimerError, token)` when `timer_capacity` timeouts are already pending.
    pub fn try_timeout(
        &mut self,
        token: H::Timeout,
        delay: Duration,
    ) -> Result<Timeout, (TimerError, H::Timeout)> {
        let delay_ns = delay.as_nanos().min(u64::MAX as u128) as u64;
        let deadline_ns = self.elapsed_ns().saturating_add(delay_ns);
        // Round up: the deadline tick starts at or after the requested instant.
        let tick = deadline_ns.div_ceil(self.tick_nanos);
        let capacity = self.config.timer_capacity;
        let timer = self
            .timer
            .get_or_insert_with(|| Timer::with_capacity(capacity));
        let timeout = timer.try_insert(tick, token)?;
        self.next_deadline_ns = self
            .next_deadline_ns
            .min(tick.saturating_mul(self.tick_nanos));
        Ok(timeout)
    }

    /// Cancels a pending timeout. Returns `true` only if it was pending and is now
    /// cancelled; a stale handle (fired, cleared, or its slot reused) returns `false` and
    /// cancels nothing.
    pub fn clear_timeout(&mut self, timeout: Timeout) -> bool {
        self.timer
            .as_mut()
            .is_some_and(|t| t.cancel(timeout).is_some())
    }
}

impl<H: Handler> fmt::Debug for EventLoop<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoop")
            .field("poll", &self.poll)
            .field("running", &self.running)
            .field("config", &self.config)
            .field(
                "pending_timeouts",
                &self.timer.as_ref().map_or(0, |t| t.len()),
            )
            .field("channel", &self.notify.is_some())
            .finish()
    }
}
