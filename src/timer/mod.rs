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
//! where an insert at the current time would put it*. Insert appends at the slot's tail: O(1).
//!
//! **Bitmaps instead of scans.** Each level keeps a `u64` bitmap of its non-empty slots. By the
//! invariant, all occupied slots of a level are ahead of `now`, and every slot of a lower level
//! ends before any occupied slot of a higher level begins. So the earliest timeouts are in the
//! lowest non-empty level, in its lowest set bit (`trailing_zeros`); finding them takes at most
//! [`LEVELS`] bitmap tests and never looks at a slot's contents.
//!
//! **Records and chunks.** A slot does not link the timeouts themselves: it holds a list of
//! 16-byte *records* (the deadline the timeout was filed under, its entry index and a version),
//! stored in chunks of 15 that come from one pool shared by all slots. The timeouts' values live
//! in *entries*, one per pending timeout; free entries are kept on a stack.
//!
//! **Cascading.** When time reaches the start of the next occupied slot at level `L`, the
//! slot's records are filed again relative to that start: each lands in a lower level, or in the
//! expired list if its deadline is exactly the slot's start. This reads the records in order from
//! contiguous memory and does not look at the timeouts' entries (see *Cancel* for the exception).
//! A level-0 slot (one tick, now due) joins the expired list whole, and a level-1 slot that a
//! jump passes entirely is sorted onto it when it holds a few records, instead of being spread
//! over level 0 first. [`Timer::poll`] jumps from occupied slot to occupied slot like this until
//! the next one starts after the new time, so a jump of any length costs one step per occupied
//! slot, never one per tick. A timeout moves down at most once per level, so the work per
//! timeout is bounded by [`LEVELS`]; its entry is read once, when it fires.
//!
//! **Cancel, lazily.** [`Timer::cancel`] frees the timeout's entry at once (its value is
//! dropped and the entry can be reused) and bumps the entry's version, which makes its record
//! *stale*: a record is valid only while its version equals its entry's. The stale record is
//! dropped when it reaches the expired list (where the entry is read anyway) or when its list is
//! compacted. Each list counts the stale records it holds (the record of a pending timeout is
//! in the list its filed deadline and the current time name, by the invariant above) and
//! reclaims them once more than 7/8 of its records are stale: a list whose records are all
//! stale (request deadlines that were all cancelled, say) is freed without reading an entry;
//! any other is compacted, reading each record's entry. A cascade moves stale records along
//! unchecked, uncounted by any list, only while such untracked records stay under half the
//! pending timeouts; otherwise it reads the entries and drops them. So records never exceed
//! 8.5 times the pending timeouts (in practice, far fewer), at O(1) amortised cost per
//! cancel: at most 8/7 entry reads per stale record a compaction drops.
//!
//! **Reset.** [`Timer::reset`] moves a deadline. Later, the usual case of an idle timeout that
//! every event pushes back: only the entry's deadline changes; the record stays where it is,
//! and when it reaches the expired list (or a cascade that reads entries) the timeout is filed
//! at its new deadline, once. Earlier: the timeout is filed anew and the old record goes stale
//! (as it is when moved more than 2^32 ticks past the deadline its record is filed under: the
//! entry keeps that deadline as a 32-bit difference).
//!
//! **Order.** Time advances slot by slot in deadline order and lists keep their order when they
//! are moved, so timeouts fire in order of deadline, and timeouts with the same deadline fire in
//! insertion order. A deadline already in the past when inserted counts as `now` (the time of
//! the insert): such a timeout fires after those already expired; it is never reported as due
//! earlier than that. One exception: a timeout moved *later* by a reset may, when one poll finds
//! it and others due together, come after timeouts with later deadlines (it is filed at its new
//! deadline only when its old one is reached). It never fires before its deadline.
//!
//! **Next deadline.** [`Timer::next_deadline`] returns the minimum deadline filed in the
//! earliest occupied slot, which each slot keeps up to date on insert. It is exact, except after
//! a timeout of that slot was cancelled or moved later: the stored minimum is then a lower
//! bound, still `<=` the earliest pending deadline and `>` [`Timer::now`]. Polling at that lower
//! bound always makes progress: the slot's start has been reached, so its records move on. A
//! loop that sleeps until `next_deadline()` and then polls thus wakes early at most once per
//! cancel or reset, and never busy-loops at one tick.
//!
//! **Memory.** The capacity given to [`Timer::with_capacity`] is a bound on pending timeouts,
//! not an up-front allocation: entries grow on demand (amortised doubling) and are kept, and
//! each time they grow, the record chunks grow to what that many pending timeouts can need
//! however their deadlines spread over the slots (about 150 bytes per timeout, plus at most
//! 175 KiB in all for one partly filled chunk per slot). So once a timer has held its peak
//! number of pending timeouts, insert, cancel, reset and poll allocate nothing, whatever the
//! timing (a slower run spreads the same timeouts over more slots).
//! [`Timer::try_reserve`] allocates for a given load up front. Capacities are clamped to
//! [`Timer::MAX_CAPACITY`] (`u32::MAX`).
//!
//! **Handles, generations and identity.** A [`Timeout`] holds the identity of the timer that
//! made it, the entry index and the entry's *generation*, a `u64` that is odd exactly while the
//! entry holds a pending timeout: bumped when the entry is taken and when it is freed (fired,
//! cancelled or cleared), so one comparison tells a pending timeout from a stale handle. A handle from another timer, or whose generation differs
//! from its entry's, refers to a timeout that is not there, so [`Timer::cancel`] returns `None`
//! for it and leaves the timeouts of this timer alone. A generation would only wrap after 2^63
//! reuses of one entry; timer identities are 32-bit and would repeat only after 2^32 timers were
//! created in one process (and the index and generation would then have to match too). Record
//! versions are 32-bit: should one wrap while an old record of its entry is still filed, that
//! record is treated as valid, which at worst files the timeout once more; it still fires at
//! most once and never early.
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

// The entries keep their values uninitialised while free (see `wheel::Entry`).
#[allow(unsafe_code)]
mod wheel;

#[cfg(test)]
mod tests;

pub use wheel::{Timer, LEVELS};

/// A handle to a timeout scheduled in a [`Timer`] (or through an
/// [`EventLoop`](crate::EventLoop)), used to cancel or reset it.
///
/// It names the timer that made it, the timer's entry and the entry's generation, so once the
/// timeout has fired or been cancelled, the handle is *stale*: [`Timer::cancel`] returns `None`
/// for it, even after its entry was reused for a new timeout, and a handle used with another
/// timer (or another loop) matches nothing there. Handles are small (`Copy`, 16 bytes) and can
/// be compared and hashed. Dropping the handle does not cancel the timeout; it only gives up the
/// means to cancel or reset it.
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
#[must_use = "a Timeout handle is the only way to cancel or reset the timeout"]
pub struct Timeout {
    /// Identity of the timer that made the handle.
    timer: u32,
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
/// assert_eq!(TimerError.to_string(), "timer is full: as many timeouts are pending as its capacity allows");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct TimerError;

impl fmt::Display for TimerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timer is full: as many timeouts are pending as its capacity allows")
    }
}

impl Error for TimerError {}

/// A full timer as an `io::Error` (kind `Other`, the [`TimerError`] as its source), so
/// `timeout_ms(..)?` works in a function returning `io::Result`.
///
/// # Examples
///
/// ```
/// use ferrio::TimerError;
/// use std::io;
///
/// let err: io::Error = TimerError.into();
/// assert_eq!(err.kind(), io::ErrorKind::Other);
/// assert!(err.get_ref().unwrap().is::<TimerError>());
/// assert_eq!(err.to_string(), TimerError.to_string());
/// ```
impl From<TimerError> for std::io::Error {
    fn from(error: TimerError) -> std::io::Error {
        std::io::Error::other(error)
    }
}

/// The result of scheduling a timeout: a [`Timeout`] handle, or [`TimerError`] if the timer is full.
pub type TimerResult<T> = Result<T, TimerError>;
