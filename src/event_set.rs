//! [`EventSet`]: readiness interest and readiness reported.

use std::fmt;

/// A set of readiness flags: readable, writable, error, hup.
///
/// Used both as the *interest* given at registration (only readable and writable matter
/// there; error and hup are always reported) and as the *readiness* an [`IoEvent`] reports.
///
/// * **readable**: a read (or accept) may make progress.
/// * **writable**: a write (or a pending connect) may make progress.
/// * **error**: the socket has a pending error; fetch it with `take_socket_error`.
/// * **hup**: the peer closed: its write side (reading will reach EOF once drained), or both.
///
/// A healthy socket never reports stray error or hup bits.
///
/// # Portability
///
/// Only the readable and writable bits have the same meaning everywhere; treat error and hup as
/// hints and confirm them with the IO call that follows.
///
/// # Examples
///
/// ```
/// use ferrio::EventSet;
///
/// let interest = EventSet::readable() | EventSet::writable();
/// assert!(interest.is_readable() && interest.is_writable());
/// assert!(!interest.is_hup());
/// assert_eq!(interest - EventSet::writable(), EventSet::readable());
/// assert_eq!(!EventSet::readable(), EventSet::writable() | EventSet::error() | EventSet::hup());
/// assert_eq!(format!("{:?}", interest), "EventSet(Readable | Writable)");
/// ```
///
/// [`IoEvent`]: crate::IoEvent
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventSet(usize);

const READABLE: usize = 0b0001;
const WRITABLE: usize = 0b0010;
const ERROR: usize = 0b0100;
const HUP: usize = 0b1000;
const ALL: usize = READABLE | WRITABLE | ERROR | HUP;

impl EventSet {
    /// The empty set.
    #[inline]
    pub const fn none() -> EventSet {
        EventSet(0)
    }

    /// Readable readiness.
    #[inline]
    pub const fn readable() -> EventSet {
        EventSet(READABLE)
    }

    /// Writable readiness.
    #[inline]
    pub const fn writable() -> EventSet {
        EventSet(WRITABLE)
    }

    /// Error readiness: the source has a pending error.
    #[inline]
    pub const fn error() -> EventSet {
        EventSet(ERROR)
    }

    /// Hang-up: the peer closed its side (or both sides).
    #[inline]
    pub const fn hup() -> EventSet {
        EventSet(HUP)
    }

    /// Every flag.
    #[inline]
    pub const fn all() -> EventSet {
        EventSet(ALL)
    }

    /// Whether no flag is set.
    #[inline]
    pub const fn is_none(self) -> bool {
        self.0 == 0
    }

    /// Whether readable is set.
    #[inline]
    pub const fn is_readable(self) -> bool {
        self.0 & READABLE != 0
    }

    /// Whether writable is set.
    #[inline]
    pub const fn is_writable(self) -> bool {
        self.0 & WRITABLE != 0
    }

    /// Whether error is set.
    #[inline]
    pub const fn is_error(self) -> bool {
        self.0 & ERROR != 0
    }

    /// Whether hup is set.
    #[inline]
    pub const fn is_hup(self) -> bool {
        self.0 & HUP != 0
    }

    /// Whether every flag of `other` is set in `self`.
    #[inline]
    pub const fn contains(self, other: EventSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// Adds the flags of `other`.
    #[inline]
    pub fn insert(&mut self, other: EventSet) {
        self.0 |= other.0;
    }

    /// Removes the flags of `other`.
    #[inline]
    pub fn remove(&mut self, other: EventSet) {
        self.0 &= !other.0;
    }

    /// The raw bits (readable = 1, writable = 2, error = 4, hup = 8).
    #[inline]
    pub const fn bits(self) -> usize {
        self.0
    }

    /// Builds a set from raw bits, dropping unknown bits.
    #[inline]
    pub const fn from_bits_truncate(bits: usize) -> EventSet {
        EventSet(bits & ALL)
    }
}

impl_flag_ops!(EventSet, ALL);

impl fmt::Debug for EventSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (READABLE, "Readable"),
            (WRITABLE, "Writable"),
            (ERROR, "Error"),
            (HUP, "Hup"),
        ];
        crate::bitset::fmt_flags(f, "EventSet", self.0, &names, "None")
    }
}
