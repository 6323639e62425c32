//! A generational slab keyed by [`Token`].
//!
//! The slab is a `Vec` of slots reserved up front. A slot is occupied (holds a value), vacant
//! (linked into an intrusive free list through its `next_free` field) or retired (never used
//! again). Every slot counts its *generation*: the number of times a value has left it. A token
//! packs the slot's position and its generation, so a token whose value was removed stops
//! matching as soon as the removal bumps the generation, even after the slot is reused.
//!
//! Slots are pushed onto the `Vec` lazily, the first time the free list is empty, but never
//! beyond the reserved capacity, so `insert` and `remove` never allocate; only `grow` does
//! (and `insert_grow`, which calls it when the slab is full).
//!
//! The public contract (token layout, start offset, retirement) is documented on [`Slab`].

use std::fmt;
use std::iter::{Enumerate, FusedIterator};
use std::mem;
use std::ops::{Index, IndexMut};
use std::slice;

use crate::token::Token;

/// Bits of a token that hold the index field (the slot position plus the start offset): the
/// low half of a `usize`.
const INDEX_BITS: u32 = usize::BITS / 2;

/// Mask of the index field. The all-ones field value itself is never produced, which keeps
/// `Token(usize::MAX)` (the event loop's waker token) out of every slab.
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;

/// Highest generation a slot reaches; a slot whose value leaves at this generation is retired.
const MAX_GENERATION: usize = usize::MAX >> INDEX_BITS;

/// End of the free list.
const NO_SLOT: usize = usize::MAX;

/// A fixed-capacity map from [`Token`] to `T` whose keys are chosen by the slab.
///
/// The event loop identifies each registered source by a [`Token`]; a `Slab` keeps the state
/// that belongs to each token (a connection, a timer's payload, ...) and hands out the tokens.
/// Lookups are a bounds check and a generation compare; inserting and removing are O(1) and
/// never allocate: the memory for `capacity` values is reserved when the slab is created, and
/// only [`grow`](Slab::grow) allocates more. [`insert`](Slab::insert) hands the value back
/// when the slab is full; [`insert_grow`](Slab::insert_grow) grows it instead (doubling its
/// capacity, so a server need not size it up front), allocating only when it was full.
///
/// # Stale tokens never resolve
///
/// A slot can be reused after its value is removed, but its token cannot: every token carries
/// the *generation* of its slot, which changes each time a value leaves the slot (by
/// [`remove`](Slab::remove), [`retain`](Slab::retain) or [`clear`](Slab::clear)). A token of a
/// removed value therefore returns `None` from [`get`](Slab::get), [`remove`](Slab::remove) and
/// friends for the whole life of the slab, even when its slot holds a newer value. Note that
/// [`replace`](Slab::replace) swaps the value *in place*: the token stays valid and now refers to
/// the new value.
///
/// # Token layout
///
/// A token's `usize` is split in two halves (32 + 32 bits on 64-bit targets, 16 + 16 on 32-bit
/// targets):
///
/// ```text
///  high half                          low half
/// +----------------------------------+----------------------------------+
/// | generation of the slot           | start + slot index               |
/// +----------------------------------+----------------------------------+
/// ```
///
/// The first value placed in each slot has generation 0, so the first tokens a slab hands out
/// are exactly `start`, `start + 1`, ..., the same numbers the original `mio` slab produced.
/// The layout is documented so that token values can be reasoned about (for example when
/// logging them); it is not meant to be decoded by users.
///
/// On 32-bit targets the halves limit a slab to 65 535 values (minus its start) and 65 535
/// reuses of each slot (see below); 16 + 16 was preferred to a wider index field because slots
/// retire after fewer reuses as the generation field narrows.
///
/// # The start token and reserved tokens
///
/// [`new_starting_at(Token(n), capacity)`](Slab::new_starting_at) keeps the tokens `Token(0)`
/// to `Token(n - 1)` for the user's own fixed tokens (a listener's `Token(0)`, say). The exact
/// rule: every token the slab produces has a low half in `n..n + capacity` (where `capacity`
/// includes the slots added by [`grow`](Slab::grow)), hence its value is at least `n`. Tokens of
/// generation 0 lie in `n..n + capacity`; later generations lie at or above `1 << 32` (on
/// 64-bit targets). Tokens at or above `n` are not safe for fixed use, since the slab may
/// produce them. A token below `n` never resolves in the slab.
///
/// `Token(usize::MAX)` is never produced: it is reserved for the event loop's waker. The slab
/// guarantees this by keeping `start + capacity` at most `2^32 - 1` (on 64-bit targets; `2^16
/// - 1` on 32-bit), so the low half is never all ones.
///
/// # Generation exhaustion: slots retire
///
/// When the value of a slot whose generation has reached the maximum (`2^32 - 1` on 64-bit
/// targets, `2^16 - 1` on 32-bit) is removed, the slot is *retired*: it is never used again and
/// the slab's [`remaining`](Slab::remaining) room shrinks by one for good. Wrapping the
/// generation instead would let a very old token resolve to an unrelated value; retiring keeps
/// the promise that no stale token ever resolves. The slab as a whole can absorb
/// `capacity × 2^32` removals on 64-bit targets before all its slots retire, which no real
/// workload reaches. On 32-bit targets the budget is `capacity × 2^16` removals: a long-running
/// program with heavy churn there should watch [`remaining`](Slab::remaining) and
/// [`grow`](Slab::grow) the slab when needed.
///
/// # Indexing
///
/// `slab[token]` and `slab[token] = value` panic if the token is not (or no longer) in the
/// slab, like indexing a `slice` out of bounds; [`get`](Slab::get) and
/// [`get_mut`](Slab::get_mut) return an `Option` instead. No other method panics after
/// construction, except [`grow`](Slab::grow) past the token layout's limit.
///
/// # Implementation notes
///
/// The slab is a `Vec` of slots whose memory is reserved up front. A slot is occupied, vacant
/// (linked into a free list through the vacant slots themselves, so the list needs no memory of
/// its own) or retired. Inserting pops the free list, or takes the next never-used slot;
/// removing bumps the slot's generation and pushes it on the free list. Lookups check that the
/// token's generation equals the slot's and that the slot is occupied. Iteration walks every
/// slot created so far, so it costs O(highest slot used), not O(count).
///
/// # Examples
///
/// ```
/// use ferrio::Token;
/// use ferrio::util::Slab;
///
/// const LISTENER: Token = Token(0);
///
/// // Connection tokens start at 1, leaving Token(0) for the listener.
/// let mut connections = Slab::new_starting_at(Token(1), 2);
///
/// let a = connections.insert("alice").unwrap();
/// let b = connections.insert("bob").unwrap();
/// assert_eq!(a, Token(1));
/// assert_eq!(b, Token(2));
/// assert!(!connections.contains(LISTENER));
///
/// // The slab is full: the value comes back.
/// assert_eq!(connections.insert("carol"), Err("carol"));
///
/// // Removing frees the slot; the old token stays dead after the slot is reused.
/// assert_eq!(connections.remove(a), Some("alice"));
/// let c = connections.insert("carol").unwrap();
/// assert_ne!(c, a);
/// assert_eq!(connections.get(a), None);
/// assert_eq!(connections[c], "carol");
/// ```
pub struct Slab<T> {
    /// Slots created so far; never longer than `capacity`.
    slots: Vec<Slot<T>>,
    /// Index field value of slot 0.
    start: usize,
    /// Number of slots reserved (created or not).
    capacity: usize,
    /// Occupied slots.
    count: usize,
    /// Retired slots.
    retired: usize,
    /// Head of the free list of vacant slots, or `NO_SLOT`.
    free_head: usize,
    /// Generation at which a slot retires; `MAX_GENERATION` except in tests.
    max_generation: usize,
}

struct Slot<T> {
    /// Generation of the slot's current value, or of its next value when it is vacant.
    generation: usize,
    state: State<T>,
}

enum State<T> {
    Occupied(T),
    Vacant { next_free: usize },
    Retired,
}

impl<T> Slab<T> {
    /// Creates a slab that can hold `capacity` values, with tokens starting at `Token(0)`.
    ///
    /// Memory for all `capacity` values is allocated here.
    ///
    /// # Panics
    ///
    /// Panics if `capacity` does not fit the token layout: it must be below `2^32 - 1` on
    /// 64-bit targets (`2^16 - 1` on 32-bit targets). See the [type docs](Slab).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::util::Slab;
    ///
    /// let slab: Slab<u32> = Slab::new(1024);
    /// assert_eq!(slab.capacity(), 1024);
    /// assert_eq!(slab.remaining(), 1024);
    /// ```
    pub fn new(capacity: usize) -> Slab<T> {
        Slab::new_starting_at(Token(0), capacity)
    }

    /// Creates a slab that can hold `capacity` values whose first tokens are `start`,
    /// `start + 1`, ...
    ///
    /// Tokens below `start` are never produced and never resolve, so they are free for the
    /// user's own fixed tokens. Memory for all `capacity` values is allocated here.
    ///
    /// # Panics
    ///
    /// Panics if `start.0 + capacity` exceeds `2^32 - 1` on 64-bit targets (`2^16 - 1` on
    /// 32-bit targets): the index field of a token could not hold every slot. See the
    /// [type docs](Slab) for the layout.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::Token;
    /// use ferrio::util::Slab;
    ///
    /// let mut slab = Slab::new_starting_at(Token(10), 4);
    /// assert_eq!(slab.insert('x'), Ok(Token(10)));
    /// assert_eq!(slab.get(Token(0)), None);
    /// ```
    pub fn new_starting_at(start: Token, capacity: usize) -> Slab<T> {
        let start = start.0;
        check_fits(start, capacity);
        Slab {
            slots: Vec::with_capacity(capacity),
            start,
            capacity,
            count: 0,
            retired: 0,
            free_head: NO_SLOT,
            max_generation: MAX_GENERATION,
        }
    }

    /// Like `new_starting_at`, with slots retiring at `max_generation` so tests can reach it.
    #[cfg(test)]
    pub(crate) fn with_max_generation(
        start: Token,
        capacity: usize,
        max_generation: usize,
    ) -> Slab<T> {
        assert!(max_generation <= MAX_GENERATION);
        Slab {
            max_generation,
            ..Slab::new_starting_at(start, capacity)
        }
    }

    /// Returns the number of values the slab can hold in total: the capacity given at
    /// construction plus every [`grow`](Slab::grow).
    ///
    /// Retired slots still count here; [`remaining`](Slab::remaining) excludes them.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Returns the number of values in the slab.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Returns `true` if the slab holds no value.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Returns how many more values can be inserted before the slab is full.
    ///
    /// This is `capacity() - count()` minus the number of retired slots. A slot retires only
    /// after `2^32` reuses on 64-bit targets (`2^16` on 32-bit targets); see the
    /// [type docs](Slab).
    pub fn remaining(&self) -> usize {
        self.capacity - self.count - self.retired
    }

    /// Returns `true` if [`remaining`](Slab::remaining) is not zero: an
    /// [`insert`](Slab::insert) would succeed (mio 0.5's `has_remaining`).
    pub fn has_remaining(&self) -> bool {
        self.remaining() > 0
    }

    /// Returns `true` if `token` refers to a value in the slab.
    pub fn contains(&self, token: Token) -> bool {
        self.get(token).is_some()
    }

    /// Returns a reference to the value of `token`, or `None` if the token is not (or no
    /// longer) in the slab.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::util::Slab;
    ///
    /// let mut slab = Slab::new(4);
    /// let token = slab.insert(7).unwrap();
    /// assert_eq!(slab.get(token), Some(&7));
    /// slab.remove(token);
    /// assert_eq!(slab.get(token), None);
    /// ```
    pub fn get(&self, token: Token) -> Option<&T> {
        let (index, generation) = self.decode(token)?;
        match self.slots.get(index) {
            Some(Slot {
                generation: current,
                state: State::Occupied(value),
            }) if *current == generation => Some(value),
            _ => None,
        }
    }

    /// Returns a mutable reference to the value of `token`, or `None` if the token is not (or
    /// no longer) in the slab.
    pub fn get_mut(&mut self, token: Token) -> Option<&mut T> {
        let (index, generation) = self.decode(token)?;
        match self.slots.get_mut(index) {
            Some(Slot {
                generation: current,
                state: State::Occupied(value),
            }) if *current == generation => Some(value),
            _ => None,
        }
    }

    /// Inserts `value` and returns its token.
    ///
    /// Never allocates. Slots freed by removals are reused most recently freed first, with a
    /// new generation, so the new token differs from every token handed out before.
    ///
    /// # Errors
    ///
    /// Returns `Err(value)`, giving the value back untouched, when the slab is full
    /// ([`remaining`](Slab::remaining) is zero).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::util::Slab;
    ///
    /// let mut slab = Slab::new(1);
    /// let token = slab.insert(String::from("first")).unwrap();
    /// let rejected = slab.insert(String::from("second"));
    /// assert_eq!(rejected, Err(String::from("second")));
    /// assert_eq!(slab[token], "first");
    /// ```
    pub fn insert(&mut self, value: T) -> Result<Token, T> {
        match self.next_vacant() {
            Some(index) => Ok(self.occupy(index, value)),
            None => Err(value),
        }
    }

    /// Inserts `value`, growing the slab first if it is full, and returns its token.
    ///
    /// This is the insert for a server that must not drop connections because it forgot to
    /// [`grow`](Slab::grow): when [`remaining`](Slab::remaining) is zero, the capacity is
    /// doubled (grown by the current capacity, and by at least [`MIN_GROWTH`](Slab::MIN_GROWTH)
    /// slots), but never past the token layout's limit (see the [type docs](Slab)). Growth
    /// is amortised O(1) per insert, like `Vec::push`.
    ///
    /// # Allocation
    ///
    /// Allocates only when the slab was full on entry, exactly as [`grow`](Slab::grow) would;
    /// an insert that finds room (a freed slot or an untouched reserved one) never allocates,
    /// like [`insert`](Slab::insert). Growing may move the values in memory.
    ///
    /// # Tokens
    ///
    /// Growing keeps every token valid and every stale token stale: existing slots keep their
    /// positions and generations, and the new slots get tokens following the existing ones
    /// (their first tokens are `start + old capacity`, `start + old capacity + 1`, ...). The
    /// new token differs from every token handed out before, as with `insert`.
    ///
    /// # Errors
    ///
    /// Returns `Err(value)`, giving the value back untouched, only when the slab is full and
    /// cannot grow: `start + capacity` has reached the token index limit (`2^32 - 1` on
    /// 64-bit targets, `2^16 - 1` on 32-bit targets) and every slot is occupied or retired.
    /// Unlike `grow`, this method never panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::Token;
    /// use ferrio::util::Slab;
    ///
    /// let mut connections = Slab::new_starting_at(Token(1), 0);
    /// let tokens: Vec<Token> = (0..100).map(|n| connections.insert_grow(n).unwrap()).collect();
    /// assert_eq!(tokens[0], Token(1));
    /// assert_eq!(tokens[99], Token(100));
    /// assert_eq!(connections.count(), 100);
    /// assert!(connections.capacity() >= 100);
    /// ```
    pub fn insert_grow(&mut self, value: T) -> Result<Token, T> {
        if self.next_vacant().is_none() && !self.grow_for_insert() {
            return Err(value);
        }
        self.insert(value)
    }

    /// The least number of slots [`insert_grow`](Slab::insert_grow) adds when it grows a full
    /// slab (it adds the current capacity when that is more).
    pub const MIN_GROWTH: usize = 16;

    /// Grows a full slab for `insert_grow`: by `max(capacity, MIN_GROWTH)`, capped at the
    /// token layout's limit. Returns `false` if there is no room left to grow into.
    #[cold]
    fn grow_for_insert(&mut self) -> bool {
        let limit = INDEX_MASK - self.start;
        let room = limit - self.capacity;
        let additional = self.capacity.max(Self::MIN_GROWTH).min(room);
        if additional == 0 {
            return false;
        }
        self.grow(additional);
        true
    }

    /// Inserts the value returned by `make`, which is given the value's token first, and
    /// returns that token.
    ///
    /// This lets a value know its own token (a connection that registers itself, say). Returns
    /// `None` without calling `make` when the slab is full. If `make` panics, the slab is left
    /// unchanged. Never allocates.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::Token;
    /// use ferrio::util::Slab;
    ///
    /// struct Connection {
    ///     token: Token,
    /// }
    ///
    /// let mut slab = Slab::new(8);
    /// let token = slab.insert_with(|token| Connection { token }).unwrap();
    /// assert_eq!(slab[token].token, token);
    /// ```
    pub fn insert_with<F>(&mut self, make: F) -> Option<Token>
    where
        F: FnOnce(Token) -> T,
    {
        let index = self.next_vacant()?;
        let generation = self.slots.get(index).map_or(0, |slot| slot.generation);
        let value = make(encode(self.start, index, generation));
        Some(self.occupy(index, value))
    }

    /// Removes the value of `token` and returns it, or returns `None` if the token is not (or
    /// no longer) in the slab.
    ///
    /// The token, and every earlier token of the same slot, never resolves again. Never
    /// allocates.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::util::Slab;
    ///
    /// let mut slab = Slab::new(4);
    /// let token = slab.insert("value").unwrap();
    /// assert_eq!(slab.remove(token), Some("value"));
    /// assert_eq!(slab.remove(token), None);
    /// ```
    pub fn remove(&mut self, token: Token) -> Option<T> {
        let index = self.resolve(token)?;
        Some(self.vacate(index))
    }

    /// Puts `value` in place of the value of `token` and returns the old value, or returns
    /// `None` if `token` is not (or no longer) in the slab, in which case `value` is dropped.
    ///
    /// This is mio 0.5's `replace`. The token stays valid and refers to the new value. To get
    /// `value` back when the token is stale, use [`try_replace`](Slab::try_replace).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::util::Slab;
    ///
    /// let mut slab = Slab::new(4);
    /// let token = slab.insert(1).unwrap();
    /// assert_eq!(slab.replace(token, 2), Some(1));
    /// assert_eq!(slab[token], 2);
    ///
    /// slab.remove(token);
    /// assert_eq!(slab.replace(token, 3), None);
    /// ```
    pub fn replace(&mut self, token: Token, value: T) -> Option<T> {
        self.try_replace(token, value).ok()
    }

    /// Puts `value` in place of the value of `token` and returns the old value, or hands
    /// `value` back as `Err` if `token` is not (or no longer) in the slab.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::util::Slab;
    ///
    /// let mut slab = Slab::new(4);
    /// let token = slab.insert(1).unwrap();
    /// assert_eq!(slab.try_replace(token, 2), Ok(1));
    /// assert_eq!(slab[token], 2);
    ///
    /// slab.remove(token);
    /// assert_eq!(slab.try_replace(token, 3), Err(3));
    /// ```
    pub fn try_replace(&mut self, token: Token, value: T) -> Result<T, T> {
        match self.get_mut(token) {
            Some(slot_value) => Ok(mem::replace(slot_value, value)),
            None => Err(value),
        }
    }

    /// Passes the value of `token` by value to `update` and puts back what it returns: with
    /// `Some(new)` the token stays valid and refers to `new`; with `None` the entry is removed
    /// (the token goes stale). Returns `Err(())` if `token` is not (or no longer) in the slab,
    /// without calling `update`.
    ///
    /// This is mio 0.5's `replace_with`, made for state machines kept in the slab (a value
    /// that moves from one state to the next by value). If `update` panics, the value it was
    /// given is gone and the entry is removed, as by [`remove`](Slab::remove); the slab stays
    /// consistent.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::util::Slab;
    ///
    /// #[derive(Debug)]
    /// enum Conn { Handshake(u32), Open(u32) }
    ///
    /// let mut slab = Slab::new(4);
    /// let token = slab.insert(Conn::Handshake(7)).unwrap();
    /// slab.replace_with(token, |conn| match conn {
    ///     Conn::Handshake(id) => Some(Conn::Open(id)),
    ///     open => Some(open),
    /// }).unwrap();
    /// assert!(matches!(slab[token], Conn::Open(7)));
    ///
    /// // None removes the entry.
    /// slab.replace_with(token, |_| None).unwrap();
    /// assert!(!slab.contains(token));
    /// assert_eq!(slab.replace_with(token, Some), Err(()));
    /// ```
    #[allow(clippy::result_unit_err)] // mio 0.5's signature
    pub fn replace_with<F>(&mut self, token: Token, update: F) -> Result<(), ()>
    where
        F: FnOnce(T) -> Option<T>,
    {
        let index = self.resolve(token).ok_or(())?;
        // Vacated first, so a panicking `update` leaves the slab as a `remove` would.
        let value = self.vacate(index);
        if let Some(new) = update(value) {
            self.reoccupy(index, new);
        }
        Ok(())
    }

    /// Keeps only the values for which `keep` returns `true`; the others are removed (their
    /// tokens go stale) and dropped.
    ///
    /// This is mio 0.5's `retain`, which sees the values only;
    /// [`retain_entries`](Slab::retain_entries) also passes each token and a mutable reference.
    /// Values are
    /// visited once each, in slot order, which is the order of [`iter`](Slab::iter). If `keep`
    /// or a value's destructor panics, the values visited so far have been kept or removed and
    /// the slab is consistent.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::util::Slab;
    ///
    /// let mut slab = Slab::new(8);
    /// for n in 0..8 {
    ///     slab.insert(n).unwrap();
    /// }
    /// slab.retain(|n| *n % 2 == 0);
    /// assert_eq!(slab.count(), 4);
    /// assert!(slab.iter().all(|n| n % 2 == 0));
    /// ```
    pub fn retain<F>(&mut self, mut keep: F)
    where
        F: FnMut(&T) -> bool,
    {
        self.retain_entries(|_, value| keep(value));
    }

    /// Keeps only the entries for which `keep(token, &mut value)` returns `true`; the others
    /// are removed (their tokens go stale) and dropped.
    ///
    /// Like [`retain`](Slab::retain), with each value's token, and the value mutable.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::util::Slab;
    ///
    /// let mut slab = Slab::new(8);
    /// for n in 0..8 {
    ///     slab.insert(n).unwrap();
    /// }
    /// slab.retain_entries(|token, n| {
    ///     *n += 100;
    ///     token.0 % 2 == 0
    /// });
    /// assert_eq!(slab.count(), 4);
    /// assert!(slab.entries().all(|(token, n)| *n == token.0 + 100));
    /// ```
    pub fn retain_entries<F>(&mut self, mut keep: F)
    where
        F: FnMut(Token, &mut T) -> bool,
    {
        for index in 0..self.slots.len() {
            let slot = &mut self.slots[index];
            if let State::Occupied(value) = &mut slot.state {
                if !keep(encode(self.start, index, slot.generation), value) {
                    drop(self.vacate(index));
                }
            }
        }
    }

    /// Removes and drops every value; all tokens handed out so far go stale.
    ///
    /// The capacity is kept (nothing is freed), so later inserts still do not allocate. Values
    /// are dropped from the highest slot to the lowest; if a destructor panics, the values not
    /// yet dropped stay in the slab, which is consistent.
    pub fn clear(&mut self) {
        // Vacating from the top down leaves the lowest slot at the head of the free list.
        for index in (0..self.slots.len()).rev() {
            if let State::Occupied(_) = self.slots[index].state {
                drop(self.vacate(index));
            }
        }
    }

    /// Reserves room for `additional` more values.
    ///
    /// This is the only method that allocates (it may move the values in memory; tokens stay
    /// valid). The new slots get tokens following the existing ones.
    ///
    /// # Panics
    ///
    /// Panics if the new capacity would not fit the token layout (`start + capacity` above
    /// `2^32 - 1` on 64-bit targets, `2^16 - 1` on 32-bit targets); see the [type docs](Slab).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::util::Slab;
    ///
    /// let mut slab = Slab::new(1);
    /// slab.insert(1).unwrap();
    /// assert!(slab.insert(2).is_err());
    /// slab.grow(1);
    /// assert!(slab.insert(2).is_ok());
    /// ```
    pub fn grow(&mut self, additional: usize) {
        let capacity = self.capacity.checked_add(additional);
        let capacity = match capacity {
            Some(capacity) => capacity,
            None => panic!("Slab::grow: capacity overflows usize"),
        };
        check_fits(self.start, capacity);
        self.slots.reserve_exact(capacity - self.slots.len());
        self.capacity = capacity;
    }

    /// Returns an iterator over the values, in slot order (mio 0.5's `iter`).
    ///
    /// Slot order is the order of the tokens' low halves, not of insertion. To get each
    /// value's token too, use [`entries`](Slab::entries).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::util::Slab;
    ///
    /// let mut slab = Slab::new(4);
    /// slab.insert(2).unwrap();
    /// slab.insert(3).unwrap();
    /// assert_eq!(slab.iter().sum::<i32>(), 5);
    /// for value in &slab {
    ///     assert!(*value > 1);
    /// }
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter(self.entries())
    }

    /// Returns an iterator over mutable references to the values, in slot order (mio 0.5's
    /// `iter_mut`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::util::Slab;
    ///
    /// let mut slab = Slab::new(4);
    /// let token = slab.insert(1).unwrap();
    /// for value in slab.iter_mut() {
    ///     *value += 10;
    /// }
    /// for value in &mut slab {
    ///     *value += 1;
    /// }
    /// assert_eq!(slab[token], 12);
    /// ```
    pub fn iter_mut(&mut self) -> IterMut<'_, T> {
        IterMut(self.entries_mut())
    }

    /// Returns an iterator over the tokens and values, in slot order.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::Token;
    /// use ferrio::util::Slab;
    ///
    /// let mut slab = Slab::new_starting_at(Token(1), 4);
    /// slab.insert("a").unwrap();
    /// slab.insert("b").unwrap();
    /// let entries: Vec<_> = slab.entries().collect();
    /// assert_eq!(entries, [(Token(1), &"a"), (Token(2), &"b")]);
    /// ```
    pub fn entries(&self) -> Entries<'_, T> {
        Entries {
            slots: self.slots.iter().enumerate(),
            start: self.start,
            remaining: self.count,
        }
    }

    /// Returns an iterator over the tokens and mutable references to the values, in slot
    /// order.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::util::Slab;
    ///
    /// let mut slab = Slab::new(4);
    /// let token = slab.insert(1).unwrap();
    /// for (t, value) in slab.entries_mut() {
    ///     assert_eq!(t, token);
    ///     *value += 10;
    /// }
    /// assert_eq!(slab[token], 11);
    /// ```
    pub fn entries_mut(&mut self) -> EntriesMut<'_, T> {
        EntriesMut {
            slots: self.slots.iter_mut().enumerate(),
            start: self.start,
            remaining: self.count,
        }
    }

    /// Splits a token into a slot index and generation, if its index field is in range.
    fn decode(&self, token: Token) -> Option<(usize, usize)> {
        let index = (token.0 & INDEX_MASK).checked_sub(self.start)?;
        Some((index, token.0 >> INDEX_BITS))
    }

    /// Returns the slot index of an occupied token.
    fn resolve(&self, token: Token) -> Option<usize> {
        let (index, generation) = self.decode(token)?;
        match self.slots.get(index) {
            Some(Slot {
                generation: current,
                state: State::Occupied(_),
            }) if *current == generation => Some(index),
            _ => None,
        }
    }

    /// The slot the next insert will use, if the slab is not full.
    fn next_vacant(&self) -> Option<usize> {
        if self.free_head != NO_SLOT {
            Some(self.free_head)
        } else if self.slots.len() < self.capacity {
            Some(self.slots.len())
        } else {
            None
        }
    }

    /// Puts `value` into the slot returned by `next_vacant`.
    fn occupy(&mut self, index: usize, value: T) -> Token {
        let generation = if index == self.slots.len() {
            // Within the reserved capacity, so this push does not allocate.
            self.slots.push(Slot {
                generation: 0,
                state: State::Occupied(value),
            });
            0
        } else {
            let slot = &mut self.slots[index];
            match mem::replace(&mut slot.state, State::Occupied(value)) {
                State::Vacant { next_free } => self.free_head = next_free,
                _ => unreachable!("the slab's free list points at a slot that is not vacant"),
            }
            slot.generation
        };
        self.count += 1;
        encode(self.start, index, generation)
    }

    /// Undoes the `vacate(index)` just made (nothing else touched the slab since): the slot
    /// gets `value` back at its old generation, so its token is valid again.
    fn reoccupy(&mut self, index: usize, value: T) {
        let slot = &mut self.slots[index];
        match mem::replace(&mut slot.state, State::Occupied(value)) {
            State::Vacant { next_free } => {
                // `vacate` pushed the slot on the free list and bumped its generation.
                debug_assert_eq!(self.free_head, index);
                self.free_head = next_free;
                slot.generation -= 1;
            }
            State::Retired => self.retired -= 1,
            State::Occupied(_) => unreachable!("reoccupied a slab slot that was occupied"),
        }
        self.count += 1;
    }

    /// Takes the value out of an occupied slot, then frees or retires the slot.
    fn vacate(&mut self, index: usize) -> T {
        let slot = &mut self.slots[index];
        let state = if slot.generation >= self.max_generation {
            self.retired += 1;
            State::Retired
        } else {
            slot.generation += 1;
            let next_free = mem::replace(&mut self.free_head, index);
            State::Vacant { next_free }
        };
        self.count -= 1;
        match mem::replace(&mut slot.state, state) {
            State::Occupied(value) => value,
            _ => unreachable!("vacated a slab slot that was not occupied"),
        }
    }
}

/// Builds the token of slot `index` at `generation`.
fn encode(start: usize, index: usize, generation: usize) -> Token {
    Token((generation << INDEX_BITS) | (start + index))
}

/// Panics unless every slot of a slab with this start and capacity has an index field below
/// the reserved all-ones value.
fn check_fits(start: usize, capacity: usize) {
    match start.checked_add(capacity) {
        Some(end) if end <= INDEX_MASK => {}
        _ => panic!(
            "Slab: start {start} + capacity {capacity} exceeds the token index limit {INDEX_MASK}"
        ),
    }
}

impl<T> Index<Token> for Slab<T> {
    type Output = T;

    /// Returns the value of `token`.
    ///
    /// # Panics
    ///
    /// Panics if `token` is not (or no longer) in the slab; use [`Slab::get`] to get an
    /// `Option` instead.
    fn index(&self, token: Token) -> &T {
        match self.get(token) {
            Some(value) => value,
            None => panic!("invalid slab token: {token:?}"),
        }
    }
}

impl<T> IndexMut<Token> for Slab<T> {
    /// Returns the value of `token` mutably.
    ///
    /// # Panics
    ///
    /// Panics if `token` is not (or no longer) in the slab; use [`Slab::get_mut`] to get an
    /// `Option` instead.
    fn index_mut(&mut self, token: Token) -> &mut T {
        match self.get_mut(token) {
            Some(value) => value,
            None => panic!("invalid slab token: {token:?}"),
        }
    }
}

/// Shows the slab's shape (start, count, capacity, remaining), not the values: like mio 0.5's
/// slab, it needs no `T: Debug`, so a `#[derive(Debug)]` struct may hold a slab of anything.
/// `slab.entries()` gives the tokens and values to print them.
impl<T> fmt::Debug for Slab<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slab")
            .field("start", &Token(self.start))
            .field("count", &self.count)
            .field("capacity", &self.capacity)
            .field("remaining", &self.remaining())
            .finish_non_exhaustive()
    }
}

impl<'a, T> IntoIterator for &'a Slab<T> {
    type Item = &'a T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<'a, T> IntoIterator for &'a mut Slab<T> {
    type Item = &'a mut T;
    type IntoIter = IterMut<'a, T>;

    fn into_iter(self) -> IterMut<'a, T> {
        self.iter_mut()
    }
}

/// Iterator over the tokens and values of a [`Slab`], in slot order; see [`Slab::entries`].
pub struct Entries<'a, T> {
    slots: Enumerate<slice::Iter<'a, Slot<T>>>,
    start: usize,
    /// Occupied slots not yet yielded.
    remaining: usize,
}

impl<'a, T> Iterator for Entries<'a, T> {
    type Item = (Token, &'a T);

    fn next(&mut self) -> Option<Self::Item> {
        for (index, slot) in &mut self.slots {
            if let State::Occupied(value) = &slot.state {
                self.remaining -= 1;
                return Some((encode(self.start, index, slot.generation), value));
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T> ExactSizeIterator for Entries<'_, T> {}

impl<T> FusedIterator for Entries<'_, T> {}

impl<T> fmt::Debug for Entries<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entries")
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

/// Iterator over the tokens and mutable values of a [`Slab`], in slot order; see
/// [`Slab::entries_mut`].
pub struct EntriesMut<'a, T> {
    slots: Enumerate<slice::IterMut<'a, Slot<T>>>,
    start: usize,
    /// Occupied slots not yet yielded.
    remaining: usize,
}

impl<'a, T> Iterator for EntriesMut<'a, T> {
    type Item = (Token, &'a mut T);

    fn next(&mut self) -> Option<Self::Item> {
        for (index, slot) in &mut self.slots {
            if let State::Occupied(value) = &mut slot.state {
                self.remaining -= 1;
                return Some((encode(self.start, index, slot.generation), value));
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T> ExactSizeIterator for EntriesMut<'_, T> {}

impl<T> FusedIterator for EntriesMut<'_, T> {}

impl<T> fmt::Debug for EntriesMut<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntriesMut")
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

/// Iterator over the values of a [`Slab`], in slot order; see [`Slab::iter`].
pub struct Iter<'a, T>(Entries<'a, T>);

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        self.0.next().map(|(_, value)| value)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<T> ExactSizeIterator for Iter<'_, T> {}

impl<T> FusedIterator for Iter<'_, T> {}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("remaining", &self.0.remaining)
            .finish_non_exhaustive()
    }
}

/// Iterator over mutable references to the values of a [`Slab`], in slot order; see
/// [`Slab::iter_mut`].
pub struct IterMut<'a, T>(EntriesMut<'a, T>);

impl<'a, T> Iterator for IterMut<'a, T> {
    type Item = &'a mut T;

    fn next(&mut self) -> Option<&'a mut T> {
        self.0.next().map(|(_, value)| value)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<T> ExactSizeIterator for IterMut<'_, T> {}

impl<T> FusedIterator for IterMut<'_, T> {}

impl<T> fmt::Debug for IterMut<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IterMut")
            .field("remaining", &self.0.remaining)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
