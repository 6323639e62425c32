//! ferrio's raw event: what every backend writes into the shared [`Events`] buffer.
//!
//! A [`RawEvent`] is a token and a set of readiness bits ([`ready`]). Its layout is that of
//! Linux's `struct epoll_event` (checked at compile time), and the bit values are epoll's, so
//! the epoll backend lets `epoll_wait` write the buffer directly and pays no translation; the
//! other backends build the same bits from what their OS reports (`poll(2)`'s bits have the
//! same values on Linux, also checked). The buffer never reallocates after construction.

use std::fmt;
use std::io;

use crate::event_set::EventSet;
use crate::token::Token;

/// ferrio's readiness bits in a [`RawEvent`] (the values of epoll's `EPOLL*` flags).
pub(crate) mod ready {
    /// Data to read, or a connection to accept (`EPOLLIN`).
    pub(crate) const READABLE: u32 = 0x001;
    /// Urgent (out-of-band) data (`EPOLLPRI`).
    pub(crate) const PRIORITY: u32 = 0x002;
    /// Room to write (`EPOLLOUT`).
    pub(crate) const WRITABLE: u32 = 0x004;
    /// A pending socket error (`EPOLLERR`).
    pub(crate) const ERROR: u32 = 0x008;
    /// Hang-up: both directions closed (`EPOLLHUP`).
    pub(crate) const HUP: u32 = 0x010;
    /// The peer closed its write side, or we shut down reading (`EPOLLRDHUP`).
    pub(crate) const READ_CLOSED: u32 = 0x2000;
    /// Writing is no longer possible: we shut down writing, or the peer is gone (kqueue's
    /// `EV_EOF` on `EVFILT_WRITE`). Not an epoll bit (epoll never sets 0x4000): epoll says
    /// this with `HUP` or `ERROR`.
    // Set by kqueue only (and its logic's unit tests on Linux).
    #[cfg_attr(
        not(any(
            target_vendor = "apple",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly",
            all(test, target_os = "linux")
        )),
        allow(dead_code)
    )]
    pub(crate) const WRITE_CLOSED: u32 = 0x4000;
}

/// One event: `bits` from [`ready`], `token` the registration's token. Laid out as Linux's
/// `epoll_event` (packed on x86_64, as the kernel's ABI there is).
#[repr(C)]
#[cfg_attr(target_arch = "x86_64", repr(packed))]
#[derive(Clone, Copy)]
pub(crate) struct RawEvent {
    bits: u32,
    token: u64,
}

impl RawEvent {
    /// The event's token and readiness.
    #[inline]
    pub(crate) fn get(&self) -> (Token, EventSet) {
        // Copy out of the (packed on x86_64) struct before use.
        let token = self.token;
        let bits = self.bits;
        (Token(token as usize), readiness(bits))
    }
}

impl fmt::Debug for RawEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (token, kind) = self.get();
        f.debug_struct("RawEvent")
            .field("token", &token)
            .field("kind", &kind)
            .finish()
    }
}

// The epoll backend hands the buffer to `epoll_wait`: the layouts must be the same.
#[cfg(target_os = "linux")]
const _: () = {
    use std::mem::{align_of, offset_of, size_of};
    assert!(size_of::<RawEvent>() == size_of::<libc::epoll_event>());
    assert!(align_of::<RawEvent>() == align_of::<libc::epoll_event>());
    assert!(offset_of!(RawEvent, bits) == offset_of!(libc::epoll_event, events));
    assert!(offset_of!(RawEvent, token) == offset_of!(libc::epoll_event, u64));
    assert!(ready::READABLE == libc::EPOLLIN as u32);
    assert!(ready::PRIORITY == libc::EPOLLPRI as u32);
    assert!(ready::WRITABLE == libc::EPOLLOUT as u32);
    assert!(ready::ERROR == libc::EPOLLERR as u32);
    assert!(ready::HUP == libc::EPOLLHUP as u32);
    assert!(ready::READ_CLOSED == libc::EPOLLRDHUP as u32);
};

/// The raw event buffer shared by every backend. Filled only by a backend's `select`.
pub(crate) struct Events {
    list: Vec<RawEvent>,
}

impl Events {
    pub(crate) fn with_capacity(capacity: usize) -> Events {
        Events {
            list: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.list.capacity()
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    #[inline]
    pub(crate) fn clear(&mut self) {
        self.list.clear();
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether no further event fits.
    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        self.list.len() == self.list.capacity()
    }

    /// Appends an event. The caller checks `is_full` first; this never reallocates.
    #[inline]
    pub(crate) fn push(&mut self, token: Token, bits: u32) {
        debug_assert!(!self.is_full());
        self.list.push(RawEvent {
            bits,
            token: token.0 as u64,
        });
    }

    /// ORs more readiness into event `idx` (one event per source per select).
    #[cfg_attr(all(target_os = "linux", not(feature = "uring")), allow(dead_code))]
    #[inline]
    pub(crate) fn merge(&mut self, idx: usize, bits: u32) {
        self.list[idx].bits |= bits;
    }

    /// The buffer's storage, for a kernel that writes events in place (epoll): a pointer to
    /// `capacity()` entries. After the kernel wrote `n` of them, call `set_len(n)`.
    #[cfg(target_os = "linux")]
    #[inline]
    pub(crate) fn spare_ptr(&mut self) -> *mut RawEvent {
        self.list.as_mut_ptr()
    }

    /// # Safety
    ///
    /// The first `n` entries (`n <= capacity()`) must have been initialised, for example by
    /// `epoll_wait` through [`spare_ptr`](Self::spare_ptr).
    #[cfg(target_os = "linux")]
    #[inline]
    pub(crate) unsafe fn set_len(&mut self, n: usize) {
        debug_assert!(n <= self.list.capacity());
        // SAFETY: the caller guarantees the first `n` entries are initialised.
        unsafe { self.list.set_len(n) }
    }

    /// Event `idx` as its token and raw [`ready`] bits (for backend unit tests).
    #[cfg(test)]
    #[cfg_attr(windows, allow(dead_code))]
    pub(crate) fn raw(&self, idx: usize) -> Option<(Token, u32)> {
        self.list.get(idx).map(|ev| {
            let (token, bits) = (ev.token, ev.bits);
            (Token(token as usize), bits)
        })
    }

    #[inline]
    pub(crate) fn get(&self, idx: usize) -> Option<(Token, EventSet)> {
        self.list.get(idx).map(RawEvent::get)
    }

    /// The events, in order.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[RawEvent] {
        &self.list
    }

    /// The error for polling into a buffer that can hold nothing.
    #[cold]
    pub(crate) fn zero_capacity_error() -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "Events buffer has zero capacity; use Events::with_capacity(n) with n > 0",
        )
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}

/// ferrio's readiness bits to an `EventSet`: the directions, error and priority as they are;
/// `READ_CLOSED` (the peer shut down writing, or we shut down reading) and `HUP` (both
/// directions shut down, or reset) are read-closed and mio 0.5's hup; `HUP`, or writable with an
/// error (a pipe without readers, a reset), is write-closed.
#[inline]
pub(crate) fn readiness(bits: u32) -> EventSet {
    use ready::*;
    const _: () = assert!(
        READABLE as usize == EventSet::readable().bits()
            && (WRITABLE >> 1) as usize == EventSet::writable().bits()
            && (ERROR >> 1) as usize == EventSet::error().bits()
            && (PRIORITY << 7) as usize == EventSet::priority().bits()
    );
    let b = bits;
    // Priority data is readable too (as before the finer flags existed).
    let readable = (b & (READABLE | PRIORITY) != 0) as usize;
    let writable = ((b & WRITABLE) >> 1) as usize;
    let mut set = readable | writable;
    // The rare bits only add flags other than readable and writable, so that, inlined, a
    // caller asking only `is_readable()` or `is_writable()` pays one mask and no branch.
    if b & (PRIORITY | ERROR | HUP | READ_CLOSED) != 0 {
        let read_closed = b & (HUP | READ_CLOSED) != 0;
        let write_closed = (b & HUP != 0) | (b & ERROR != 0 && b & WRITABLE != 0);
        set |= ((b & ERROR) >> 1) as usize | ((b & PRIORITY) << 7) as usize;
        if read_closed {
            set |= EventSet::read_closed().bits() | EventSet::hup().bits();
        }
        if write_closed {
            set |= EventSet::write_closed().bits();
        }
    }
    EventSet::from_bits_truncate(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `readiness` against the mapping its docs give, written out flag by flag, for every
    /// combination of the bits it knows (and one it does not).
    #[test]
    fn readiness_matches_the_documented_mapping_for_every_bit_combination() {
        use ready::*;
        let known = [
            READABLE,
            PRIORITY,
            WRITABLE,
            ERROR,
            HUP,
            READ_CLOSED,
            0x8000_0000,
        ];
        for combo in 0u32..(1 << known.len()) {
            let b = (0..known.len())
                .filter(|i| combo & (1 << i) != 0)
                .fold(0, |acc, i| acc | known[i]);
            let has = |bit: u32| b & bit != 0;
            let mut want = EventSet::none();
            if has(READABLE) || has(PRIORITY) {
                want |= EventSet::readable();
            }
            if has(WRITABLE) {
                want |= EventSet::writable();
            }
            if has(ERROR) {
                want |= EventSet::error();
            }
            if has(PRIORITY) {
                want |= EventSet::priority();
            }
            if has(HUP) || has(READ_CLOSED) {
                want |= EventSet::read_closed() | EventSet::hup();
            }
            if has(HUP) || (has(ERROR) && has(WRITABLE)) {
                want |= EventSet::write_closed();
            }
            assert_eq!(readiness(b), want, "bits {b:#x}");
        }
    }
}
