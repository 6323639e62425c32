//! The OS edge: every raw syscall and almost all `unsafe` code of ferrio lives below this module.
//!
//! # The backend contract
//!
//! A selector backend is one file in this directory: `epoll.rs`, `poll.rs` (POSIX `poll(2)`)
//! and `uring.rs` (io_uring). This module wraps them in the run-time dispatching [`Selector`]
//! and [`Waker`] enums (one `match` per call) and the shared [`Events`] buffer. The layers
//! above (`Poll`, `Registry`, `Waker`, the sources and the event loop) use only the items
//! listed here, so a backend slots in without touching them.
//!
//! A backend provides:
//!
//! * **`Selector`**: `Send + Sync`, shared behind an `Arc` by `Poll` and every `Registry` clone.
//!   - `new() -> io::Result<Selector>`: the OS object(s), created close-on-exec.
//!   - `id() -> usize`: unique per selector in the process, never reused, never 0 (all
//!     backends draw from one counter, [`next_id`]).
//!   - `register(fd, Token, EventSet, PollOpt)`, `reregister(..)`, `deregister(fd)`: callable
//!     from any thread, also while another thread is blocked in `select`. The new interest takes
//!     effect no later than the next `select` that starts after the call returns; a call made
//!     during a blocked `select` must either be seen by it or wake it (a spurious wake-up is
//!     allowed). After `deregister` returns, no `select` that starts later reports the fd.
//!     `register` of an fd the selector already has fails with `AlreadyExists`; `reregister`
//!     and `deregister` of an fd it does not have fail with `NotFound`; a regular file or
//!     directory fails with `PermissionDenied` (as epoll does), a bad fd with `EBADF`.
//!   - `select(&mut Events, Option<Duration>) -> io::Result<()>`: blocks until at least one
//!     event, a wake-up or the timeout. The timeout is rounded **up** to the backend's
//!     resolution (never down: a 0.3 ms timeout must not become a busy zero-timeout poll);
//!     `Duration::ZERO` polls without blocking; `None` blocks indefinitely. A signal
//!     interrupting the wait is reported as `ErrorKind::Interrupted`, never retried silently.
//!     At most one event per fd per call (readable and writable merged into one `EventSet`).
//!     When more sources are ready than `Events` holds, the rest are reported by later calls,
//!     and a level-triggered source reported now must not starve the others.
//!   - `wake_pending: AtomicBool`-style coalescing owned by the selector (see `Waker`).
//!
//! * **`Events`**: one raw buffer for all backends: `epoll_event` entries (token in `u64`,
//!   epoll readiness bits in `events`). epoll fills it directly; poll(2) and io_uring report
//!   `poll(2)` bits, which on Linux have the same values as the epoll bits. Filled only by
//!   `Selector::select`; no allocation after construction.
//!
//! * **`Waker`**: `new(&Arc<Selector>, Token)`, `wake()`. Wakes a blocked `select` from any
//!   thread. Wakes coalesce: between two `select` calls, any number of `wake` calls make at most
//!   one syscall and produce at most one event. One `Waker` per selector at a time (a second one
//!   is an `AlreadyExists` error until the first is dropped).
//!
//! * **Readiness mapping**: the backend translates its native flags to [`EventSet`]: readable,
//!   writable, error (a pending socket error), hup (the peer closed its write side or both).
//!   A healthy, connected socket must never report stray error or hup bits.
//!
//! * **Per-source state and emulation** (`needs_rearm`): backends whose OS has no native edge
//!   or oneshot mode (poll(2)) emulate them: oneshot disarms the fd after one report until
//!   `reregister`; edge disarms the reported directions after one report and re-arms them when
//!   the source's own IO returns `WouldBlock` (the sources call [`IoSource::do_io`], which calls
//!   `rearm(fd)`) or on `reregister`. `needs_rearm()` is a run-time property of the selector;
//!   `IoSource` caches it at registration, so under epoll and io_uring the IO path pays one
//!   predictable branch on `WouldBlock` and nothing on success. Raw fds (`EventedFd`) have no
//!   IO path ferrio sees: `raw_fd_opts` lets a backend change their options (poll(2) polls
//!   them level-triggered instead of edge). Level-triggered interest needs no emulation.
//!
//! [`EventSet`]: crate::EventSet
//! [`IoSource::do_io`]: crate::io_source::IoSource
//!
//! Besides the selector, this layer offers thin, documented wrappers for the other syscalls
//! the sources need (`accept4`, `pipe2`, `send` with `MSG_NOSIGNAL`, `sendmsg`/`recvmsg` with
//! `SCM_RIGHTS`), each creating fds non-blocking and close-on-exec atomically.

#[macro_use]
mod syscall;

mod epoll;
mod poll;
mod uring;

pub(crate) mod detach;
#[cfg(feature = "fault-injection")]
pub mod fault;
pub(crate) mod fd;
mod fd_conversions;
pub(crate) mod mmsg;
pub(crate) mod unix_msg;

#[cfg(test)]
mod readiness_tests;

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::backend::Backend;
use crate::event_set::EventSet;
use crate::poll_opt::PollOpt;
use crate::token::Token;

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// A fresh selector id: unique in the process, never 0.
fn next_id() -> usize {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// The selector of one `Poll`, on the backend chosen at run time.
// Allocated once, behind an `Arc`: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Selector {
    Epoll(epoll::Selector),
    Poll(poll::Selector),
    Uring(uring::Selector),
}

/// Dispatches one call to the backend.
macro_rules! dispatch {
    ($self:expr, $s:ident => $call:expr) => {
        match $self {
            Selector::Epoll($s) => $call,
            Selector::Poll($s) => $call,
            Selector::Uring($s) => $call,
        }
    };
}

impl Selector {
    /// Creates a selector on `backend`. For io_uring, a kernel that refuses it gives epoll and
    /// the reason, as `Ok((selector, Some(reason)))`.
    pub(crate) fn new(backend: Backend) -> io::Result<(Selector, Option<String>)> {
        Ok(match backend {
            Backend::Epoll => (Selector::Epoll(epoll::Selector::new()?), None),
            Backend::Poll => (Selector::Poll(poll::Selector::new()?), None),
            Backend::Uring => match uring::Selector::new() {
                Ok(s) => (Selector::Uring(s), None),
                Err(reason) => (
                    Selector::Epoll(epoll::Selector::new()?),
                    Some(format!("io_uring unavailable, using epoll: {reason}")),
                ),
            },
        })
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            Selector::Epoll(_) => Backend::Epoll,
            Selector::Poll(_) => Backend::Poll,
            Selector::Uring(_) => Backend::Uring,
        }
    }

    #[inline]
    pub(crate) fn id(&self) -> usize {
        dispatch!(self, s => s.id())
    }

    /// Whether sources must call [`Selector::rearm`] when their IO would block.
    #[inline]
    pub(crate) fn needs_rearm(&self) -> bool {
        matches!(self, Selector::Poll(_))
    }

    /// Re-arms an edge-triggered source whose IO returned `WouldBlock` (poll(2) only).
    pub(crate) fn rearm(&self, fd: RawFd) {
        if let Selector::Poll(s) = self {
            s.rearm(fd);
        }
    }

    /// The options to use for a raw fd, whose IO ferrio does not see.
    pub(crate) fn raw_fd_opts(&self, opts: PollOpt) -> PollOpt {
        match self {
            Selector::Poll(_) if opts.is_edge() && !opts.is_level() && !opts.is_oneshot() => {
                PollOpt::level()
            }
            _ => opts,
        }
    }

    pub(crate) fn register(
        &self,
        fd: RawFd,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        dispatch!(self, s => s.register(fd, token, interest, opts))
    }

    pub(crate) fn reregister(
        &self,
        fd: RawFd,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        dispatch!(self, s => s.reregister(fd, token, interest, opts))
    }

    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        dispatch!(self, s => s.deregister(fd))
    }

    #[inline]
    pub(crate) fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        dispatch!(self, s => s.select(events, timeout))
    }
}

/// Makes the next io_uring selector created on this thread fail (the fallback test hook).
pub(crate) fn simulate_uring_failure() {
    uring::force_next_failure();
}

/// Wakes a blocked `select`; the backend's own kind.
#[derive(Debug)]
pub(crate) enum Waker {
    Epoll(epoll::Waker),
    Shared(SharedWaker),
}

impl Waker {
    pub(crate) fn new(selector: &Arc<Selector>, token: Token) -> io::Result<Waker> {
        match &**selector {
            Selector::Epoll(_) => Ok(Waker::Epoll(epoll::Waker::new(selector, token)?)),
            Selector::Poll(s) => {
                s.install_waker(token)?;
                Ok(Waker::Shared(SharedWaker(Arc::clone(selector))))
            }
            Selector::Uring(s) => {
                s.install_waker(token)?;
                Ok(Waker::Shared(SharedWaker(Arc::clone(selector))))
            }
        }
    }

    #[inline]
    pub(crate) fn wake(&self) -> io::Result<()> {
        match self {
            Waker::Epoll(w) => w.wake(),
            Waker::Shared(w) => w.wake(),
        }
    }
}

/// The waker of the poll(2) and io_uring backends: it writes to the selector's own eventfd,
/// which the selector watches anyway, and the selector reports the waker's token.
#[derive(Debug)]
pub(crate) struct SharedWaker(Arc<Selector>);

impl SharedWaker {
    fn wake(&self) -> io::Result<()> {
        match &*self.0 {
            Selector::Poll(s) => s.wake(),
            Selector::Uring(s) => s.wake(),
            Selector::Epoll(_) => unreachable!("a shared waker is never made for epoll"),
        }
    }
}

impl Drop for SharedWaker {
    fn drop(&mut self) {
        match &*self.0 {
            Selector::Poll(s) => s.remove_waker(),
            Selector::Uring(s) => s.remove_waker(),
            Selector::Epoll(_) => {}
        }
    }
}

/// Writes one wake to a selector's eventfd, unless one is already on its way since the last
/// `select` (`pending`). Shared by every backend's waker.
pub(crate) fn coalesced_eventfd_wake(
    fd: &std::os::fd::OwnedFd,
    pending: &std::sync::atomic::AtomicBool,
) -> io::Result<()> {
    if pending.swap(true, Ordering::AcqRel) {
        // A write since the last `select` is already on its way: coalesce.
        return Ok(());
    }
    match fd::eventfd_write(fd) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            // The counter is full. Drain it and write again to make a fresh edge; if that
            // fails, clear the flag so the next wake retries instead of coalescing.
            fd::eventfd_read(fd)
                .and_then(|_| fd::eventfd_write(fd))
                .inspect_err(|_| pending.store(false, Ordering::Release))
        }
        Err(e) => {
            pending.store(false, Ordering::Release);
            Err(e)
        }
    }
}

/// The user-`Waker` state of the backends whose internal eventfd doubles as the waker's
/// (poll(2) and io_uring): the coalescing flag and the token a wake is reported with.
#[derive(Debug, Default)]
pub(crate) struct WakerSlot {
    /// Set by the first wake since the last `select`; cleared by `select` after its wait.
    pending: AtomicBool,
    installed: AtomicBool,
    token: AtomicUsize,
}

impl WakerSlot {
    /// Installs the selector's one `Waker`, reporting `token`.
    pub(crate) fn install(&self, token: Token) -> io::Result<()> {
        claim_waker_slot(&self.installed)?;
        self.token.store(token.0, Ordering::Release);
        Ok(())
    }

    pub(crate) fn remove(&self) {
        self.installed.store(false, Ordering::Release);
    }

    /// A coalesced wake through the backend's eventfd `fd`.
    #[inline]
    pub(crate) fn wake(&self, fd: &std::os::fd::OwnedFd) -> io::Result<()> {
        coalesced_eventfd_wake(fd, &self.pending)
    }

    /// Clears the flag after a wait and says whether a wake was pending. A swap, not a store:
    /// it acquires what the wakers published (see tests/loom_waker.rs).
    #[inline]
    pub(crate) fn take_pending(&self) -> bool {
        self.pending.swap(false, Ordering::AcqRel)
    }

    /// The installed waker's token, if a `Waker` exists.
    #[inline]
    pub(crate) fn token(&self) -> Option<Token> {
        self.installed
            .load(Ordering::Acquire)
            .then(|| Token(self.token.load(Ordering::Acquire)))
    }
}

/// Claims a selector's single `Waker` slot, or explains why not.
pub(crate) fn claim_waker_slot(has_waker: &AtomicBool) -> io::Result<()> {
    has_waker
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .map(drop)
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::AlreadyExists,
                "this Poll already has a Waker; drop it before creating another",
            )
        })
}

/// Refuses what epoll refuses, for the backends whose OS call would accept it: a bad fd
/// (`EBADF`) and regular files or directories (`EPERM`, which poll(2) and io_uring would
/// report as always ready).
pub(crate) fn check_pollable(fd: RawFd) -> io::Result<()> {
    // SAFETY: an all-zero stat is a valid value to overwrite.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid, writable stat buffer; a bad fd gives EBADF.
    unsafe { syscall!(fstat(fd, &mut st)) }
        .map_err(|e| io::Error::new(e.kind(), "bad file descriptor"))?;
    let kind = st.st_mode & libc::S_IFMT;
    if kind == libc::S_IFREG || kind == libc::S_IFDIR {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the fd does not support readiness polling (regular file?)",
        ));
    }
    Ok(())
}

/// The raw event buffer, shared by every backend: `epoll_event`s.
pub(crate) struct Events {
    list: Vec<libc::epoll_event>,
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

    pub(crate) fn clear(&mut self) {
        self.list.clear();
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether no further event fits.
    #[inline]
    fn is_full(&self) -> bool {
        self.list.len() == self.list.capacity()
    }

    /// Appends an event with `poll(2)` readiness bits (the epoll values on Linux). The caller
    /// checks `is_full` first; this never reallocates.
    #[inline]
    fn push(&mut self, token: Token, poll_bits: u32) {
        debug_assert!(!self.is_full());
        self.list.push(libc::epoll_event {
            events: poll_bits,
            u64: token.0 as u64,
        });
    }

    /// ORs more readiness into event `idx` (one event per fd per select).
    #[inline]
    fn merge(&mut self, idx: usize, poll_bits: u32) {
        self.list[idx].events |= poll_bits;
    }

    #[inline]
    pub(crate) fn get(&self, idx: usize) -> Option<(Token, EventSet)> {
        self.list.get(idx).map(|ev| {
            // Copy out of the (packed on x86_64) struct before use.
            let data = ev.u64;
            let bits = ev.events;
            (Token(data as usize), epoll_to_readiness(bits))
        })
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}

/// epoll (and, on Linux, poll(2)) readiness bits to an `EventSet`.
///
/// On the hot path (every dispatched event), so it is a small leaf function that rustc can
/// inline into callers in other crates: readable and/or writable alone (the common case) take
/// two masks and a shift; the other flags a mask and a shift each. The bit positions this
/// relies on are checked at compile time.
fn epoll_to_readiness(bits: u32) -> EventSet {
    const IN: u32 = libc::EPOLLIN as u32;
    const PRI: u32 = libc::EPOLLPRI as u32;
    const OUT: u32 = libc::EPOLLOUT as u32;
    const ERR: u32 = libc::EPOLLERR as u32;
    const HUP: u32 = libc::EPOLLHUP as u32;
    const RDHUP: u32 = libc::EPOLLRDHUP as u32;
    const _: () = assert!(
        IN as usize == EventSet::readable().bits()
            && (OUT >> 1) as usize == EventSet::writable().bits()
            && (ERR >> 1) as usize == EventSet::error().bits()
            && (PRI << 7) as usize == EventSet::priority().bits()
    );
    let b = bits;
    if b & (PRI | ERR | HUP | RDHUP) == 0 {
        return EventSet::from_bits_truncate(((b & IN) | ((b & OUT) >> 1)) as usize);
    }
    // Priority data is readable too (as before the finer flags existed).
    let readable = (b & (IN | PRI) != 0) as usize;
    let writable = ((b & OUT) >> 1) as usize;
    let error = ((b & ERR) >> 1) as usize;
    let priority = ((b & PRI) << 7) as usize;
    // EPOLLRDHUP: the peer shut down writing (or we shut down reading). EPOLLHUP: both
    // directions are shut down, or the connection was reset. Either is mio 0.5's hup.
    let read_closed = (b & (HUP | RDHUP) != 0) as usize;
    // Writable with an error means the write end is gone (a pipe without readers, a reset).
    let write_closed = ((b & HUP != 0) | (b & ERR != 0 && b & OUT != 0)) as usize;
    EventSet::from_bits_truncate(
        readable
            | writable
            | error
            | priority
            | (read_closed * (EventSet::read_closed().bits() | EventSet::hup().bits()))
            | (write_closed * EventSet::write_closed().bits()),
    )
}

/// The `poll(2)` bits asked for an interest (readable adds `POLLRDHUP` on Linux, like epoll's
/// `EPOLLRDHUP`, so a half-close is reported as hup).
fn interest_to_poll(interest: EventSet) -> libc::c_short {
    let mut bits = 0;
    if interest.is_readable() {
        bits |= libc::POLLIN | libc::POLLRDHUP;
    }
    if interest.is_writable() {
        bits |= libc::POLLOUT;
    }
    bits
}

/// `CLOCK_MONOTONIC` (the clock behind `Instant` on Linux) in nanoseconds, read without
/// `Instant`'s `timespec` arithmetic (the event loop's timers read it twice per iteration).
#[inline]
pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is valid for writes; CLOCK_MONOTONIC always exists on Linux, so the call
    // cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    #[test]
    fn poll_bits_equal_epoll_bits() {
        // Events stores poll(2) bits as epoll bits: that needs equal values.
        assert_eq!(libc::POLLIN as i32, libc::EPOLLIN);
        assert_eq!(libc::POLLPRI as i32, libc::EPOLLPRI);
        assert_eq!(libc::POLLOUT as i32, libc::EPOLLOUT);
        assert_eq!(libc::POLLERR as i32, libc::EPOLLERR);
        assert_eq!(libc::POLLHUP as i32, libc::EPOLLHUP);
        assert_eq!(libc::POLLRDHUP as i32, libc::EPOLLRDHUP);
    }
}
