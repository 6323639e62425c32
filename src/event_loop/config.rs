//! [`EventLoopConfig`]: sizes and timer settings of an [`EventLoop`](crate::EventLoop).

use std::io;
use std::time::Duration;

use crate::backend::Backend;
use crate::event::Events;

/// The finest timer tick accepted.
const MIN_TICK: Duration = Duration::from_micros(1);
/// The coarsest timer tick accepted.
const MAX_TICK: Duration = Duration::from_secs(60);

/// Configures an [`EventLoop`](crate::EventLoop); pass it to
/// [`EventLoop::configured`](crate::EventLoop::configured).
///
/// The setters take `&mut self` and return `&mut Self`, as in mio 0.5, so a configuration is
/// built either in place or in one expression (see the examples). Nothing is checked until
/// [`EventLoop::configured`](crate::EventLoop::configured), which rejects a bad value with an
/// `InvalidInput` error naming the setting, before anything is allocated.
///
/// | setting | default | accepted | meaning |
/// |---|---|---|---|
/// | `notify_capacity` | 4096 | 1 ..= 2^24, and a ring of at most 1 GiB | messages the channel holds before `send` returns `Full`; the ring is allocated by the first [`channel`](crate::EventLoop::channel) |
/// | `messages_per_tick` | 256 | >= 1 | messages delivered per iteration; the rest wait for the next one (which then polls without sleeping) |
/// | `timer_tick_ms` / `timer_tick` | 1 µs | 1 µs ..= 60 s | the timer's unit: deadlines are rounded up to a whole tick on the loop's clock, and all timeouts due in one tick fire in the same iteration. A timeout fires never before its deadline and less than one tick **plus the OS wait's granularity** after it (plus processing time): tens of µs where the wait takes a nanosecond timeout (`epoll_pwait2` on Linux 5.11+, `ppoll`, io_uring, kqueue), 1 ms where it takes milliseconds (`epoll_wait` on older kernels, plain `poll`, IOCP), rounded up. With the fine default an idle loop's timeouts measured a median lateness of about 10 µs (README, "Timer precision"); a 1 ms tick (mio's granularity) makes it up to 1 ms more |
/// | `timer_wheel_size` | 1024 | any | accepted for mio 0.5 programs and otherwise ignored: ferrio's wheel is hierarchical, with levels of 64 slots that cover every deadline, so it needs no size |
/// | `timer_capacity` | 65,536 | >= 1 (above [`Timer::MAX_CAPACITY`](crate::timer::Timer::MAX_CAPACITY) it is clamped) | timeouts pending at once; `timeout_ms` returns `TimerError` beyond it. A bound, not an allocation: timer storage grows on demand up to it and is kept, so a warm loop does not allocate |
/// | `events_capacity` | 1024 | 1 ..= [`Events::MAX_CAPACITY`] | readiness events fetched per poll |
/// | `backend` | `FERRIO_BACKEND`, else the platform's default | | the selector [`Backend`] |
///
/// Unlike the original mio, the timer does not wake the loop every tick: the loop sleeps
/// until the earliest pending deadline, so the tick only sets the resolution, and a fine
/// tick costs nothing while idle. (A timeout's cost does not depend on the tick either: the
/// hierarchical wheel places any deadline in O(1) and moves it down at most once per level.)
///
/// # Examples
///
/// mio 0.5's way, setters on a configuration in place:
///
/// ```
/// use ferrio::{EventLoop, EventLoopConfig, Handler};
///
/// struct MyHandler;
/// impl Handler for MyHandler {
///     type Timeout = ();
///     type Message = ();
/// }
///
/// let mut config = EventLoopConfig::new();
/// config.notify_capacity(1024).messages_per_tick(64).timer_tick_ms(1);
/// let event_loop: EventLoop<MyHandler> = EventLoop::configured(config)?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Or in one expression: [`configured`](crate::EventLoop::configured) also takes the
/// `&mut EventLoopConfig` the last setter returns (and `clone()` makes a value of it):
///
/// ```
/// # use ferrio::{EventLoop, EventLoopConfig, Handler};
/// # struct MyHandler;
/// # impl Handler for MyHandler { type Timeout = (); type Message = (); }
/// let event_loop: EventLoop<MyHandler> =
///     EventLoop::configured(EventLoopConfig::new().timer_capacity(1 << 20))?;
/// let config = EventLoopConfig::new().events_capacity(256).clone();
/// let other: EventLoop<MyHandler> = EventLoop::configured(config)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a configuration does nothing until it is passed to EventLoop::configured"]
pub struct EventLoopConfig {
    pub(crate) notify_capacity: usize,
    pub(crate) messages_per_tick: usize,
    pub(crate) timer_tick: Duration,
    pub(crate) timer_wheel_size: usize,
    pub(crate) timer_capacity: usize,
    pub(crate) events_capacity: usize,
    pub(crate) backend: Option<Backend>,
}

impl Default for EventLoopConfig {
    fn default() -> EventLoopConfig {
        EventLoopConfig {
            notify_capacity: 4096,
            messages_per_tick: 256,
            timer_tick: MIN_TICK,
            timer_wheel_size: 1024,
            timer_capacity: 65_536,
            events_capacity: 1024,
            backend: None,
        }
    }
}

impl From<&mut EventLoopConfig> for EventLoopConfig {
    /// A copy of the configuration a chain of setters returns.
    fn from(config: &mut EventLoopConfig) -> EventLoopConfig {
        config.clone()
    }
}

impl From<&EventLoopConfig> for EventLoopConfig {
    fn from(config: &EventLoopConfig) -> EventLoopConfig {
        config.clone()
    }
}

impl EventLoopConfig {
    /// The defaults (see the table above).
    pub fn new() -> EventLoopConfig {
        EventLoopConfig::default()
    }

    /// Capacity of the message channel: 1 ..= 2^24, and at most 1 GiB of ring.
    pub fn notify_capacity(&mut self, capacity: usize) -> &mut Self {
        self.notify_capacity = capacity;
        self
    }

    /// Messages delivered per iteration (must be > 0).
    pub fn messages_per_tick(&mut self, messages: usize) -> &mut Self {
        self.messages_per_tick = messages;
        self
    }

    /// Timer resolution in milliseconds: 1 ..= 60,000. The default is finer: 1 µs.
    pub fn timer_tick_ms(&mut self, ms: u64) -> &mut Self {
        self.timer_tick = Duration::from_millis(ms);
        self
    }

    /// Timer resolution as a `Duration`: 1 µs ..= 60 s.
    pub fn timer_tick(&mut self, tick: Duration) -> &mut Self {
        self.timer_tick = tick;
        self
    }

    /// Accepted for mio 0.5 programs; any value, ignored (see the table above).
    pub fn timer_wheel_size(&mut self, slots: usize) -> &mut Self {
        self.timer_wheel_size = slots;
        self
    }

    /// Timeouts pending at once (must be > 0). A bound: storage grows on demand up to it.
    pub fn timer_capacity(&mut self, capacity: usize) -> &mut Self {
        self.timer_capacity = capacity;
        self
    }

    /// Readiness events fetched per poll: 1 ..= [`Events::MAX_CAPACITY`].
    pub fn events_capacity(&mut self, capacity: usize) -> &mut Self {
        self.events_capacity = capacity;
        self
    }

    /// The selector backend, instead of the `FERRIO_BACKEND` environment variable or the
    /// platform's default; see [`Poll::with_backend`](crate::Poll::with_backend) (an io_uring
    /// the kernel refuses falls back to epoll; a backend the platform lacks is an
    /// `Unsupported` error when the loop is made).
    pub fn backend(&mut self, backend: Backend) -> &mut Self {
        self.backend = Some(backend);
        self
    }

    /// Checks every setting; `message_size` is the size of one message of the channel.
    pub(crate) fn validate(&self, message_size: usize) -> io::Result<()> {
        let bad = |msg: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
        crate::channel::check_capacity_for(self.notify_capacity, message_size).map_err(|e| {
            io::Error::new(e.kind(), format!("EventLoopConfig: notify_capacity: {e}"))
        })?;
        if self.messages_per_tick == 0 {
            return bad("EventLoopConfig: messages_per_tick must be > 0");
        }
        if self.timer_tick < MIN_TICK {
            return bad("EventLoopConfig: timer tick must be at least 1 microsecond");
        }
        if self.timer_tick > MAX_TICK {
            return bad(
                "EventLoopConfig: timer tick must be at most 60 seconds (a coarser tick only \
                 makes every timeout later)",
            );
        }
        if self.timer_capacity == 0 {
            return bad("EventLoopConfig: timer_capacity must be > 0 (no timeout could be set)");
        }
        if self.events_capacity == 0 {
            return bad("EventLoopConfig: events_capacity must be > 0");
        }
        if self.events_capacity > Events::MAX_CAPACITY {
            return bad("EventLoopConfig: events_capacity must be at most Events::MAX_CAPACITY");
        }
        Ok(())
    }
}
