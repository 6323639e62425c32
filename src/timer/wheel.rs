//! The wheel itself: entries, slot lists of record chunks, bitmaps, cascading, lazy
//! cancellation and compaction. See the module docs for the design.

use std::collections::TryReserveError;
use std::fmt;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU32, Ordering};

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
const EXPIRED: usize = WHEEL_SLOTS;
/// All lists: the wheel slots and the expired list.
const LISTS: usize = WHEEL_SLOTS + 1;
/// "No entry" / "no chunk" in a `u32` link.
const NIL: u32 = u32::MAX;
/// Records per chunk: 15 records of 16 bytes and the chunk's header fill 248 bytes.
const CHUNK: usize = 15;
/// Words of the occupancy bitmaps: one per level, then unused ones, so that any list's word
/// index (`list / SLOTS`, the expired list's included) is in range by masking.
const BITMAP_WORDS: usize = 16;
const _: () = assert!(LISTS <= BITMAP_WORDS * SLOTS);
/// A wholly due level-1 slot with at most this many records is sorted onto the expired list.
const SORT_MAX: usize = 32;

/// Identities of timers, so a handle from one timer never acts on another.
static NEXT_TIMER_ID: AtomicU32 = AtomicU32::new(1);

/// One timeout entry. It holds the value; the wheel's lists hold [`Record`]s naming it.
///
/// 32 bytes for a value of up to 8 bytes, aligned so that each entry is in one cache line:
/// a cancel, a reset and a firing each read one line of the entries.
#[repr(align(32))]
struct Entry<T> {
    /// Initialised exactly while the entry holds a pending timeout (its generation is odd).
    value: MaybeUninit<T>,
    /// The deadline: raised to the time of insertion if it was in the past.
    deadline: u64,
    /// Odd exactly while the entry holds a pending timeout: bumped when the entry is taken
    /// and when it is freed, so old handles (and free entries) stop matching.
    generation: u64,
    /// Bumped each time the entry is freed or re-filed, so its old records stop matching.
    version: u32,
    /// `deadline` less the deadline the entry's one valid record was filed under (a later
    /// reset leaves the record where it is); a reset that would make it exceed `u32::MAX`
    /// files the timeout anew instead.
    lag: u32,
}

impl<T> Entry<T> {
    /// Whether the entry holds a pending timeout (and so an initialised value).
    #[inline]
    fn is_pending(&self) -> bool {
        self.generation & 1 == 1
    }

    /// The deadline the entry's valid record was filed under.
    #[inline]
    fn filed(&self) -> u64 {
        self.deadline - u64::from(self.lag)
    }
}

/// A list's reference to an entry: valid while `version` equals the entry's.
#[derive(Clone, Copy)]
struct Record {
    /// The deadline the record was filed under.
    deadline: u64,
    index: u32,
    version: u32,
}

const EMPTY_RECORD: Record = Record {
    deadline: 0,
    index: NIL,
    version: 0,
};

/// A block of records; a list is a chain of chunks, records in order.
struct Chunk {
    records: [Record; CHUNK],
    next: u32,
    /// `records[start..end]` are in the list.
    start: u8,
    end: u8,
}

/// One list: a chain of chunks, with counts and a lower bound of its deadlines.
#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
    /// Records in the list, stale ones included.
    count: usize,
    /// Records whose entry was freed or re-filed since they were filed here.
    stale: usize,
    /// Minimum deadline of the records filed since the list was last empty: a lower bound of
    /// the deadlines of its pending timeouts.
    min_deadline: u64,
}

const EMPTY_LIST: List = List {
    head: NIL,
    tail: NIL,
    count: 0,
    stale: 0,
    min_deadline: u64::MAX,
};

/// A hierarchical timer wheel of timeouts carrying values of type `T`, with a caller-driven
/// clock counted in abstract ticks.
///
/// See the [module docs](crate::timer) for the algorithm. In short: insert, cancel and reset
/// are O(1) (a reset to a later deadline touches only the timeout's own entry),
/// [`next_deadline`](Timer::next_deadline) tests at most [`LEVELS`] bitmaps, a
/// [`poll`](Timer::poll) that jumps far ahead costs one step per occupied slot passed (not per
/// tick), timeouts fire in deadline order, never before their deadline, and storage grows on
/// demand up to the capacity, after which nothing allocates.
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
    /// The free entries, most recently freed last. A stack rather than a list threaded
    /// through the entries: popping it reads contiguous memory, not the previous entry.
    free: Vec<u32>,
    chunks: Vec<Chunk>,
    /// Head of the free chunks, linked through `Chunk::next`.
    free_chunk: u32,
    /// `WHEEL_SLOTS` slot lists (level-major), then the expired list; empty until the first
    /// insert.
    lists: Vec<List>,
    /// Per level, bit `s` is set iff slot `s` of that level holds records. Words past `LEVELS`
    /// are never read: pushes to the expired list set a bit there (word `EXPIRED / SLOTS`)
    /// rather than test which list they push to.
    occupied: [u64; BITMAP_WORDS],
    /// Stale records no list counts: those moved by a cascade that did not look at them.
    untracked: usize,
    len: usize,
    capacity: usize,
    now: u64,
    id: u32,
}

impl<T> Timer<T> {
    /// The largest capacity a timer can have; larger requests are clamped to it. Entry
    /// indices are `u32`, with `u32::MAX` kept as "no entry".
    pub const MAX_CAPACITY: usize = u32::MAX as usize;

    /// Creates an empty timer at tick 0 that holds up to [`Timer::MAX_CAPACITY`] timeouts.
    /// Allocates nothing until the first insert.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::timer::Timer;
    ///
    /// let mut timer = Timer::new();
    /// timer.insert(3, "x").unwrap();
    /// assert_eq!(timer.poll(3).map(|(_, v)| v), Some("x"));
    /// ```
    pub fn new() -> Timer<T> {
        Timer::starting_at(0, Self::MAX_CAPACITY)
    }

    /// Creates a timer at tick 0 that holds up to `capacity` pending timeouts.
    ///
    /// The capacity is a bound, not an up-front allocation: storage grows on demand (by
    /// doubling) and is kept, so once a timer has held its peak number of timeouts nothing
    /// allocates. Use [`try_reserve`](Timer::try_reserve) to allocate up front. A capacity of 0
    /// is allowed (every insert then fails with [`TimerError`]); a capacity above
    /// [`Timer::MAX_CAPACITY`] is clamped to it.
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

    /// Creates a timer whose current time is `now`, holding up to `capacity` pending
    /// timeouts. The capacity is handled as in [`with_capacity`](Timer::with_capacity).
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
        Timer {
            entries: Vec::new(),
            free: Vec::new(),
            chunks: Vec::new(),
            free_chunk: NIL,
            lists: Vec::new(),
            occupied: [0; BITMAP_WORDS],
            untracked: 0,
            len: 0,
            capacity: capacity.min(Self::MAX_CAPACITY),
            now,
            id: NEXT_TIMER_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Allocates room for `additional` more pending timeouts (up to the capacity), so that no
    /// insert, cancel, reset or poll allocates while at most `len() + additional` timeouts are
    /// pending.
    ///
    /// # Errors
    ///
    /// The allocator's error if the memory cannot be had; the timer is unchanged and usable.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::timer::Timer;
    ///
    /// let mut timer: Timer<u64> = Timer::with_capacity(10_000);
    /// timer.try_reserve(10_000).unwrap();
    /// assert!(timer.try_reserve(usize::MAX).is_ok()); // clamped to the capacity
    /// ```
    pub fn try_reserve(&mut self, additional: usize) -> Result<(), TryReserveError> {
        let target = self.len.saturating_add(additional).min(self.capacity);
        self.entries
            .try_reserve_exact(target.saturating_sub(self.entries.len()))?;
        self.free
            .try_reserve_exact(target.saturating_sub(self.free.len()))?;
        let chunks = chunks_needed(target);
        self.chunks
            .try_reserve_exact(chunks.saturating_sub(self.chunks.len()))?;
        self.allocate_lists()
    }

    /// Schedules `value` to fire at the absolute tick `deadline`.
    ///
    /// A `deadline <= now()` is due at once: the next [`poll`](Timer::poll) returns it (after
    /// timeouts that were due before). Any deadline up to `u64::MAX` is valid. O(1).
    ///
    /// # Errors
    ///
    /// [`TimerError`] if the timer already holds [`capacity`](Timer::capacity) timeouts (or
    /// its storage could not grow); `value` is dropped. Use [`try_insert`](Timer::try_insert)
    /// to get it back.
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
    /// `(TimerError, value)` if the timer already holds [`capacity`](Timer::capacity)
    /// timeouts, or its storage could not grow.
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
    #[inline]
    pub fn try_insert(&mut self, deadline: u64, value: T) -> Result<Timeout, (TimerError, T)> {
        if self.len >= self.capacity {
            return Err((TimerError, value));
        }
        let index = if let Some(index) = self.free.pop() {
            index
        } else {
            match self.grow() {
                Ok(index) => index,
                Err(()) => return Err((TimerError, value)),
            }
        };
        let deadline = deadline.max(self.now);
        let list = self.list_of(deadline);
        let entry = &mut self.entries[index as usize];
        entry.value.write(value);
        entry.deadline = deadline;
        entry.lag = 0;
        entry.generation = entry.generation.wrapping_add(1);
        let (generation, version) = (entry.generation, entry.version);
        self.len += 1;
        self.push(
            list,
            Record {
                deadline,
                index,
                version,
            },
        );
        Ok(Timeout {
            timer: self.id,
            index,
            generation,
        })
    }

    /// Adds one free entry (all entries are in use), allocating the lists on the first call.
    ///
    /// Whenever the entries' storage grows, the chunks' storage grows with it to what that many
    /// pending timeouts can need whatever their deadlines ([`chunks_needed`]): how many chunks
    /// are in use depends on how the deadlines spread over the slots, that is on timing, so
    /// growing chunks only on demand could allocate in a steady state that merely ran slower
    /// (a pause in the middle of a burst of inserts spreads it over more slots).
    #[cold]
    fn grow(&mut self) -> Result<u32, ()> {
        self.allocate_lists().map_err(drop)?;
        let entries_capacity = self.entries.capacity();
        self.entries.try_reserve(1).map_err(drop)?;
        if self.entries.capacity() != entries_capacity {
            let chunks = chunks_needed(self.entries.capacity().min(self.capacity));
            self.chunks
                .try_reserve_exact(chunks.saturating_sub(self.chunks.len()))
                .map_err(drop)?;
        }
        // Room to free every entry without allocating.
        let entries = self.entries.len() + 1;
        self.free
            .try_reserve(entries.saturating_sub(self.free.len()))
            .map_err(drop)?;
        let index = self.entries.len() as u32;
        self.entries.push(Entry {
            value: MaybeUninit::uninit(),
            deadline: 0,
            generation: 0,
            version: 0,
            lag: 0,
        });
        Ok(index)
    }

    fn allocate_lists(&mut self) -> Result<(), TryReserveError> {
        if self.lists.is_empty() {
            self.lists.try_reserve_exact(LISTS)?;
            self.lists.resize(LISTS, EMPTY_LIST);
        }
        Ok(())
    }

    /// Cancels a pending timeout and returns its value.
    ///
    /// Returns `None`, and changes nothing, if the handle is stale (its timeout already fired,
    /// was cancelled, or was dropped by [`clear`](Timer::clear), even if the entry now holds
    /// another timeout) or comes from another timer. O(1): the timeout's place in the wheel is
    /// reclaimed lazily, when its slot is next visited or compacted.
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
    ///
    /// let mut other = Timer::with_capacity(4);
    /// other.insert(10, "y").unwrap();
    /// assert_eq!(other.cancel(t), None); // a handle of another timer
    /// ```
    #[inline]
    pub fn cancel(&mut self, timeout: Timeout) -> Option<T> {
        if !self.contains(timeout) {
            return None;
        }
        let list = self.list_of(self.entries[timeout.index as usize].filed());
        let value = self.release(timeout.index);
        self.mark_stale(list);
        Some(value)
    }

    /// Moves a pending timeout's deadline to the absolute tick `deadline` (a past one counts
    /// as `now()`), keeping its handle and value. Returns `false`, and changes nothing, for a
    /// stale or foreign handle (as [`cancel`](Timer::cancel)).
    ///
    /// Moving a deadline later, the common case of an idle timeout pushed back on every event,
    /// only updates the timeout's entry: its old place in the wheel is kept, and when that
    /// place comes due the timeout is re-filed at its new deadline, once. Moving it earlier
    /// files it anew. Either way O(1), and the timeout fires at its new deadline, never before.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::timer::Timer;
    ///
    /// let mut timer = Timer::with_capacity(4);
    /// let idle = timer.insert(100, "idle").unwrap();
    /// assert!(timer.reset(idle, 250));
    /// assert_eq!(timer.poll(249), None);
    /// assert_eq!(timer.poll(250), Some((idle, "idle")));
    /// assert!(!timer.reset(idle, 300)); // fired: the handle is stale
    /// ```
    #[inline]
    pub fn reset(&mut self, timeout: Timeout, deadline: u64) -> bool {
        if !self.contains(timeout) {
            return false;
        }
        let index = timeout.index;
        let deadline = deadline.max(self.now);
        let entry = &mut self.entries[index as usize];
        let filed = entry.filed();
        if filed > self.now {
            // In the wheel.
            match deadline.checked_sub(filed).map(u32::try_from) {
                // Later (or the same): only the entry changes; it is filed at its new deadline
                // when its record comes due.
                Some(Ok(lag)) => {
                    entry.deadline = deadline;
                    entry.lag = lag;
                }
                // Earlier (its record's deadline must never be later than the timeout's), or
                // too far later to say where the record is: file it anew.
                _ => self.refile(index, deadline, self.list_of(filed)),
            }
        } else if deadline != filed {
            // Due and on the expired list, which must stay in deadline order: file it anew.
            self.refile(index, deadline, EXPIRED);
        } else {
            entry.deadline = deadline;
            entry.lag = 0;
        }
        true
    }

    /// Files a pending entry's only valid record anew at `deadline`, leaving the old one (in
    /// list `old`) stale.
    fn refile(&mut self, index: u32, deadline: u64, old: usize) {
        let list = self.list_of(deadline);
        let entry = &mut self.entries[index as usize];
        entry.version = entry.version.wrapping_add(1);
        entry.deadline = deadline;
        entry.lag = 0;
        let version = entry.version;
        self.push(
            list,
            Record {
                deadline,
                index,
                version,
            },
        );
        self.mark_stale(old);
    }

    /// Returns `true` if `timeout` is a handle of this timer and still pending (neither fired,
    /// cancelled nor cleared).
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
    #[inline]
    pub fn contains(&self, timeout: Timeout) -> bool {
        if timeout.timer != self.id {
            return false;
        }
        match self.entries.get(timeout.index as usize) {
            // A handle's generation is odd, as is that of a pending entry only.
            Some(entry) => entry.generation == timeout.generation,
            None => false,
        }
    }

    /// Advances the timer's time to `now` and returns one timeout whose deadline is `<= now`,
    /// or `None` if none is due.
    ///
    /// Call it repeatedly until it returns `None` to collect all due timeouts. They come in
    /// deadline order, ties in the order they were filed; a timeout inserted with a past
    /// deadline counts as due at the time of its insertion. Time never goes backwards: a `now`
    /// smaller than [`now()`](Timer::now) is treated as `now()`. A jump far ahead costs one
    /// step per occupied slot passed, not one per tick.
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
    #[inline]
    pub fn poll(&mut self, now: u64) -> Option<(Timeout, T)> {
        if now > self.now {
            self.advance(now);
        }
        if self.lists.is_empty() {
            return None;
        }
        // Even with no timeout pending, stale records may have reached the expired list:
        // drained here like the others.
        while let Some(record) = self.pop_expired() {
            let entry = &self.entries[record.index as usize];
            // A free entry can have a matching version only once versions wrapped.
            if entry.version != record.version || !entry.is_pending() {
                self.forget_stale(EXPIRED, 1);
                continue;
            }
            if entry.deadline > self.now {
                // Moved later since it was filed: file it at its new deadline.
                let deadline = entry.deadline;
                self.entries[record.index as usize].lag = 0;
                self.push(self.list_of(deadline), Record { deadline, ..record });
                continue;
            }
            let generation = entry.generation;
            let value = self.release(record.index);
            self.check_stale(EXPIRED);
            let timeout = Timeout {
                timer: self.id,
                index: record.index,
                generation,
            };
            return Some((timeout, value));
        }
        None
    }

    /// Returns the earliest pending deadline, or a lower bound of it, or `None` if no timeout is
    /// pending.
    ///
    /// If a timeout is already due, the result is `<= now()` (the next
    /// [`poll`](Timer::poll) returns it). Otherwise the result `d` satisfies
    /// `now() < d <= earliest deadline`: it is exact unless a timeout of the earliest occupied
    /// slot was cancelled or moved later since that slot was filled. Polling at `d` always
    /// makes progress (see the [module docs](crate::timer)), so sleeping until `d` and polling
    /// converges without busy looping. O([`LEVELS`]), scans no slot.
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
    #[inline]
    pub fn next_deadline(&self) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        let expired = &self.lists[EXPIRED];
        if expired.count > 0 {
            return Some(expired.min_deadline);
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
        self.capacity
    }

    /// Drops all pending timeouts, making their handles stale. The current time and the
    /// storage are kept.
    ///
    /// Takes O(number of entries ever used) time; never allocates.
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
        // One entry at a time, each left as a cancel leaves it, so a panicking `Drop` of a
        // value leaves a consistent timer.
        for index in 0..self.entries.len() as u32 {
            if self.entries[index as usize].is_pending() {
                let list = self.list_of(self.entries[index as usize].filed());
                let value = self.release(index);
                self.lists[list].stale += 1;
                drop(value);
            }
        }
        for list in &mut self.lists {
            *list = EMPTY_LIST;
        }
        self.occupied = [0; BITMAP_WORDS];
        self.untracked = 0;
        self.free_chunk = NIL;
        for index in (0..self.chunks.len() as u32).rev() {
            self.chunks[index as usize].next = self.free_chunk;
            self.free_chunk = index;
        }
    }

    /// The list a record filed at `deadline` is on now: the expired list if it is due,
    /// otherwise the slot an insert at the current time would choose. (By the wheel's
    /// invariant a record never has to move until its slot's start is reached, so this is
    /// where it is.)
    #[inline]
    fn list_of(&self, deadline: u64) -> usize {
        list_at(self.now, deadline)
    }

    /// Appends a record to a list.
    #[inline(always)]
    fn push(&mut self, list: usize, record: Record) {
        self.push_to::<false>(list, record);
    }

    /// Appends a record to a list. `OFTEN_NEW`: the list often needs a new chunk (a cascade
    /// spreading a slot over the 64 of the level below, most of them empty), so that path is
    /// inlined too.
    #[inline(always)]
    fn push_to<const OFTEN_NEW: bool>(&mut self, list: usize, record: Record) {
        let header = &mut self.lists[list];
        // An empty list's minimum is `u64::MAX`.
        header.min_deadline = header.min_deadline.min(record.deadline);
        header.count += 1;
        let tail = header.tail;
        // `NIL` is out of range: an empty list takes the slow path too.
        match self.chunks.get_mut(tail as usize) {
            Some(chunk) if (chunk.end as usize) < CHUNK => {
                chunk.records[chunk.end as usize] = record;
                chunk.end += 1;
            }
            _ if OFTEN_NEW => self.push_in_new_chunk(list, tail, record),
            _ => self.push_in_new_chunk_cold(list, tail, record),
        }
        self.occupied[list / SLOTS % BITMAP_WORDS] |= 1 << (list % SLOTS);
    }

    /// Links a fresh chunk holding `record` at the end of `list`, whose tail is `tail` (full,
    /// or `NIL`).
    #[cold]
    #[inline(never)]
    fn push_in_new_chunk_cold(&mut self, list: usize, tail: u32, record: Record) {
        self.push_in_new_chunk(list, tail, record);
    }

    /// `push_in_new_chunk_cold`, inlined.
    #[inline(always)]
    fn push_in_new_chunk(&mut self, list: usize, tail: u32, record: Record) {
        let chunk = self.alloc_chunk();
        if tail == NIL {
            self.lists[list].head = chunk;
        } else {
            self.chunks[tail as usize].next = chunk;
        }
        self.lists[list].tail = chunk;
        let chunk = &mut self.chunks[chunk as usize];
        chunk.records[0] = record;
        chunk.end = 1;
    }

    /// A chunk from the free chunks, or a new one.
    #[inline]
    fn alloc_chunk(&mut self) -> u32 {
        let index = self.free_chunk;
        if index == NIL {
            return self.new_chunk();
        }
        let chunk = &mut self.chunks[index as usize];
        self.free_chunk = chunk.next;
        chunk.next = NIL;
        chunk.start = 0;
        chunk.end = 0;
        index
    }

    #[cold]
    fn new_chunk(&mut self) -> u32 {
        let index = self.chunks.len() as u32;
        self.chunks.push(Chunk {
            records: [EMPTY_RECORD; CHUNK],
            next: NIL,
            start: 0,
            end: 0,
        });
        index
    }

    #[inline]
    fn free_chunk(&mut self, index: u32) {
        self.chunks[index as usize].next = self.free_chunk;
        self.free_chunk = index;
    }

    /// Removes and returns the first record of the expired list.
    #[inline]
    fn pop_expired(&mut self) -> Option<Record> {
        let head = self.lists[EXPIRED].head;
        if head == NIL {
            return None;
        }
        let chunk = &mut self.chunks[head as usize];
        let record = chunk.records[chunk.start as usize];
        chunk.start += 1;
        if chunk.start == chunk.end {
            let next = chunk.next;
            let list = &mut self.lists[EXPIRED];
            list.head = next;
            if next == NIL {
                list.tail = NIL;
            }
            self.free_chunk(head);
        }
        let list = &mut self.lists[EXPIRED];
        list.count -= 1;
        if list.count == 0 {
            list.min_deadline = u64::MAX;
        }
        Some(record)
    }

    /// Takes a list's whole chain of chunks out of it, leaving it empty.
    fn detach(&mut self, list: usize) -> u32 {
        let head = self.lists[list].head;
        self.lists[list] = EMPTY_LIST;
        if list < WHEEL_SLOTS {
            self.occupied[list / SLOTS] &= !(1 << (list % SLOTS));
        }
        head
    }

    /// One more record of `list` is stale; see `check_stale`.
    #[inline]
    fn mark_stale(&mut self, list: usize) {
        self.lists[list].stale += 1;
        self.check_stale(list);
    }

    /// Reclaims a list's stale records once more than 7/8 of its records are: a list whose
    /// records are all stale (request deadlines that were all cancelled, say) is freed
    /// without reading a single entry; otherwise it is compacted, reading every record's entry,
    /// which costs at most 8/7 entry reads per stale record dropped. The records a list keeps
    /// stay under 8 times its pending timeouts.
    #[inline]
    fn check_stale(&mut self, list: usize) {
        let header = &self.lists[list];
        if 8 * header.stale > 7 * header.count {
            if header.stale == header.count {
                self.free_list(list);
            } else {
                self.compact(list);
            }
        }
    }

    /// Frees a list all of whose records are stale.
    #[cold]
    fn free_list(&mut self, list: usize) {
        let mut chunk = self.detach(list);
        while chunk != NIL {
            let next = self.chunks[chunk as usize].next;
            self.free_chunk(chunk);
            chunk = next;
        }
    }

    /// Drops the stale records of a list, keeping the others in order.
    #[cold]
    fn compact(&mut self, list: usize) {
        let tracked = self.lists[list].stale;
        let mut dropped = 0;
        let mut chunk = self.detach(list);
        while chunk != NIL {
            let (start, end, next) = {
                let c = &self.chunks[chunk as usize];
                (c.start as usize, c.end as usize, c.next)
            };
            for i in start..end {
                let record = self.chunks[chunk as usize].records[i];
                let entry = &self.entries[record.index as usize];
                if entry.version == record.version {
                    let deadline = entry.filed();
                    self.push(list, Record { deadline, ..record });
                } else {
                    dropped += 1;
                }
            }
            self.free_chunk(chunk);
            chunk = next;
        }
        self.untracked = self
            .untracked
            .saturating_sub(dropped - tracked.min(dropped));
    }

    /// `n` stale records of `list` were dropped: uncount them (from the list, or else from
    /// the untracked ones).
    #[inline]
    fn forget_stale(&mut self, list: usize, n: usize) {
        let header = &mut self.lists[list];
        let tracked = header.stale.min(n);
        header.stale -= tracked;
        self.untracked = self.untracked.saturating_sub(n - tracked);
    }

    /// Moves time forward to `now`, cascading every occupied slot whose start is `<= now`, in
    /// time order, so that all timeouts due by `now` end up on the expired list in order.
    fn advance(&mut self, now: u64) {
        loop {
            let bits = self.occupied[0];
            if bits != 0 {
                // A level-0 slot: one tick, which joins the expired list whole.
                let slot = bits.trailing_zeros() as usize;
                let start = (self.now & !DIGIT_MASK) | slot as u64;
                if start > now {
                    break;
                }
                self.now = start;
                self.splice_into_expired(slot);
                continue;
            }
            let Some((level, slot)) = self.next_occupied() else {
                break;
            };
            let start = slot_start(self.now, level, slot);
            if start > now {
                break;
            }
            // Lower levels are empty (this is the lowest occupied one), so jumping to the slot's
            // start passes no timeout.
            self.now = start;
            let list = level * SLOTS + slot;
            if level == 1 && start + DIGIT_MASK <= now && self.lists[list].count <= SORT_MAX {
                // The whole 64-tick slot is due: sort its few records instead of moving each
                // down to a level-0 slot and from there to the expired list.
                self.sort_into_expired(list);
            } else {
                self.cascade(list);
            }
        }
        self.now = now;
    }

    /// Appends the records of a level-1 slot that is wholly due (`count <= SORT_MAX`) to the
    /// expired list in deadline order (ties in list order).
    fn sort_into_expired(&mut self, list: usize) {
        let header = self.lists[list];
        let mut sorted = [EMPTY_RECORD; SORT_MAX];
        let mut n = 0;
        let mut chunk = self.detach(list);
        while chunk != NIL {
            let c = &self.chunks[chunk as usize];
            let next = c.next;
            for &record in c
                .records
                .get(c.start as usize..c.end as usize)
                .unwrap_or_default()
            {
                // Insertion sort: stable, and the slot holds few records.
                let mut at = n;
                while at > 0 && sorted[at - 1].deadline > record.deadline {
                    sorted[at] = sorted[at - 1];
                    at -= 1;
                }
                sorted[at] = record;
                n += 1;
            }
            self.free_chunk(chunk);
            chunk = next;
        }
        for &record in &sorted[..n] {
            self.push(EXPIRED, record);
        }
        self.lists[EXPIRED].stale += header.stale;
    }

    /// Empties the slot whose start is the current time and files its records again, each in
    /// a lower level or on the expired list, in order.
    ///
    /// A level-0 slot holds one tick, now: its whole chain joins the expired list as it is.
    /// A slot without stale records is moved record by record without looking at the
    /// timeouts' entries (a timeout moved later since is filed anew when its record comes due).
    /// Otherwise each record's entry is checked: stale records are dropped, and a timeout
    /// moved later is filed at its new deadline right away.
    fn cascade(&mut self, list: usize) {
        if list < SLOTS {
            self.splice_into_expired(list);
            return;
        }
        let stale = self.lists[list].stale;
        // Moving stale records along unchecked is cheaper (they are dropped on the expired
        // list, where the timeout's entry is read anyway), but while they travel no list
        // counts them: allow that for at most half as many records as timeouts are pending.
        if stale > 0 && self.untracked + stale > self.len / 2 {
            let dropped = self.cascade_records::<true>(list);
            // Stale records beyond those the list counted had travelled untracked.
            self.untracked = self.untracked.saturating_sub(dropped - stale.min(dropped));
        } else {
            self.untracked += stale;
            self.cascade_records::<false>(list);
        }
    }

    /// Moves the records of `list` (a slot of level 1 or higher, whose start is now) to
    /// where an insert now would file them; returns how many stale records it dropped.
    /// `CHECKED`: read each record's entry, dropping stale records and filing a timeout moved
    /// later at its new deadline; otherwise move every record as it is.
    #[inline(always)]
    fn cascade_records<const CHECKED: bool>(&mut self, list: usize) -> usize {
        let mut dropped = 0;
        let now = self.now;
        let mut chunk = self.detach(list);
        while let Some(c) = self.chunks.get(chunk as usize) {
            let next = c.next;
            let (start, end) = (c.start as usize, c.end as usize);
            // A copy, so the chunk can be freed first and reused by the pushes below.
            let records = c.records;
            self.free_chunk(chunk);
            for &record in records.get(start..end).unwrap_or_default() {
                if CHECKED {
                    let entry = &mut self.entries[record.index as usize];
                    if entry.version != record.version {
                        dropped += 1;
                        continue;
                    }
                    if entry.deadline != record.deadline {
                        let deadline = entry.deadline;
                        entry.lag = 0;
                        self.push(list_at(now, deadline), Record { deadline, ..record });
                        continue;
                    }
                }
                self.push_to::<true>(list_at(now, record.deadline), record);
            }
            chunk = next;
        }
        dropped
    }

    /// Appends a level-0 slot's whole chain (its records are due now) to the expired list.
    fn splice_into_expired(&mut self, slot: usize) {
        let header = std::mem::replace(&mut self.lists[slot], EMPTY_LIST);
        self.occupied[0] &= !(1 << (slot % SLOTS));
        if header.head == NIL {
            return;
        }
        let tail = self.lists[EXPIRED].tail;
        // An empty expired list (tail `NIL`) gets the chain as its head.
        match self.chunks.get_mut(tail as usize) {
            Some(chunk) => chunk.next = header.head,
            None => self.lists[EXPIRED].head = header.head,
        }
        let expired = &mut self.lists[EXPIRED];
        // An empty list's minimum is `u64::MAX`.
        expired.min_deadline = expired.min_deadline.min(header.min_deadline);
        expired.tail = header.tail;
        expired.count += header.count;
        expired.stale += header.stale;
    }

    /// The lowest occupied level and its first occupied slot, which hold the earliest timeouts.
    #[inline]
    fn next_occupied(&self) -> Option<(usize, usize)> {
        let level = self.occupied[..LEVELS].iter().position(|&bits| bits != 0)?;
        let bits = self.occupied[level];
        // Every occupied slot is ahead of `now`'s digit at that level (see the module docs), so
        // the lowest set bit is the next slot in time; no rotation is needed.
        debug_assert_eq!(bits & (2u64 << digit(self.now, level)).wrapping_sub(1), 0);
        Some((level, bits.trailing_zeros() as usize))
    }

    /// Frees a pending entry, invalidating its handles and records; returns its value.
    ///
    /// # Panics
    ///
    /// If the entry is not pending (a bug in the timer; never reached).
    #[inline]
    fn release(&mut self, index: u32) -> T {
        let entry = &mut self.entries[index as usize];
        assert!(entry.is_pending(), "timer: releasing a free entry");
        entry.generation = entry.generation.wrapping_add(1);
        entry.version = entry.version.wrapping_add(1);
        // Never allocates: `grow` keeps room for every entry.
        self.free.push(index);
        self.len -= 1;
        // SAFETY: the entry was pending (checked above), so its value was initialised by the
        // insert that took it and not read since; its generation is now even, so it is not
        // read again before an insert writes a new one.
        unsafe { entry.value.assume_init_read() }
    }

    /// Chunks allocated so far (for tests of the memory bound).
    #[cfg(test)]
    pub(crate) fn chunks_allocated(&self) -> usize {
        self.chunks.len()
    }

    /// Chunks there is room for without allocating (for tests of the memory bound).
    #[cfg(test)]
    pub(crate) fn chunks_capacity(&self) -> usize {
        self.chunks.capacity()
    }
}

impl<T> Drop for Timer<T> {
    fn drop(&mut self) {
        if !std::mem::needs_drop::<T>() {
            return;
        }
        for entry in &mut self.entries {
            if entry.is_pending() {
                // Freed first: should the value's drop panic, it is not dropped twice.
                entry.generation = entry.generation.wrapping_add(1);
                // SAFETY: a pending entry's value is initialised (see `release`); the entry
                // is no longer pending, so the value is not read or dropped again.
                unsafe { entry.value.assume_init_drop() }
            }
        }
    }
}

impl<T> Default for Timer<T> {
    fn default() -> Timer<T> {
        Timer::new()
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

/// Chunks that can be in use at once while at most `pending` timeouts are pending: records
/// are at most 8.5 times the pending timeouts (a list is compacted once more than 7/8 of the
/// records it counts are stale, and cascades move at most `pending / 2` stale records
/// unchecked), each chain of chunks has at most one partly filled chunk at each end, and a
/// cascade or compaction holds one chunk it is emptying (plus one record of slack: a re-filing
/// adds its new record before the old one is counted stale).
pub(crate) fn chunks_needed(pending: usize) -> usize {
    let records = pending.saturating_mul(9).saturating_add(1);
    (records / CHUNK)
        .saturating_add(records.min(LISTS + 1))
        .saturating_add(4)
}

/// The list a record filed at `deadline` is on at time `now`; see `Timer::list_of`.
#[inline(always)]
fn list_at(now: u64, deadline: u64) -> usize {
    if deadline <= now {
        return EXPIRED;
    }
    // The level is the base-64 digit of the highest bit where `deadline` and `now` differ
    // (`| DIGIT_MASK` keeps it at level 0 when only the lowest digit differs); a table gives
    // that level's first list and its digit's shift.
    let highest = 63 - ((now ^ deadline) | DIGIT_MASK).leading_zeros();
    let place = PLACES[highest as usize % 64];
    (place >> 8) as usize + ((deadline >> (place & 0xff)) & DIGIT_MASK) as usize
}

/// For each bit `h` of a tick: `(level * SLOTS) << 8 | level * LEVEL_BITS` for the level that
/// bit belongs to (`h / LEVEL_BITS`).
const PLACES: [u32; 64] = {
    let mut places = [0; 64];
    let mut h = 0;
    while h < 64 {
        let level = h / LEVEL_BITS as usize;
        places[h] = (((level * SLOTS) << 8) | (level * LEVEL_BITS as usize)) as u32;
        h += 1;
    }
    places
};

/// Digit `level` (base 64) of `tick`: its slot at that level.
#[inline]
fn digit(tick: u64, level: usize) -> u64 {
    (tick >> (level as u32 * LEVEL_BITS)) & DIGIT_MASK
}

/// The first tick of slot `slot` at `level`, in the level-wide span that contains `now`.
fn slot_start(now: u64, level: usize, slot: usize) -> u64 {
    let shift = level as u32 * LEVEL_BITS;
    // The bits above this level are shared with `now`; the top level has none (shift 66 > 64).
    let above = now.checked_shr(shift + LEVEL_BITS).unwrap_or(0);
    let above = above.checked_shl(shift + LEVEL_BITS).unwrap_or(0);
    above | ((slot as u64) << shift)
}
