//! [`EventLoop`]: a single-threaded loop dispatching IO readiness, messages and timeouts to a
//! [`Handler`].
//!
//! The loop's behaviour is documented on [`EventLoop`] itself.

mod config;
mod handler;

pub use config::EventLoopConfig;
pub use handler::Handler;

use std::cell::{Cell, OnceCell};
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

/// `in_use` bit: a timeout is pending (`next_deadline_ns != u64::MAX`).
const TIMERS: u8 = 1;
/// `in_use` bit: the channel exists.
const CHANNEL: u8 = 2;
/// `in_use` bit: a batch of several events is being delivered.
const BATCH: u8 = 4;
/// `in_use` bit: timeouts set during the current callback wait in `deferred` for their
/// deadlines (so that a `run_once` nested in that callback takes the full iteration, which
/// files them before it polls).
const DEFERRED: u8 = 8;

/// A single-threaded event loop: IO readiness, cross-thread messages and timeouts,
/// dispatched to a [`Handler`].
///
/// # One iteration
///
/// 1. If messages are queued, poll without sleeping. Otherwise sleep until the earliest of:
///    IO readiness, a message, the caller's timeout, the **earliest timer deadline**. The
///    loop never wakes up per tick: an idle loop with no timers sleeps in one syscall.
/// 2. If a signal interrupted the wait, call [`Handler::interrupted`].
/// 3. Call [`Handler::ready`] once per ready source. A source deregistered (or dropped)
///    during this step is skipped for the rest of the batch.
/// 4. Deliver up to `messages_per_tick` messages in FIFO order ([`Handler::notify`]), out of
///    those queued when this step starts: a message sent meanwhile (even by a `notify` to
///    its own loop) waits for the next iteration, which then polls without sleeping.
/// 5. Fire every due timeout in deadline order ([`Handler::timeout`]).
/// 6. Call [`Handler::tick`].
///
/// # Calling `run_once` from a callback
///
/// A callback may run the loop itself (`event_loop.run_once(handler, Some(0))` inside
/// `ready`, say). Nothing is lost: the nested call first delivers the rest of the batch the
/// outer call was delivering (the loop keeps its place in the batch), then runs a whole
/// iteration of its own: poll, readiness, messages, timeouts, tick. When it returns, the outer
/// call finds its batch finished and carries on with its own messages, timeouts and tick.
/// Every event is delivered exactly once, and never for a source deregistered before.
///
/// # What it costs
///
/// A feature costs only when used: the clock is read only while timeouts are pending, the
/// channel (an eventfd and a queue) exists only after the first [`EventLoop::channel`], the
/// timer's storage grows on demand from the first timeout. After warm-up nothing allocates.
///
/// Timeouts set (or reset) from a callback do not read the clock themselves: their delay
/// counts from the moment the callback returns, when the loop reads the clock once for all
/// the timeouts that callback set. Such a timeout still never fires early, and fires later
/// only by the rest of the callback that set it. Outside callbacks, `timeout_ms` reads the
/// clock.
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
    /// The next event of the batch in `events` to deliver; `events.len()` once all are.
    cursor: usize,
    running: bool,
    /// Inside `run_once`: timeouts set now take their deadline from the end of the callback.
    dispatching: bool,
    /// Which features the iteration must attend to: `TIMERS | CHANNEL | BATCH | DEFERRED`
    /// bits. Nothing: the IO-only iteration; `TIMERS` alone: the timers iteration; `CHANNEL`
    /// alone: the channel iteration; anything else: the full one. (A `Cell`:
    /// `channel(&self)` sets `CHANNEL`.)
    in_use: Cell<u8>,
    config: EventLoopConfig,
    /// Created on the first timeout; its storage grows on demand.
    timer: Option<Timer<H::Timeout>>,
    /// Timeouts set or reset during the current callback, with their delays in ns: filed
    /// at the loop's last clock reading (a lower bound), moved to "callback end + delay" once
    /// the callback returns.
    deferred: Vec<(Timeout, u64)>,
    /// Tick 0 of the timer, in `sys::monotonic_ns` time.
    epoch_ns: u64,
    /// The loop's latest clock reading, in `sys::monotonic_ns` time (not since the epoch:
    /// the iterations compare readings with `next_deadline_ns` without a subtraction).
    clock_ns: u64,
    tick_nanos: u64,
    /// `floor(2^64 / tick_nanos)`: divides by the tick with a multiply (see `ticks_ceil`).
    tick_inverse: u64,
    /// Earliest pending deadline in `sys::monotonic_ns` time (see `tick_deadline`),
    /// `u64::MAX` if none. Never later than the true earliest deadline (a cleared timeout
    /// may leave it earlier: one spurious wake-up, after which it is recomputed).
    next_deadline_ns: u64,
    /// Created on the first `channel()`.
    notify: OnceCell<Channel<H::Message>>,
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

    /// A loop with the given configuration: an `EventLoopConfig`, or the `&mut
    /// EventLoopConfig` a chain of its setters returns.
    ///
    /// # Errors
    ///
    /// `InvalidInput`, naming the setting, for a value outside what the
    /// [`EventLoopConfig`] table accepts; or the OS error of creating the selector.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::{EventLoop, EventLoopConfig, Handler};
    /// use std::io::ErrorKind;
    ///
    /// struct H;
    /// impl Handler for H { type Timeout = (); type Message = (); }
    ///
    /// let mut config = EventLoopConfig::new();
    /// config.notify_capacity(8).timer_tick_ms(1);
    /// let _ok: EventLoop<H> = EventLoop::configured(config)?;
    ///
    /// let err = EventLoop::<H>::configured(EventLoopConfig::new().timer_capacity(0)).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn configured(config: impl Into<EventLoopConfig>) -> io::Result<EventLoop<H>> {
        let config = config.into();
        config.validate(std::mem::size_of::<H::Message>())?;
        let tick_nanos = config.timer_tick.as_nanos() as u64;
        let poll = Poll::with_backend_or_env(config.backend)?;
        let epoch_ns = crate::sys::monotonic_ns();
        // The same-batch guarantee of `deregister`: the selector records deregistrations
        // (made on any thread, for any kind of source) while this loop runs.
        poll.registry().selector.deregister_log().enable();
        Ok(EventLoop {
            poll,
            events: Events::with_capacity(config.events_capacity),
            cursor: 0,
            running: false,
            dispatching: false,
            in_use: Cell::new(0),
            timer: None,
            deferred: Vec::new(),
            epoch_ns,
            clock_ns: epoch_ns,
            tick_nanos,
            tick_inverse: (u128::from(u64::MAX) / u128::from(tick_nanos)) as u64,
            next_deadline_ns: u64::MAX,
            notify: OnceCell::new(),
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
    /// called for `io` again, not even for events already fetched in the current batch.
    ///
    /// (For raw fds registered through [`EventedFd`](crate::unix::EventedFd), which carry no
    /// state, the loop cannot tell which token to skip; ferrio's own sources are covered.)
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
            if let Err(e) = self.run_once_timeout(handler, None) {
                // `run` has returned: `is_running` must say so.
                self.running = false;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Runs one iteration, sleeping at most `timeout_ms` milliseconds (and less if a timer is
    /// due sooner); `None` sleeps until something happens. The original mio 0.5 signature;
    /// [`run_once_timeout`](Self::run_once_timeout) takes a `Duration`.
    ///
    /// May be called from inside a callback (see [Calling `run_once` from a callback](EventLoop#calling-run_once-from-a-callback)).
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::{EventLoop, Handler};
    ///
    /// struct Ticks(u32);
    /// impl Handler for Ticks {
    ///     type Timeout = ();
    ///     type Message = ();
    ///     fn tick(&mut self, _: &mut EventLoop<Ticks>) {
    ///         self.0 += 1;
    ///     }
    /// }
    ///
    /// let mut event_loop = EventLoop::new()?;
    /// let mut handler = Ticks(0);
    /// event_loop.run_once(&mut handler, Some(0))?; // poll without sleeping
    /// event_loop.run_once(&mut handler, Some(5))?; // sleep up to 5 ms
    /// assert_eq!(handler.0, 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[inline(always)]
    pub fn run_once(&mut self, handler: &mut H, timeout_ms: Option<usize>) -> io::Result<()> {
        let timeout = timeout_ms.map(|ms| Duration::from_millis(ms as u64));
        self.run_once_timeout(handler, timeout)
    }

    /// Runs one iteration, sleeping at most `timeout` (and less if a timer is due sooner);
    /// `None` sleeps until something happens.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::{EventLoop, Handler};
    /// use std::time::Duration;
    ///
    /// struct Nothing;
    /// impl Handler for Nothing { type Timeout = (); type Message = (); }
    ///
    /// let mut event_loop = EventLoop::new()?;
    /// event_loop.run_once_timeout(&mut Nothing, Some(Duration::from_micros(200)))?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[inline(always)]
    pub fn run_once_timeout(
        &mut self,
        handler: &mut H,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        if self.in_use.get() != 0 {
            // No instruction: it only keeps the compiler from merging the tests below with
            // the one above into one multi-way branch that may test for `TIMERS` first,
            // which would cost the IO-only path a second comparison.
            std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
            if self.in_use.get() == TIMERS {
                return self.run_once_timers(handler, timeout);
            }
            if self.in_use.get() == CHANNEL {
                return self.run_once_channel(handler, timeout);
            }
            return self.run_once_full(handler, timeout);
        }
        self.run_once_io_only(handler, timeout)
    }

    /// An iteration with nothing but IO in use; inlined into the caller.
    #[inline(always)]
    fn run_once_io_only(&mut self, handler: &mut H, timeout: Option<Duration>) -> io::Result<()> {
        // Nothing but IO in use (no timeout pending, no channel, no batch being delivered):
        // poll, deliver, tick.
        self.begin_poll();
        let res = self.poll.poll(&mut self.events, timeout);
        self.end_poll();
        if let Err(e) = res {
            return self.after_failed_poll(handler, e, false);
        }
        self.dispatch_io::<false>(handler);
        if self.in_use.get() != 0 {
            // A callback set a timeout or created the channel.
            self.dispatch_messages(handler);
            self.dispatch_timeouts(handler);
        }
        handler.tick(self);
        self.after_callback();
        Ok(())
    }

    /// An iteration with timeouts pending and nothing else in use (no channel, no batch to
    /// finish, no timeouts waiting for their deadlines); inlined into the caller. The full
    /// iteration less its channel and batch steps, with the deadline arithmetic in integer
    /// nanoseconds.
    #[inline(always)]
    fn run_once_timers(&mut self, handler: &mut H, timeout: Option<Duration>) -> io::Result<()> {
        let was_dispatching = std::mem::replace(&mut self.dispatching, true);
        // The one clock reading of an iteration with IO (see `run_once_full`).
        let now = self.read_clock();
        let deadline = self.next_deadline_ns;
        let due = deadline <= now;
        let sleep_ns = if due {
            0
        } else {
            sleep_until(timeout, deadline - now)
        };
        self.begin_poll();
        let res = self.poll.poll_ns(&mut self.events, Some(sleep_ns));
        self.end_poll();
        let res = match res {
            Ok(n) => {
                // The IO-only iteration's delivery (no channel was there to poll: no wake-up
                // token to skip).
                self.dispatch_io::<false>(handler);
                if self.in_use.get() != TIMERS {
                    // Out of line: a single event's callback set timeouts (they get their
                    // deadlines now) or created the channel.
                    self.after_timers_callback(handler);
                }
                // After a poll with events and nothing due before it, timeouts wait for the
                // next iteration's reading.
                if due || n == 0 {
                    let now = if due { now } else { self.read_clock() };
                    if now >= self.next_deadline_ns {
                        self.fire_timeouts(handler, now);
                    }
                }
                handler.tick(self);
                self.after_callback();
                Ok(())
            }
            Err(e) => self.after_failed_poll(handler, e, true),
        };
        self.dispatching = was_dispatching;
        res
    }

    /// An iteration with the channel and nothing else in use (no timeout pending, no batch
    /// to finish, no timeouts waiting for their deadlines); inlined into the caller. The full
    /// iteration less its timer and batch steps.
    #[inline(always)]
    fn run_once_channel(&mut self, handler: &mut H, timeout: Option<Duration>) -> io::Result<()> {
        let Some((_, rx)) = self.notify.get() else {
            // Not reached: `CHANNEL` is set only once the channel exists.
            return self.run_once_full(handler, timeout);
        };
        let was_dispatching = std::mem::replace(&mut self.dispatching, true);
        // One look at the channel around the wait (the borrow of `notify` lasts across it).
        let sleep_ns = if rx.prepare_sleep() {
            timeout.map(duration_ns)
        } else {
            Some(0)
        };
        self.begin_poll();
        let res = self.poll.poll_ns(&mut self.events, sleep_ns);
        self.end_poll();
        rx.after_wake();
        let res = match res {
            Ok(n) => {
                // The full iteration's delivery: it skips the channel's wake-up, and what a
                // single event's callback set gets its deadline.
                self.dispatch_io::<true>(handler);
                self.dispatch_messages(handler);
                if self.in_use.get() != CHANNEL && n == 0 {
                    // A message's callback set a timeout (`TIMERS`): fire it if it is due
                    // already, as the full iteration does after a poll without events.
                    self.dispatch_timeouts(handler);
                }
                handler.tick(self);
                self.after_callback();
                Ok(())
            }
            Err(e) => self.after_failed_poll(handler, e, true),
        };
        self.dispatching = was_dispatching;
        res
    }

    /// What `run_once_timers` does after its delivery if a callback changed what is in use:
    /// the timeouts it set get their deadlines, messages the channel it created holds are
    /// delivered.
    #[cold]
    #[inline(never)]
    fn after_timers_callback(&mut self, handler: &mut H) {
        self.after_callback();
        self.dispatch_messages(handler);
    }

    /// An iteration with the channel, a batch to finish or timeouts to file in use (timeouts
    /// pending possibly too).
    #[inline(never)]
    fn run_once_full(&mut self, handler: &mut H, timeout: Option<Duration>) -> io::Result<()> {
        let was_dispatching = std::mem::replace(&mut self.dispatching, true);
        self.after_callback();
        if self.in_use.get() & BATCH != 0 {
            // Called from a callback in the middle of a batch: deliver the rest of it first,
            // before the poll below overwrites it.
            self.dispatch_batch::<true>(handler);
        }

        let mut sleep_ns = timeout.map(duration_ns);
        let messages_pending = match self.notify.get() {
            Some((_, rx)) => !rx.prepare_sleep(),
            None => false,
        };
        // With a timeout pending, the clock is read here, once: if a deadline has passed,
        // the timeouts fire after this poll (at this reading: never early); if the poll then
        // sleeps until a deadline and returns without events, the clock is read again to fire
        // them. After a poll that returned events, timeouts that came due during the wait
        // fire in the next iteration, whose reading here finds them due: an iteration with IO
        // and a timeout pending reads the clock once, not twice.
        let mut due_at = None;
        if self.next_deadline_ns != u64::MAX {
            let now = self.read_clock();
            if self.next_deadline_ns <= now {
                due_at = Some(now);
                sleep_ns = Some(0);
            } else {
                sleep_ns = Some(sleep_until(timeout, self.next_deadline_ns - now));
            }
        }
        if messages_pending {
            sleep_ns = Some(0);
        }

        self.begin_poll();
        let res = self.poll.poll_ns(&mut self.events, sleep_ns);
        self.end_poll();
        if let Some((_, rx)) = self.notify.get() {
            rx.after_wake();
        }
        let res = match res {
            Ok(n) => {
                self.dispatch_io::<true>(handler);
                self.dispatch_messages(handler);
                if self.next_deadline_ns != u64::MAX {
                    let now = match due_at {
                        Some(now) => Some(now),
                        None if n == 0 => Some(self.read_clock()),
                        None => None,
                    };
                    match now {
                        Some(now) if now >= self.next_deadline_ns => {
                            self.fire_timeouts(handler, now);
                        }
                        _ => {}
                    }
                }
                handler.tick(self);
                self.after_callback();
                Ok(())
            }
            Err(e) => self.after_failed_poll(handler, e, true),
        };
        self.dispatching = was_dispatching;
        res
    }

    /// The rest of an iteration whose poll failed: `Interrupted` goes to
    /// [`Handler::interrupted`] and the iteration goes on without IO; other errors return.
    #[cold]
    #[inline(never)]
    fn after_failed_poll(&mut self, handler: &mut H, e: io::Error, full: bool) -> io::Result<()> {
        // A failed poll leaves no events (the backends clear the buffer before waiting).
        self.cursor = self.events.len();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
        handler.interrupted(self);
        self.after_callback();
        if full || self.in_use.get() != 0 {
            self.dispatch_messages(handler);
            self.dispatch_timeouts(handler);
        }
        handler.tick(self);
        self.after_callback();
        Ok(())
    }

    /// Delivers the batch just polled. `FULL`: the channel may exist (its wake-up token is
    /// skipped) and timeouts set by the callbacks may need their deadlines fixed. Inlined into
    /// the iterations (a call would cost more than the single event's delivery); a batch of
    /// several events is delivered out of line.
    #[inline(always)]
    fn dispatch_io<const FULL: bool>(&mut self, handler: &mut H) {
        let n = self.events.len();
        if n <= 1 {
            // A one-event batch needs no cursor; another thread may still have deregistered
            // the source since the poll fetched its event.
            self.cursor = n;
            if let Some(event) = self.events.get(0) {
                if (!FULL || event.token != Token::RESERVED) && !self.was_deregistered(event.token)
                {
                    handler.ready(self, event.token, event.kind);
                    if FULL {
                        self.after_callback();
                    }
                }
            }
            return;
        }
        self.start_batch();
        self.dispatch_batch::<FULL>(handler);
    }

    #[inline(never)]
    fn start_batch(&mut self) {
        self.cursor = 0;
        self.in_use.set(self.in_use.get() | BATCH);
    }

    /// Before each wait: deregistrations recorded earlier cannot concern what it fetches.
    #[inline(always)]
    fn begin_poll(&self) {
        self.poll
            .registry()
            .selector
            .deregister_log()
            .begin_iteration();
    }

    /// After each wait: what is registered from now on has no event in this batch.
    #[inline(always)]
    fn end_poll(&self) {
        self.poll
            .registry()
            .selector
            .deregister_log()
            .begin_dispatch();
    }

    /// Whether `token`'s source was deregistered (on any thread, through any handle) since
    /// this batch was polled: one atomic load unless something was.
    #[inline(always)]
    fn was_deregistered(&self, token: Token) -> bool {
        self.poll
            .registry()
            .selector
            .deregister_log()
            .was_deregistered(token)
    }

    /// Delivers the events of the current batch from `cursor` on. The cursor moves before
    /// each callback, so a `run_once` nested in the callback continues after it.
    #[inline(never)]
    fn dispatch_batch<const FULL: bool>(&mut self, handler: &mut H) {
        while let Some(event) = self.events.get(self.cursor) {
            self.cursor += 1;
            if event.token == Token::RESERVED || self.was_deregistered(event.token) {
                continue;
            }
            handler.ready(self, event.token, event.kind);
            self.after_callback();
        }
        // The batch is done (here or in a nested call).
        self.in_use.set(self.in_use.get() & !BATCH);
    }

    #[inline]
    fn dispatch_messages(&mut self, handler: &mut H) {
        let Some((_, rx)) = self.notify.get() else {
            return;
        };
        if rx.is_empty() {
            return;
        }
        self.deliver_messages(handler);
    }

    #[inline(never)]
    fn deliver_messages(&mut self, handler: &mut H) {
        let Some((_, rx)) = self.notify.get() else {
            return;
        };
        // Only messages queued when delivery starts: one that a `notify` sends to its own
        // loop arrives in a later iteration, so a handler echoing messages to itself cannot
        // starve IO and timers within `messages_per_tick`.
        let batch = rx.len().min(self.config.messages_per_tick);
        for _ in 0..batch {
            let Some((_, rx)) = self.notify.get() else {
                return;
            };
            match rx.try_recv() {
                Some(msg) => {
                    handler.notify(self, msg);
                    self.after_callback();
                }
                None => return,
            }
        }
    }

    #[inline]
    fn dispatch_timeouts(&mut self, handler: &mut H) {
        if self.next_deadline_ns == u64::MAX {
            return;
        }
        let now_ns = self.read_clock();
        if now_ns < self.next_deadline_ns {
            return;
        }
        self.fire_timeouts(handler, now_ns);
    }

    /// Fires every timeout due at `now_ns` and finds the next deadline.
    #[inline(never)]
    fn fire_timeouts(&mut self, handler: &mut H, now_ns: u64) {
        let now = self.ticks_floor(self.since_epoch(now_ns));
        // A handler may set or clear timeouts while we fire; re-borrow the timer each time.
        while let Some((_, value)) = self.timer.as_mut().and_then(|t| t.poll(now)) {
            handler.timeout(self, value);
            self.after_callback();
        }
        let next = match self.timer.as_ref().and_then(|t| t.next_deadline()) {
            Some(tick) => self.tick_deadline(tick),
            None => u64::MAX,
        };
        self.set_next_deadline(next);
    }

    /// Sets the earliest deadline, keeping the `TIMERS` flag in step.
    #[inline]
    fn set_next_deadline(&mut self, ns: u64) {
        self.next_deadline_ns = ns;
        let flags = self.in_use.get();
        self.in_use.set(if ns == u64::MAX {
            flags & !TIMERS
        } else {
            flags | TIMERS
        });
    }

    /// After a callback: timeouts it set get their deadlines from now.
    #[inline]
    fn after_callback(&mut self) {
        if self.in_use.get() & DEFERRED != 0 {
            self.fix_deferred();
        }
    }

    /// Moves each timeout set during the callback that just returned to "now + its delay".
    /// They were filed at an earlier clock reading, so this only moves them later: for the
    /// timer, a reset that touches each timeout's entry and nothing else.
    #[cold]
    #[inline(never)]
    fn fix_deferred(&mut self) {
        let now = self.read_clock();
        let now_ns = self.since_epoch(now);
        let (tick_nanos, inverse) = (self.tick_nanos, self.tick_inverse);
        let mut earliest = u64::MAX;
        if let Some(timer) = self.timer.as_mut() {
            for (timeout, delay_ns) in self.deferred.drain(..) {
                let tick = ticks_ceil(now_ns.saturating_add(delay_ns), tick_nanos, inverse);
                if timer.reset(timeout, tick) {
                    earliest = earliest.min(tick);
                }
            }
        }
        self.deferred.clear();
        self.in_use.set(self.in_use.get() & !DEFERRED);
        if earliest != u64::MAX {
            let next = self.next_deadline_ns.min(self.tick_deadline(earliest));
            self.set_next_deadline(next);
        }
    }

    /// Reads the clock, in `sys::monotonic_ns` time (what `next_deadline_ns` is in).
    #[inline]
    fn read_clock(&mut self) -> u64 {
        let now = crate::sys::monotonic_ns();
        self.clock_ns = now;
        now
    }

    /// A clock reading in nanoseconds since the epoch (tick 0), the timer's time.
    #[inline]
    fn since_epoch(&self, now: u64) -> u64 {
        now.saturating_sub(self.epoch_ns)
    }

    /// The deadline of timer tick `tick` in `sys::monotonic_ns` time, at which it may fire;
    /// never `u64::MAX` (which means "no deadline"): a deadline past the end of time is
    /// still pending.
    #[inline]
    fn tick_deadline(&self, tick: u64) -> u64 {
        tick.saturating_mul(self.tick_nanos)
            .saturating_add(self.epoch_ns)
            .min(u64::MAX - 1)
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::{EventLoop, Handler};
    /// use std::thread;
    ///
    /// struct Sum(u64);
    /// impl Handler for Sum {
    ///     type Timeout = ();
    ///     type Message = u64;
    ///     fn notify(&mut self, event_loop: &mut EventLoop<Sum>, n: u64) {
    ///         self.0 += n;
    ///         if n == 0 {
    ///             event_loop.shutdown();
    ///         }
    ///     }
    /// }
    ///
    /// let mut event_loop = EventLoop::new()?;
    /// let sender = event_loop.channel();
    /// thread::spawn(move || {
    ///     for n in [3, 4, 0] {
    ///         sender.send(n).unwrap();
    ///     }
    /// });
    /// let mut sum = Sum(0);
    /// event_loop.run(&mut sum)?;
    /// assert_eq!(sum.0, 7);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn channel(&self) -> Sender<H::Message> {
        self.try_channel()
            .expect("ferrio: could not create the event loop's channel")
    }

    /// A sender for the loop's message channel, creating it on the first call.
    ///
    /// If the program made its own [`Waker`](crate::Waker) on the loop's registry first, the
    /// channel shares it (the `Poll` has one waker): a message may then also bring a `ready`
    /// call for that waker's token, a spurious event the handler ignores as any other.
    ///
    /// # Errors
    ///
    /// The OS error of creating the channel's eventfd the first time.
    pub fn try_channel(&self) -> io::Result<Sender<H::Message>> {
        if let Some((tx, _)) = self.notify.get() {
            return Ok(tx.clone());
        }
        let pair = channel::reserved_channel(self.poll.registry(), self.config.notify_capacity)?;
        let tx = pair.0.clone();
        // Not yet set: `OnceCell` is not `Sync`, and nothing above can call back in here.
        let _ = self.notify.set(pair);
        self.in_use.set(self.in_use.get() | CHANNEL);
        Ok(tx)
    }

    /// Sets a timeout that fires `delay_ms` milliseconds from now, delivering `token` to
    /// [`Handler::timeout`]. It never fires early, fires at most once, and fires less than
    /// one timer tick plus 1 ms late (the OS wait counts whole milliseconds), plus the time
    /// the loop is busy: a timeout that comes due while an iteration handles IO fires at the
    /// start of the next one. (Set from a callback, its delay counts from the callback's
    /// return; see [What it costs](EventLoop#what-it-costs).)
    ///
    /// # Errors
    ///
    /// [`TimerError`] when `timer_capacity` timeouts are already pending; `token` is dropped
    /// (use [`try_timeout`](Self::try_timeout) to get it back).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::{EventLoop, Handler};
    ///
    /// struct Once(Option<&'static str>);
    /// impl Handler for Once {
    ///     type Timeout = &'static str;
    ///     type Message = ();
    ///     fn timeout(&mut self, event_loop: &mut EventLoop<Once>, what: &'static str) {
    ///         self.0 = Some(what);
    ///         event_loop.shutdown();
    ///     }
    /// }
    ///
    /// let mut event_loop = EventLoop::new()?;
    /// let _timeout = event_loop.timeout_ms("ding", 2)?; // a TimerError converts to io::Error
    /// let mut handler = Once(None);
    /// event_loop.run(&mut handler)?;
    /// assert_eq!(handler.0, Some("ding"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
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
    #[inline]
    pub fn try_timeout(
        &mut self,
        token: H::Timeout,
        delay: Duration,
    ) -> Result<Timeout, (TimerError, H::Timeout)> {
        let delay_ns = duration_ns(delay);
        let base = self.base_clock();
        let tick = ticks_ceil(
            base.saturating_add(delay_ns),
            self.tick_nanos,
            self.tick_inverse,
        );
        let capacity = self.config.timer_capacity;
        let timer = self
            .timer
            .get_or_insert_with(|| Timer::with_capacity(capacity));
        let timeout = timer.try_insert(tick, token)?;
        self.filed(timeout, delay_ns, tick);
        Ok(timeout)
    }

    /// Moves a pending timeout to fire `delay` from now instead, keeping its handle and
    /// value. Returns `false`, and changes nothing, if the handle is stale (the timeout fired
    /// or was cleared) or comes from another loop.
    ///
    /// This is the operation for an idle timeout that every event pushes back: moving a
    /// deadline later costs about as much as reading the clock (nothing, from a callback),
    /// and the timer files the timeout at its new deadline lazily, when its old one comes
    /// due. It never fires early, at most once, at its latest deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::{EventLoop, Handler};
    /// use std::time::{Duration, Instant};
    ///
    /// struct Idle(Option<Instant>);
    /// impl Handler for Idle {
    ///     type Timeout = ();
    ///     type Message = ();
    ///     fn timeout(&mut self, event_loop: &mut EventLoop<Idle>, _: ()) {
    ///         self.0 = Some(Instant::now());
    ///         event_loop.shutdown();
    ///     }
    /// }
    ///
    /// let mut event_loop = EventLoop::new()?;
    /// let idle = event_loop.timeout_ms((), 1)?;
    /// let pushed_back = Instant::now();
    /// assert!(event_loop.reset_timeout(idle, Duration::from_millis(20)));
    /// let mut handler = Idle(None);
    /// event_loop.run(&mut handler)?;
    /// assert!(handler.0.unwrap() - pushed_back >= Duration::from_millis(20));
    /// assert!(!event_loop.reset_timeout(idle, Duration::from_millis(20))); // fired
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[inline]
    #[must_use = "false means the timeout had fired or been cleared: set a new one"]
    pub fn reset_timeout(&mut self, timeout: Timeout, delay: Duration) -> bool {
        if !self.timer.as_ref().is_some_and(|t| t.contains(timeout)) {
            // Stale or foreign: no clock reading needed to say so.
            return false;
        }
        let delay_ns = duration_ns(delay);
        let base = self.base_clock();
        let tick = ticks_ceil(
            base.saturating_add(delay_ns),
            self.tick_nanos,
            self.tick_inverse,
        );
        let Some(timer) = self.timer.as_mut() else {
            return false;
        };
        if !timer.reset(timeout, tick) {
            return false;
        }
        self.filed(timeout, delay_ns, tick);
        true
    }

    /// [`reset_timeout`](Self::reset_timeout) with the delay in milliseconds.
    #[must_use = "false means the timeout had fired or been cleared: set a new one"]
    pub fn reset_timeout_ms(&mut self, timeout: Timeout, delay_ms: u64) -> bool {
        self.reset_timeout(timeout, Duration::from_millis(delay_ms))
    }

    /// The clock reading a new deadline counts from: the loop's last reading inside a
    /// callback (moved to the callback's end afterwards), a fresh one outside.
    #[inline]
    fn base_clock(&mut self) -> u64 {
        let now = if self.dispatching {
            self.clock_ns
        } else {
            self.read_clock()
        };
        self.since_epoch(now)
    }

    /// Bookkeeping after a timeout was filed at `tick`.
    #[inline]
    fn filed(&mut self, timeout: Timeout, delay_ns: u64, tick: u64) {
        if self.dispatching {
            self.deferred.push((timeout, delay_ns));
            self.in_use.set(self.in_use.get() | DEFERRED);
        } else {
            let next = self.next_deadline_ns.min(self.tick_deadline(tick));
            self.set_next_deadline(next);
        }
    }

    /// Cancels a pending timeout. Returns `true` only if it was pending and is now
    /// cancelled; a stale handle (fired, cleared, or its slot reused) or one from another
    /// loop returns `false` and cancels nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::{EventLoop, Handler};
    ///
    /// struct H;
    /// impl Handler for H { type Timeout = (); type Message = (); }
    ///
    /// let mut a: EventLoop<H> = EventLoop::new()?;
    /// let mut b: EventLoop<H> = EventLoop::new()?;
    /// let t = a.timeout_ms((), 1_000)?;
    /// let _other = b.timeout_ms((), 1_000)?;
    /// assert!(!b.clear_timeout(t)); // a's handle means nothing to b
    /// assert!(a.clear_timeout(t));
    /// assert!(!a.clear_timeout(t)); // already cleared
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use = "false means the timeout had already fired or been cleared"]
    pub fn clear_timeout(&mut self, timeout: Timeout) -> bool {
        self.timer
            .as_mut()
            .is_some_and(|t| t.cancel(timeout).is_some())
    }
}

/// `ceil(ns / tick)` without a division instruction, given `inverse = floor(2^64 / tick)`
/// (`tick >= 1000`, so `inverse < 2^55`).
///
/// `q = floor(ns * inverse / 2^64)` is `floor(ns / tick)` or one less, because `inverse` is at
/// most `2^64 / tick` and more than `2^64 / tick - 1`, and `ns < 2^64`. The remainder
/// `ns - q * tick` is then below `2 * tick`; it says which of `q`, `q + 1`, `q + 2` the
/// ceiling is.
#[inline]
fn ticks_ceil(ns: u64, tick: u64, inverse: u64) -> u64 {
    let q = ((u128::from(ns) * u128::from(inverse)) >> 64) as u64;
    let r = ns - q * tick;
    q + u64::from(r > 0) + u64::from(r > tick)
}

impl<H: Handler> EventLoop<H> {
    /// `floor(ns / tick)`, as `ticks_ceil` does it.
    #[inline]
    fn ticks_floor(&self, ns: u64) -> u64 {
        let q = ((u128::from(ns) * u128::from(self.tick_inverse)) >> 64) as u64;
        q + u64::from(ns - q * self.tick_nanos >= self.tick_nanos)
    }
}

/// How long a poll may sleep, in nanoseconds: `ns` until the earliest deadline, or less if
/// the caller's `timeout` is shorter.
#[inline(always)]
fn sleep_until(timeout: Option<Duration>, ns: u64) -> u64 {
    match timeout {
        Some(t) => duration_ns(t).min(ns),
        None => ns,
    }
}

/// A duration in whole nanoseconds, saturating at `u64::MAX` (584 years).
#[inline]
fn duration_ns(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
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
            .field("channel", &self.notify.get().is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::ticks_ceil;

    #[test]
    fn tick_division_by_multiplication_is_exact() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for tick in [
            1_000u64,
            1_001,
            4_096,
            999_999,
            1_000_000,
            7_777_777,
            60_000_000_000,
        ] {
            let inverse = (u128::from(u64::MAX) / u128::from(tick)) as u64;
            let check = |ns: u64| {
                assert_eq!(
                    ticks_ceil(ns, tick, inverse),
                    ns.div_ceil(tick),
                    "{ns} / {tick}"
                );
                let q = ((u128::from(ns) * u128::from(inverse)) >> 64) as u64;
                let floor = q + u64::from(ns - q * tick >= tick);
                assert_eq!(floor, ns / tick, "{ns} / {tick}");
            };
            for ns in [
                0,
                1,
                tick - 1,
                tick,
                tick + 1,
                2 * tick,
                u64::MAX - 1,
                u64::MAX,
            ] {
                check(ns);
            }
            for k in [1u64, 2, 3, 1 << 20, u64::MAX / tick] {
                check(k * tick);
                check(k * tick - 1);
                check((k * tick).saturating_add(1));
            }
            for _ in 0..100_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                check(x);
                check(x >> (x % 64));
            }
        }
    }
}
