//! [`EventSet`]: readiness interest and readiness reported, and the readiness predicates of
//! [`IoEvent`].

use std::fmt;

use crate::event::IoEvent;

/// A set of readiness flags: readable, writable, error, hup, and the finer-grained
/// read-closed, write-closed and priority.
///
/// Used both as the *interest* given at registration (readable, writable and priority matter
/// there; error, hup and the closed flags are always reported) and as the *readiness* an
/// [`IoEvent`] reports.
///
/// * **readable**: a read (or accept) may make progress.
/// * **writable**: a write (or a pending connect) may make progress.
/// * **error**: the socket has a pending error; fetch it with `take_error`.
/// * **hup**: the peer closed: its write side (reading will reach EOF once drained), or both.
///   This is mio 0.5's meaning, kept: set whenever read-closed is.
/// * **read_closed**: the read side is closed (the peer shut down writing, or closed the
///   connection, or this side shut down reading): reads return what is left, then EOF.
/// * **write_closed**: the write side is closed: writes fail (`BrokenPipe`). Set on a hang-up
///   of both directions, a reset, or an error reported together with writable (a pipe whose
///   reader is gone).
/// * **priority**: out-of-band (TCP urgent) or other priority data is waiting (`EPOLLPRI`);
///   reported together with readable.
///
/// A healthy socket never reports stray error, hup or closed bits.
///
/// # Bits
///
/// [`bits`](Self::bits) gives mio 0.5's values for the original four flags: readable `0x1`,
/// writable `0x2`, error `0x4`, hup `0x8` (and [`PollOpt`](crate::PollOpt)'s edge/level/oneshot
/// are `0x20`/`0x40`/`0x80`, so the two never overlap). The flags mio 0.5 did not have use
/// higher bits: priority `0x100`, read-closed `0x200`, write-closed `0x400`. They are not part
/// of [`all`](Self::all), and `!` does not produce them, so code written for mio 0.5 (which
/// uses `all()` and `!` as "every readiness") sees exactly the original values.
///
/// # Portability
///
/// Only the readable and writable bits have the same meaning everywhere; treat error, hup and
/// the closed bits as hints and confirm them with the IO call that follows. On Linux,
/// shutting down this side's writing (`shutdown(Write)`) or the peer shutting down its reading
/// (`shutdown(Read)`) is not reported at all (there is no such notification; the next write
/// fails with `BrokenPipe` or resets). An error on a datagram socket (a queued ICMP error)
/// registered for writable also reads as write-closed. Priority is reported only for a
/// registration whose interest includes [`priority`](Self::priority) (`EPOLLPRI`, `POLLPRI`:
/// epoll and poll(2) report it only when asked), so a level-triggered reader that never reads
/// out-of-band data is not woken forever by an urgent byte it did not ask about.
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
///
/// // mio 0.5's bit values.
/// assert_eq!(EventSet::all().bits(), 0xf);
/// assert_eq!(EventSet::read_closed().bits(), 0x200);
/// let closed = EventSet::readable() | EventSet::hup() | EventSet::read_closed();
/// assert!(closed.is_read_closed() && !closed.is_write_closed());
/// assert_eq!(format!("{:?}", closed), "EventSet(Readable | Hup | ReadClosed)");
/// ```
///
/// [`IoEvent`]: crate::IoEvent
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventSet(usize);

const READABLE: usize = 0x001;
const WRITABLE: usize = 0x002;
const ERROR: usize = 0x004;
const HUP: usize = 0x008;
/// mio 0.5's `all()`: what `!` masks to.
const ALL: usize = READABLE | WRITABLE | ERROR | HUP;
const PRIORITY: usize = 0x100;
const READ_CLOSED: usize = 0x200;
const WRITE_CLOSED: usize = 0x400;
/// Every flag ferrio knows.
const KNOWN: usize = ALL | PRIORITY | READ_CLOSED | WRITE_CLOSED;

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

    /// Read-closed: the read side is closed; reads return the rest of the data, then EOF.
    ///
    /// Always reported with [`hup`](Self::hup). Not in [`all`](Self::all).
    #[inline]
    pub const fn read_closed() -> EventSet {
        EventSet(READ_CLOSED)
    }

    /// Write-closed: the write side is closed; writes fail with `BrokenPipe`.
    ///
    /// Not in [`all`](Self::all). See the type's docs for what Linux reports.
    #[inline]
    pub const fn write_closed() -> EventSet {
        EventSet(WRITE_CLOSED)
    }

    /// Priority: out-of-band or other priority data is waiting (`EPOLLPRI`, `POLLPRI`),
    /// reported together with readable. Not in [`all`](Self::all).
    ///
    /// As an interest it asks for priority readiness (`EPOLLPRI`, `POLLPRI`); readable
    /// interest alone does not.
    #[inline]
    pub const fn priority() -> EventSet {
        EventSet(PRIORITY)
    }

    /// The four flags of mio 0.5: readable, writable, error and hup (bits `0xf`).
    ///
    /// Read-closed, write-closed and priority are not included, so `all().bits()` is the
    /// original's value.
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

    /// Whether read-closed is set.
    #[inline]
    pub const fn is_read_closed(self) -> bool {
        self.0 & READ_CLOSED != 0
    }

    /// Whether write-closed is set.
    #[inline]
    pub const fn is_write_closed(self) -> bool {
        self.0 & WRITE_CLOSED != 0
    }

    /// Whether priority is set.
    #[inline]
    pub const fn is_priority(self) -> bool {
        self.0 & PRIORITY != 0
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

    /// The raw bits: readable `0x1`, writable `0x2`, error `0x4`, hup `0x8` (mio 0.5's
    /// values), priority `0x100`, read-closed `0x200`, write-closed `0x400`.
    #[inline]
    pub const fn bits(self) -> usize {
        self.0
    }

    /// Builds a set from raw bits (the values of [`bits`](Self::bits)), dropping unknown bits.
    #[inline]
    pub const fn from_bits_truncate(bits: usize) -> EventSet {
        EventSet(bits & KNOWN)
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
            (READ_CLOSED, "ReadClosed"),
            (WRITE_CLOSED, "WriteClosed"),
            (PRIORITY, "Priority"),
        ];
        crate::bitset::fmt_flags(f, "EventSet", self.0, &names, "None")
    }
}

/// Readiness predicates of an event, as mio 1.x users know them: shorthand for the same
/// predicates on [`IoEvent::kind`].
///
/// # Examples
///
/// ```
/// use ferrio::{EventSet, IoEvent, Token};
///
/// let ev = IoEvent::new(EventSet::readable() | EventSet::hup() | EventSet::read_closed(), Token(1));
/// assert!(ev.is_readable() && ev.is_hup() && ev.is_read_closed());
/// assert!(!ev.is_writable() && !ev.is_write_closed() && !ev.is_error() && !ev.is_priority());
/// ```
impl IoEvent {
    /// Whether the source is readable ([`EventSet::is_readable`]).
    #[inline]
    pub fn is_readable(&self) -> bool {
        self.kind.is_readable()
    }

    /// Whether the source is writable ([`EventSet::is_writable`]).
    #[inline]
    pub fn is_writable(&self) -> bool {
        self.kind.is_writable()
    }

    /// Whether the source has a pending error ([`EventSet::is_error`]).
    #[inline]
    pub fn is_error(&self) -> bool {
        self.kind.is_error()
    }

    /// Whether the peer hung up ([`EventSet::is_hup`]).
    #[inline]
    pub fn is_hup(&self) -> bool {
        self.kind.is_hup()
    }

    /// Whether the read side is closed ([`EventSet::is_read_closed`]).
    #[inline]
    pub fn is_read_closed(&self) -> bool {
        self.kind.is_read_closed()
    }

    /// Whether the write side is closed ([`EventSet::is_write_closed`]).
    #[inline]
    pub fn is_write_closed(&self) -> bool {
        self.kind.is_write_closed()
    }

    /// Whether priority (out-of-band) data is waiting ([`EventSet::is_priority`]).
    #[inline]
    pub fn is_priority(&self) -> bool {
        self.kind.is_priority()
    }
}
