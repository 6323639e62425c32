//! Capacities and ticks at their extremes: each is either refused by `EventLoop::configured`
//! (or the constructor in question) with an `InvalidInput` error that names it, or works.
//! None may panic, abort on a failed allocation, or allocate a huge amount up front.

use std::io::ErrorKind;
use std::time::Duration;

use ferrio::channel::channel;
use ferrio::{EventLoop, EventLoopConfig, Events, Handler, Poll, Token};

/// Fires and counts timeouts; shuts the loop down when `until` have fired.
#[derive(Default)]
struct Count {
    fired: usize,
    until: usize,
}

impl Handler for Count {
    type Timeout = u32;
    type Message = u64;

    fn timeout(&mut self, event_loop: &mut EventLoop<Count>, _: u32) {
        self.fired += 1;
        if self.fired == self.until {
            event_loop.shutdown();
        }
    }
}

fn refused(config: &mut EventLoopConfig, what: &str) {
    match EventLoop::<Count>::configured(config) {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{what}: {e}");
            assert!(e.to_string().contains(what), "{what}: {e}");
        }
        Ok(_) => panic!("{what}: accepted"),
    }
}

/// Sets `n` 1 ms timeouts and runs the loop until they fired (bounded by a 10 s run_once).
fn fires(mut event_loop: EventLoop<Count>, n: usize) {
    for i in 0..n {
        let _ = event_loop.timeout_ms(i as u32, 1).unwrap();
    }
    let mut handler = Count { fired: 0, until: n };
    for _ in 0..1_000 {
        if handler.fired == n {
            break;
        }
        event_loop.run_once(&mut handler, Some(10_000)).unwrap();
    }
    assert_eq!(handler.fired, n);
}

#[test]
fn huge_timer_capacities_are_bounds_not_allocations() {
    for capacity in [usize::MAX, 1 << 40, 1 << 24] {
        let mut config = EventLoopConfig::new();
        config.timer_capacity(capacity);
        let event_loop = EventLoop::<Count>::configured(config).unwrap();
        fires(event_loop, 3);
    }
}

#[test]
fn timer_capacity_zero_is_refused() {
    refused(EventLoopConfig::new().timer_capacity(0), "timer_capacity");
}

#[test]
fn timer_capacity_is_a_bound() {
    let mut event_loop =
        EventLoop::<Count>::configured(EventLoopConfig::new().timer_capacity(3)).unwrap();
    for i in 0..3 {
        let _ = event_loop.timeout_ms(i, 60_000).unwrap();
    }
    assert_eq!(
        event_loop.try_timeout(3, Duration::ZERO),
        Err((ferrio::TimerError, 3))
    );
}

#[test]
fn huge_notify_capacities_are_refused_at_configuration() {
    refused(
        EventLoopConfig::new().notify_capacity(usize::MAX),
        "notify_capacity",
    );
    refused(
        EventLoopConfig::new().notify_capacity((1 << 24) + 1),
        "notify_capacity",
    );
    refused(EventLoopConfig::new().notify_capacity(0), "notify_capacity");
    // The largest accepted one works (the ring is allocated by the first channel()).
    let event_loop =
        EventLoop::<Count>::configured(EventLoopConfig::new().notify_capacity(1 << 20)).unwrap();
    let tx = event_loop.try_channel().unwrap();
    tx.send(7).unwrap();
}

/// A message type big enough that 2^24 of them would need far more than 1 GiB.
struct Big {
    _bytes: [u8; 4096],
}

struct BigHandler;

impl Handler for BigHandler {
    type Timeout = ();
    type Message = Big;
}

#[test]
fn a_ring_over_one_gib_is_refused_whatever_the_count() {
    let mut config = EventLoopConfig::new();
    config.notify_capacity(1 << 20);
    let err = EventLoop::<BigHandler>::configured(config).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("1 GiB"), "{err}");
    // The bare channel checks the same.
    let poll = Poll::new().unwrap();
    let err = channel::<Big>(poll.registry(), Token(0), 1 << 20).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = channel::<u8>(poll.registry(), Token(0), usize::MAX).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn huge_events_capacities_are_refused_or_clamped() {
    refused(
        EventLoopConfig::new().events_capacity(usize::MAX),
        "events_capacity",
    );
    refused(EventLoopConfig::new().events_capacity(0), "events_capacity");
    let event_loop = EventLoop::<Count>::configured(
        EventLoopConfig::new().events_capacity(Events::MAX_CAPACITY),
    )
    .unwrap();
    fires(event_loop, 1);

    // The infallible constructor clamps; the fallible one says what is wrong.
    assert_eq!(
        Events::with_capacity(usize::MAX / 2).capacity(),
        Events::MAX_CAPACITY
    );
    assert_eq!(
        Events::with_capacity(usize::MAX).capacity(),
        Events::MAX_CAPACITY
    );
    for bad in [0, usize::MAX / 2, Events::MAX_CAPACITY + 1] {
        let err = Events::try_with_capacity(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
    }
    assert_eq!(Events::try_with_capacity(1).unwrap().capacity(), 1);
}

#[test]
fn a_zero_capacity_events_buffer_is_refused_by_poll() {
    // Kept constructible as an allocation-free placeholder (see the `Events` docs).
    let mut empty = Events::with_capacity(0);
    let mut poll = Poll::new().unwrap();
    let err = poll.poll(&mut empty, Some(Duration::ZERO)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn ticks_out_of_range_are_refused_and_the_extremes_work() {
    refused(EventLoopConfig::new().timer_tick(Duration::MAX), "tick");
    refused(EventLoopConfig::new().timer_tick_ms(u64::MAX), "tick");
    refused(
        EventLoopConfig::new().timer_tick(Duration::from_secs(61)),
        "tick",
    );
    refused(EventLoopConfig::new().timer_tick_ms(0), "tick");
    refused(
        EventLoopConfig::new().timer_tick(Duration::from_nanos(999)),
        "tick",
    );
    for tick in [Duration::from_micros(1), Duration::from_millis(100)] {
        let mut config = EventLoopConfig::new();
        config.timer_tick(tick);
        fires(EventLoop::configured(config).unwrap(), 2);
    }
}

#[test]
fn messages_per_tick_zero_is_refused_and_huge_works() {
    refused(
        EventLoopConfig::new().messages_per_tick(0),
        "messages_per_tick",
    );
    let event_loop =
        EventLoop::<Count>::configured(EventLoopConfig::new().messages_per_tick(usize::MAX))
            .unwrap();
    fires(event_loop, 1);
}

#[test]
fn huge_delays_saturate_and_never_fire() {
    let mut event_loop = EventLoop::<Count>::new().unwrap();
    let far = event_loop.timeout(1, Duration::MAX).unwrap();
    let _ = event_loop.timeout_ms(2, u64::MAX).unwrap();
    event_loop.run_once(&mut Count::default(), Some(1)).unwrap();
    assert!(event_loop.reset_timeout(far, Duration::MAX));
    assert!(event_loop.clear_timeout(far));
}
