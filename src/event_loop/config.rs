//! [`EventLoopConfig`]: sizes and timer settings of an [`EventLoop`](crate::EventLoop).

use std::time::Duration;

/// Configures an [`EventLoop`](crate::EventLoop); pass it to
/// [`EventLoop::configured`](crate::EventLoop::configured).
///
/// | setting | default | meaning |
/// |---|---|---|
/// | `notify_capacity` | 4096 | messages the channel holds before `send` returns `Full` |
/// | `messages_per_tick` | 256 | messages delivered per iteration; the rest wait for the next one (which then polls without sleeping) |
/// | `timer_tick_ms` / `timer_tick` | 1 µs | the timer's unit: deadlines are rounded up to a whole tick on the loop's clock, and all timeouts due in one tick fire in the same iteration. A timeout fires never before its deadline and less than one tick **plus 1 ms** after it (plus processing time): the 1 ms is the granularity of the OS wait (`epoll_wait` takes milliseconds, rounded up). The fine default makes the lateness < 1 ms; a 1 ms tick (mio's granularity) makes it up to 2 ms |
/// | `timer_wheel_size` | 64 | slots per wheel level; the hierarchical wheel always uses 64 (one `u64` bitmap per level), so this is accepted for compatibility and only validated |
/// | `timer_capacity` | 65536 | timeouts pending at once; `timeout_ms` returns `TimerError` beyond it. Allocated on the first `timeout_ms`, never after |
/// | `events_capacity` | 1024 | readiness events fetched per poll |
/// | `backend` | `FERRIO_BACKEND`, else the platform's default | the selector [`Backend`](crate::Backend) |
///
/// Unlike the original mio, the timer does not wake the loop every tick: the loop sleeps
/// until the earliest pending deadline, so the tick only sets the resolution, and a fine
/// tick costs nothing while idle. (A timeout's cost does not depend on the tick either: the
/// hierarchical wheel places any deadline in O(1) and moves it down at most once per level.)
///
/// # Examples
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
/// let config = EventLoopConfig::new()
///     .notify_capacity(1024)
///     .messages_per_tick(64)
///     .timer_capacity(1 << 20);
/// let event_loop: EventLoop<MyHandler> = EventLoop::configured(config)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLoopConfig {
    pub(crate) notify_capacity: usize,
    pub(crate) messages_per_tick: usize,
    pub(crate) timer_tick: Duration,
    pub(crate) timer_wheel_size: usize,
    pub(crate) timer_capacity: usize,
    pub(crate) events_capacity: usize,
    pub(crate) backend: Option<crate::Backend>,
}

impl Default for EventLoopConfig {
    fn default() -> EventLoopConfig {
        EventLoopConfig {
            notify_capacity: 4096,
            messages_per_tick: 256,
            timer_tick: Duration::from_micros(1),
            timer_wheel_size: 64,
            timer_capacity: 65_536,
            events_capacity: 1024,
            backend: None,
        }
    }
}

impl EventLoopConfig {
    /// The defaults (see the table above).
    pub fn new() -> EventLoopConfig {
        EventLoopConfig::default()
    }

    /// Capacity of the message channel (must be > 0).
    pub fn notify_capacity(mut self, capacity: usize) -> EventLoopConfig {
        self.notify_capacity = capacity;
        self
    }

    /// Messages delivered per iteration (must be > 0).
    pub fn messages_per_tick(mut self, messages: usize) -> EventLoopConfig {
        self.messages_per_tick = messages;
        self
    }

    /// Timer resolution in milliseconds (must be > 0). The default is finer: 1 µs.
    pub fn timer_tick_ms(mut self, ms: u64) -> EventLoopConfig {
        self.timer_tick = Duration::from_millis(ms);
        self
    }

    /// Timer resolution as a `Duration` (must be at least 1 µs).
    pub fn timer_tick(mut self, tick: Duration) -> EventLoopConfig {
        self.timer_tick = tick;
        self
    }

    /// Slots per wheel level: only 64 is supported (see the table above).
    pub fn timer_wheel_size(mut self, slots: usize) -> EventLoopConfig {
        self.timer_wheel_size = slots;
        self
    }

    /// Timeouts pending at once.
    pub fn timer_capacity(mut self, capacity: usize) -> EventLoopConfig {
        self.timer_capacity = capacity;
        self
    }

    /// Readiness events fetched per poll (must be > 0).
    pub fn events_capacity(mut self, capacity: usize) -> EventLoopConfig {
        self.events_capacity = capacity;
        self
    }

    /// The selector backend, instead of the `FERRIO_BACKEND` environment variable or the
    /// platform's default; see [`Poll::with_backend`](crate::Poll::with_backend) (an io_uring
    /// the kernel refuses falls back to epoll; a backend the platform lacks is an
    /// `Unsupported` error when the loop is made).
    pub fn backend(mut self, backend: crate::Backend) -> EventLoopConfig {
        self.backend = Some(backend);
        self
    }

    pub(crate) fn validate(&self) -> std::io::Result<()> {
        let bad = |msg: &str| Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, msg));
        if self.notify_capacity == 0 {
            return bad("EventLoopConfig: notify_capacity must be > 0");
        }
        if self.messages_per_tick == 0 {
            return bad("EventLoopConfig: messages_per_tick must be > 0");
        }
        if self.timer_tick < Duration::from_micros(1) {
            return bad("EventLoopConfig: timer tick must be at least 1 microsecond");
        }
        if self.timer_wheel_size != 64 {
            return bad("EventLoopConfig: timer_wheel_size must be 64 (slots per wheel level)");
        }
        if self.events_capacity == 0 {
            return bad("EventLoopConfig: events_capacity must be > 0");
        }
        Ok(())
    }
}
