//! A hierarchical timer wheel driven by a caller-supplied clock.
//!
//! [`Timer`] keeps timeouts, each a value of type `T` with an absolute deadline in abstract
//! *ticks* (`u64`). It never reads a clock itself: the caller says what time it is by calling
//! [`Timer::poll`] with the current tick, which makes it usable on its own (for example in
//! deterministic tests that jump time) as well as inside the event loop, which maps milliseconds
//! to ticks.
//!
//! # The algorithm
//!
//! **Levels and slots.** The wheel has [`LEVELS`] levels of 64 slots. A slot at level `L` stands
//! for a span of `64^L` ticks, so level 0 has one tick per slot, level 1 has 64 ticks per slot,
//! level 2 has 4096, and so on. Read a tick as a number in base 64: digit `L` (bits `6L..6L+6`)
//! picks the slot at level `L`. Eleven levels give 66 bits, more than the 64 bits of a tick, so
//! **every deadline up to `u64::MAX` has a place in the wheel**: no deadline is ever out of range,
//! and nothing has to be clamped to the top level and re-inserted later.
//!
//! **Placing a timeout.** A timeout whose deadline is `<= now` is already due and goes to the
//! *expired list*, which [`Timer::poll`] drains first. Otherwise its level is the base-64 digit
//! of the highest bit where the deadline and `now` differ (`(deadline ^ now) | 63`, then
//! `leading_zeros`), and its slot is the deadline's digit at that level. Because the deadline is
//! later than `now` and agrees with it on all higher digits, that slot lies strictly ahead of
//! `now`'s digit at the same level. This gives the wheel's invariant: *every timeout sits exactly
//! where an insert at the current time would put it*. Each slot is an intrusive doubly linked
//! list of entries, so insert (append at the tail) and cancel (unlink) are O(1).
//!
//! **Bitmaps instead of scans.** Each level keeps a `u64` bitmap of its non-empty slots. By the
//! invariant, all occupied slots of a level are ahead of `now`, and every slot of a lower level
//! ends before any occupied slot of a higher level begins. So the earliest timeouts are in the
//! lowest non-empty level, in its lowest set bit (`trailing_zeros`); finding them takes at most
//! [`LEVELS`] bitmap tests and never looks at a slot's contents.
//!
//! **Cascading.** When time reaches the start of the next occupied slot at level `L > 0`, the
//! slot's entries are re-placed relative to that start: each lands in a lower level (or in the
//! expired list if its deadline is exactly the slot's start). Entries of a level-0 slot all have
//! the same deadline, the slot's start, and move to the expired list. [`Timer::poll`] jumps from
//! occupied slot to occupied slot like this until the next one starts after the new time, so a
//! jump of any length costs one step per occupied slot, never one per tick. An entry moves down
//! at most once per level, so the total work per timeout is bounded by [`LEVELS`].
//!
//! **Order.** Time advances slot by slot in deadline order and lists keep their order when they
//! are moved, so timeouts fire in order of deadline, and timeouts with the same deadline fire in
//! insertion order. A deadline already in the past when inserted counts as `now` (the time of
//! the insert): such a timeout fires after those already expired and in insertion order among
//! them; it is never reported as due earlier than that.
//!
//! **Next deadline.** [`Timer::next_deadline`] returns the minimum deadline of the earliest
//! occupied slot, which each slot keeps up to date on insert. It is exact, except after the
//! timeout holding a slot's minimum is cancelled while others stay in that slot: the stored
//! minimum is then a lower bound, still `<=` the earliest pending deadline and `>` [`Timer::now`].
//! Polling at that lower bound always makes progress: the stale slot's start has been reached,
//! so its entries move down into slots with exact minimums, and the following
//! [`Timer::next_deadline`] is exact again. A loop that sleeps until `next_deadline()` and then
//! polls thus wakes at most once early per such cancellation and never busy-loops at one tick.
//!
//! **Memory.** All entries are allocated by [`Timer::with_capacity`]; free entries form a free
//! list threaded through the same `u32` links. Insert, cancel and poll never allocate. The entry
//! count is limited to [`Timer::MAX_CAPACITY`] (`u32::MAX`) and larger requests are clamped.
//!
//! **Handles and generations.** A [`Timeout`] holds the entry index and the entry's *generation*,
//! a `u64` bumped each time the entry is freed (fired, cancelled or cleared). A handle whose
//! generation differs from its entry's refers to a timeout that is gone, so [`Timer::cancel`]
//! returns `None` for it and leaves the timeout now using that entry alone. A generation would
//! only wrap after 2^64 reuses of one entry (centuries at a billion timeouts a second); only then
//! could a handle that old match again. Handles are only meaningful to the timer that made them.
//!
//! # Examples
//!
//! A timer driven by hand:
//!
//! ```
//! use ferrio::timer::Timer;
//!
//! let mut timer = Timer::with_capacity(16);
//! let a = timer.insert(10, "a").unwrap();
//! timer.insert(5, "b").unwrap();
//! timer.insert(1_000_000, "c").unwrap();
//! assert_eq!(timer.len(), 3);
//! assert_eq!(timer.next_deadline(), Some(5));
//!
//! // Nothing is due yet at tick 4.
//! assert!(timer.poll(4).is_none());
//!
//! // Jump to tick 20: "b" (deadline 5) fires before "a" (deadline 10).
//! let (_, first) = timer.poll(20).unwrap();
//! let (handle, second) = timer.poll(20).unwrap();
//! assert_eq!((first, second), ("b", "a"));
//! assert_eq!(handle, a);
//! assert!(timer.poll(20).is_none());
//!
//! // A fired timeout cannot be cancelled; "c" can.
//! assert_eq!(timer.cancel(a), None);
//! assert_eq!(timer.len(), 1);
//! timer.clear();
//! assert!(timer.is_empty());
//! assert_eq!(timer.now(), 20);
//! ```

use std::error::Error;
use std::fmt;

mod wheel;

#[cfg(test)]
mod tests;

pub use wheel::{Timer, LEVELS};

/// A handle to a timeout scheduled in a [`Timer`], used to cancel it.
///
/// It names the timer's entry and the entry's generation, so once the timeout has fired or been
/// cancelled, the handle is *stale*: [`Timer::cancel`] returns `None` for it, even after its entry
/// was reused for a new timeout. Handles are small (`Copy`) and can be compared and hashed.
///
/// # Examples
///
/// ```
/// use ferrio::timer::Timer;
///
/// let mut timer = Timer::with_capacity(1);
/// let first = timer.insert(3, 'x').unwrap();
/// assert_eq!(timer.cancel(first), Some('x'));
///
/// // The same entry is reused, but the old handle stays stale.
/// let second = timer.insert(3, 'y').unwrap();
/// assert_ne!(first, second);
/// assert_eq!(timer.cancel(first), None);
/// assert_eq!(timer.cancel(second), Some('y'));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Timeout {
    index: u32,
    generation: u64,
}

/// The error returned when a [`Timer`] has no free entry: it already holds `capacity` timeouts.
///
/// # Examples
///
/// ```
/// use ferrio::timer::{Timer, TimerError};
///
/// let mut timer = Timer::with_capacity(0);
/// assert_eq!(timer.insert(1, ()), Err(TimerError));
/// assert_eq!(TimerError.to_string(), "timer is full: all timeout entries are in use");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct TimerError;

impl fmt::Display for TimerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timer is full: all timeout entries are in use")
    }
}

impl Error for TimerError {}

/// The result of scheduling a timeout: a [`Timeout`] handle, or [`TimerError`] if the timer is full.
pub type TimerResult<T> = Result<T, TimerError>;
