//! The wheel itself: entries, slot lists, bitmaps, cascading. See the module docs for the design.

use std::fmt;

use super::{Timeout, TimerError};

/// Bits of a tick consumed by one level (64 slots).
const LEVEL_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << LEVEL_BITS;
/// Mask of one base-64 digit.
const DIGIT_MASK: u64 = SLOTS as u64 - 1;

/// Number of levels of the wheel: 11 levels of 6 bits cover all 64 bits of a tick.
///
/// The earliest pending timeouts are found by testing at most this many bitmaps, and a timeout
/// moves down (cascades) at most this many times before it fires.
pub const LEVELS: usize = 11;

/// Number of slot lists in the wheel proper.
const WHEEL_SLOTS: usize = LEVELS * SLOTS;
/// List index of the expired list (deadline `<= now`), stored after the wheel slots.
const EXPIRED: u16 = WHEEL_SLOTS as u16;
/// `Entry::list` of an entry on the free list.
const FREE: u16 = u16::MAX;
/// "No entry" in a `u32` link.
const NIL: u32 = u32::MAX;

// The list index must fit in `u16` next to the two markers.
const _: () = assert!(WHEEL_SLOTS < FREE as usize);

/// One preallocated timeout entry. Links are entry indices; `NIL` ends a list.
struct Entry<T> {
    /// `Some` exactly while the entry holds a pending timeout.
    value: Option<T>,
    /// Absolute deadline, raised to the time of insertion if it was in the past.
    deadline: u64,
    /// Bumped each time the entry is freed, so old handles stop matching.
    generation: u64,
    prev: u32,
    next: u32,
    /// Which list the entry is on: a wheel slot, `EXPIRED`, or `FREE`.
    list: u16,
}

/// Head and tail of one intrusive list, plus a lower bound of its entries' deadlines.
#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
    /// Minimum deadline of the entries linked since the list was last empty. A cancel does
    /// not raise it, so it is a lower bound of the current entries' deadlines.
    min_deadline: u64,
}

const EMPTY_LIST: List = List {
    head: NIL,
    tail: NIL,
    min_deadline: u64::MAX,
};

/// A hierarchical timer wheel of timeouts carrying values of type `T`, with a caller-driven
/// clock counted in abstract ticks.
///
/// See the [module docs](crate::timer) for the algorithm. In short: insert and cancel are
/// O(1), [`next_deadline`](Timer::next_deadline) tests at most [`LEVELS`] bitmaps, a
/// [`poll`](Timer::poll) that jumps far ahead costs one step per occupied slot passed (not per
/// tick), timeouts fire in deadline order (ties in insertion order), never before their
/// deadline, and nothing allocates after construction.
///
/// # Examples
///
/// ```
/// use ferrio::timer::Timer;
///
/// let mut timer = Timer::starting_at(100, 8);
/// timer.insert(150, "later").unwrap();
/// let soon = timer.insert(120, "soon").unwrap();
/// timer.insert(90, "overdue").unwrap(); // in the past: due at the next poll
///
/// let mut fired = Vec::new();
/// while let Some((_, value)) = timer.poll(130) {
///     fired.push(value);
/// }
/// assert_eq!(fired, ["overdue", "soon"]);
/// assert_eq!(timer.cancel(soon), None); // already fired
/// assert_eq!(timer.next_deadline(), Some(150));
/// ```
pub struct Timer<T> {
    entries: Vec<Entry<T>>,
    /// `WHEEL_SLOTS` slot lists (level-major), then the expired list.
    lists: Box<[List]>,
    /// Per level, bit `s` is set iff slot `s` of that level is non-empty.
    occupied: [u64; LEVELS],
    free_head: u32,
    len: usize,
    now: u64,
}

impl<T> Timer<T> {
    /// The largest capacity a timer can have; [`with_capacity`](Timer::with_capacity) clamps
    /// larger requests to it. Entry indices are `u32`, with `u32::MAX` kept as "no entry".
    pub const MAX_CAPACITY: usize = u32::MAX as usize;

    /// Creates a timer at tick 0 with room for `capacity` pending timeouts.
    ///
    /// All entries are allocated here; nothing allocates later. A capacity of 0 is allowed (every
    /// insert then fails with [`TimerError`]); a capacity above [`Timer::MAX_CAPACITY`] is clamped
    /// to it.
    ///
    /// # Panics
    ///
    /// Like [`Vec::with_capacity`], if the allocation size overflows `isize::MAX` bytes (the
    /// process aborts if memory runs out).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::timer::Timer;
    ///
    /// let timer: Timer<u32> = Timer::with_capacity(1024);
    /// assert_eq!(timer.capacity(), 1024);
    /// assert_eq!(timer.now(), 0);
    /// assert!(timer.is_empty());
    /// ```
    pub fn with_capacity(capacity: usize) -> Timer<T> {
        Timer::starting_at(0, capacity)
    }

    /// Creates a timer whose current time is `now`, with room for `capacity` pending timeouts.
    ///
    /// The capacity is handled as in [`with_capacity`](Timer::with_capacity).
    ///
    /// # Panics
    ///
    /// Like [`Vec::with_capacity`], if the allocation size overflows `isize::MAX` bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::timer::Timer;
    ///
    /// let timer: Timer<()> = Timer::starting_at(5_000, 4);
    /// assert_eq!(timer.now(), 5_000);
    /// ```
    pub fn starting_at(now: u64, capacity: usize) -> Timer<T> {
        let capacity = capacity.min(Self::MAX_CAPACITY);
        let mut entries = Vec::with_capacity(capacity);
        entries.extend((0..capacity).map(|index| Entry {
            value: None,
            deadline: 0,
            generation: 0,
            prev: NIL,
            next: free_link(index, capacity),
            list: FREE,
        }));
        Timer {
            entries,
            lists: vec![EMPTY_LIST; WHEEL_SLOTS + 1].into_boxed_slice(),
            occupied: [0; LEVELS],
            free_head: if capacity == 0 { NIL } else { 0 },
            len: 0,
            now,
        }
    }

    /// Schedules `value` to fire at the absolute tick `deadline`.
    ///
    /// A `deadline <= now()` is due at once: the next [`poll`](Timer::poll) returns it (after
    /// timeouts that were due before). Any deadline up to `u64::MAX` is valid. O(1); never
    /// allocates.
    ///
    /// # Errors
    ///
    /// [`TimerError`] if the timer already holds [`capacity`](Timer::capacity) timeouts; `value`
    /// is dropped. Use [`try_insert`](Timer::try_insert) to get it back.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::timer::{Timer, TimerError};
    ///
    /// let mut timer = Timer::with_capacity(1);
    /// assert!(timer.insert(u64::MAX, 1).is_ok());
    /// assert_eq!(timer.insert(7, 2), Err(TimerError));
    /// ```
    pub fn insert(&mut self, deadline: u64, value: T) -> Result<Timeout, TimerError> {
        self.try_insert(deadline, value).map_err(|(error, _)| error)
    }

    /// Like [`insert`](Timer::insert), but hands `value` back when the timer is full.
    ///
    /// # Errors
    ///
    /// `(TimerError, value)` if the timer already holds [`capacity`](Timer::capacity) timeouts.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::timer::{Timer, TimerError};
    ///
    /// let mut timer = Timer::with_capacity(0);
    /// let value = String::from("kept");
    /// assert_eq!(timer.try_insert(1, value), Err((TimerError, String::from("kept"))));
    /// ```
    pub fn try_insert(&mut self, deadline: u64, value: T) -> Result<Timeout, (TimerError, T)> {
        let index = self.free_head;
        if index == NIL {
            return Err((TimerError, value));
        }
        let entry = &mut self.entries[index as usize];
        self.free_head = entry.next;
        entry.value = Some(value);
        entry.deadline = deadline.max(self.now);
        let generation = entry.generation;
        self.len += 1;
        self.place(index);
        Ok(Timeout { index, generation })
    }

    /// Cancels a pending timeout and returns its value.
    ///
    /// Returns `None`, and changes nothing, if the handle is stale: its timeout already fired
    /// (was returned by [`poll`](Timer::poll)), was cancelled, or was dropped by
    /// [`clear`](Timer::clear), even if the entry now holds another timeout. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::timer::Timer;
    ///
    /// let mut timer = Timer::with_capacity(4);
    /// let t = timer.insert(10, "x").unwrap();
    /// assert_eq!(timer.cancel(t), Some("x"));
    /// assert_eq!(timer.cancel(t), None);
    /// assert!(timer.poll(100).is_none());
    /// ```
    pub fn cancel(&mut self, timeout: Timeout) -> Option<T> {
        if !self.contains(timeout) {
            return None;
        }
        self.unlink(timeout.index);
        self.release(timeout.index)
    }

    /// Returns `true` if `timeout` is still pending (neither fired, cancelled nor cleared).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::timer::Timer;
    ///
    /// let mut timer = Timer::with_capacity(4);
    /// let t = timer.insert(10, ()).unwrap();
    /// assert!(timer.contains(t));
    /// timer.poll(10);
    /// assert!(!timer.contains(t));
    /// ```
    pub fn contains(&self, timeout: Timeout) -> bool {
        match self.entries.get(timeout.index as usize) {
            Some(entry) => entry.list != FREE && entry.generation == timeout.generation,
            None => false,
        }
    }

    /// Advances the timer's time to `now` and returns one timeout whose deadline is `<= now`,
    /// or `None` if none is due.
    ///
    /// Call it repeatedly until it returns `None` to collect all due timeouts. They come in
    /// deadline order, ties in insertion order; a timeout inserted with a past deadline counts as
    /// due at the time of its insertion. Time never goes backwards: a `now` smaller than
    /// [`now()`](Timer::now) is treated as `now()`. A jump far ahead costs one step per occupied
    /// slot passed, not one per tick. Never allocates.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::timer::Timer;
    ///
    /// let mut timer = Timer::with_capacity(8);
    /// timer.insert(1_000_000_000_000, 'b').unwrap();
    /// timer.insert(3, 'a').unwrap();
    /// assert_eq!(timer.poll(2), None);
    /// assert_eq!(timer.poll(2_000_000_000_000).map(|(_, v)| v), Some('a'));
    /// assert_eq!(timer.poll(0).map(|(_, v)| v), Some('b')); // 0 counts as "still now"
    /// assert_eq!(timer.now(), 2_000_000_000_000);
    /// ```
    pub fn poll(&mut self, now: u64) -> Option<(Timeout, T)> {
        if now > self.now {
            self.advance(now);
        }
        let index = self.lists[EXPIRED as usize].head;
        if index == NIL {
            return None;
        }
        self.unlink(index);
        let generation = self.entries[index as usize].generation;
        let value = self.release(index)?;
        Some((Timeout { index, generation }, value))
    }

    /// Returns the earliest pending deadline, or a lower bound of it, or `None` if no timeout is
    /// pending.
    ///
    /// If a timeout is already due, the result is `<= now()` (the next
    /// [`poll`](Timer::poll) returns it). Otherwise the result `d` satisfies
    /// `now() < d <= earliest deadline`: it is exact unless the timeout that held the minimum of
    /// the earliest occupied slot was cancelled. Polling at `d` always makes progress (see the
    /// [module docs](crate::timer)), so sleeping until `d` and polling converges without busy
    /// looping. O([`LEVELS`]), scans no slot.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::timer::Timer;
    ///
    /// let mut timer = Timer::with_capacity(8);
    /// assert_eq!(timer.next_deadline(), None);
    /// timer.insert(70_000, ()).unwrap();
    /// timer.insert(65_000, ()).unwrap();
    /// assert_eq!(timer.next_deadline(), Some(65_000));
    /// ```
    pub fn next_deadline(&self) -> Option<u64> {
        let expired = self.lists[EXPIRED as usize].head;
        if expired != NIL {
            return Some(self.entries[expired as usize].deadline);
        }
        let (level, slot) = self.next_occupied()?;
        Some(self.lists[level * SLOTS + slot].min_deadline)
    }

    /// The timer's current time: the largest `now` passed to [`poll`](Timer::poll), or the start
    /// time if there was none larger.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The number of pending timeouts (including due ones not yet returned by `poll`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Returns `true` if no timeout is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The maximum number of pending timeouts, fixed at construction.
    pub fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// Drops all pending timeouts, making their handles stale. The current time is kept.
    ///
    /// Takes O(capacity) time; never allocates.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::timer::Timer;
    ///
    /// let mut timer = Timer::with_capacity(2);
    /// let t = timer.insert(5, ()).unwrap();
    /// timer.clear();
    /// assert!(timer.is_empty());
    /// assert_eq!(timer.cancel(t), None);
    /// assert!(timer.poll(10).is_none());
    /// ```
    pub fn clear(&mut self) {
        // One entry at a time, so a panicking `Drop` of a value leaves a consistent timer.
        for index in 0..self.entries.len() as u32 {
            if self.entries[index as usize].list != FREE {
                self.unlink(index);
                drop(self.release(index));
            }
        }
    }

    /// Moves time forward to `now`, cascading every occupied slot whose start is `<= now`, in
    /// time order, so that all timeouts due by `now` end up on the expired list in order.
    fn advance(&mut self, now: u64) {
        while let Some((level, slot)) = self.next_occupied() {
            let start = slot_start(self.now, level, slot);
            if start > now {
                break;
            }
            // Lower levels are empty (this is the lowest occupied one), so jumping to the slot's
            // start passes no timeout.
            self.now = start;
            self.cascade(level, slot);
        }
        self.now = now;
    }

    /// Empties the slot whose start is the current time and re-places its entries, in order.
    fn cascade(&mut self, level: usize, slot: usize) {
        let list = &mut self.lists[level * SLOTS + slot];
        let mut index = list.head;
        *list = EMPTY_LIST;
        self.occupied[level] &= !(1 << slot);
        while index != NIL {
            let next = self.entries[index as usize].next;
            debug_assert!(level > 0 || self.entries[index as usize].deadline == self.now);
            self.place(index);
            index = next;
        }
    }

    /// The lowest occupied level and its first occupied slot, which hold the earliest timeouts.
    fn next_occupied(&self) -> Option<(usize, usize)> {
        let level = self.occupied.iter().position(|&bits| bits != 0)?;
        let bits = self.occupied[level];
        // Every occupied slot is ahead of `now`'s digit at that level (see the module docs), so
        // the lowest set bit is the next slot in time; no rotation is needed.
        debug_assert_eq!(bits & (2u64 << digit(self.now, level)).wrapping_sub(1), 0);
        Some((level, bits.trailing_zeros() as usize))
    }

    /// Links a detached entry at the tail of the list its deadline belongs to.
    fn place(&mut self, index: u32) {
        let deadline = self.entries[index as usize].deadline;
        let list = if deadline <= self.now {
            EXPIRED as usize
        } else {
            let level = level_for(self.now, deadline);
            let slot = digit(deadline, level) as usize;
            self.occupied[level] |= 1 << slot;
            level * SLOTS + slot
        };
        let tail = self.lists[list].tail;
        {
            let entry = &mut self.entries[index as usize];
            entry.prev = tail;
            entry.next = NIL;
            entry.list = list as u16;
        }
        let header = &mut self.lists[list];
        if tail == NIL {
            header.head = index;
            header.min_deadline = deadline;
        } else {
            header.min_deadline = header.min_deadline.min(deadline);
        }
        header.tail = index;
        if tail != NIL {
            self.entries[tail as usize].next = index;
        }
    }

    /// Unlinks a pending entry from its list, clearing the slot's bit if it empties.
    fn unlink(&mut self, index: u32) {
        let (prev, next, list) = {
            let entry = &self.entries[index as usize];
            (entry.prev, entry.next, entry.list as usize)
        };
        if prev == NIL {
            self.lists[list].head = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next == NIL {
            self.lists[list].tail = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
        if list < WHEEL_SLOTS && self.lists[list].head == NIL {
            self.occupied[list / SLOTS] &= !(1 << (list % SLOTS));
        }
    }

    /// Puts an unlinked entry on the free list, invalidating its handles; returns its value.
    fn release(&mut self, index: u32) -> Option<T> {
        let entry = &mut self.entries[index as usize];
        entry.generation = entry.generation.wrapping_add(1);
        entry.list = FREE;
        entry.prev = NIL;
        entry.next = self.free_head;
        self.free_head = index;
        self.len -= 1;
        entry.value.take()
    }
}

impl<T> fmt::Debug for Timer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("now", &self.now)
            .field("len", &self.len)
            .field("capacity", &self.capacity())
            .field("next_deadline", &self.next_deadline())
            .finish_non_exhaustive()
    }
}

/// The free-list link of entry `index` in a fresh list `0 -> 1 -> ... -> capacity - 1`.
fn free_link(index: usize, capacity: usize) -> u32 {
    if index + 1 < capacity {
        index as u32 + 1
    } else {
        NIL
    }
}

/// Digit `level` (base 64) of `tick`: its slot at that level.
fn digit(tick: u64, level: usize) -> u64 {
    (tick >> (level as u32 * LEVEL_BITS)) & DIGIT_MASK
}

/// The level of a deadline later than `now`: the digit of the highest bit where they differ.
fn level_for(now: u64, deadline: u64) -> usize {
    debug_assert!(deadline > now);
    // `| DIGIT_MASK` keeps the result at level 0 when only the lowest digit differs.
    let highest = 63 - ((now ^ deadline) | DIGIT_MASK).leading_zeros();
    (highest / LEVEL_BITS) as usize
}

/// The first tick of slot `slot` at `level`, in the level-wide span that contains `now`.
fn slot_start(now: u64, level: usize, slot: usize) -> u64 {
    let shift = level as u32 * LEVEL_BITS;
    // The bits above this level are shared with `now`; the top level has none (shift 66 > 64).
    let above = now.checked_shr(shift + LEVEL_BITS).unwrap_or(0);
    let above = above.checked_shl(shift + LEVEL_BITS).unwrap_or(0);
    above | ((slot as u64) << shift)
}
