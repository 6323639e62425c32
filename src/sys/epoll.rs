//! The epoll backend (Linux).
//!
//! * Interest maps to `EPOLLIN | EPOLLRDHUP` (readable) and `EPOLLOUT` (writable); `EPOLLET`
//!   unless level is asked for; `EPOLLONESHOT` for oneshot. The kernel emulates nothing.
//! * The waker is an eventfd registered edge-triggered. A wake writes to it only when the
//!   selector's `wake_pending` flag was clear; `select` clears the flag when `epoll_wait`
//!   returns, so between two `select` calls at most one write happens, and the poll side never
//!   reads the eventfd (each write is a new edge). If the counter is ever full (`EAGAIN`), the
//!   wake drains it and writes again, so the wake still lands.
//! * Why after the wait and not before: a flag that is set means "a write is on its way that
//!   the current or the next `epoll_wait` will see". A write consumed by a wait stops counting
//!   once that `select` returns, so the flag must be cleared before `select` returns; clearing
//!   it only before the next wait would let a wake issued in between coalesce into the consumed
//!   write and be lost. A wake that lands between `epoll_wait` returning and the clear is seen
//!   by the `select` that is returning anyway (or, if its write came later, by the next one).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::Events;
use crate::event_set::EventSet;
use crate::poll_opt::PollOpt;
use crate::token::Token;

/// An epoll instance.
#[derive(Debug)]
pub(crate) struct Selector {
    id: usize,
    ep: OwnedFd,
    /// Set by the first `Waker::wake` since the last `select`; cleared by `select`.
    wake_pending: AtomicBool,
    /// Whether a `Waker` currently exists for this selector.
    has_waker: AtomicBool,
}

impl Selector {
    pub(crate) fn new() -> io::Result<Selector> {
        // SAFETY: epoll_create1 takes no pointers; EPOLL_CLOEXEC is a valid flag.
        let fd = unsafe { syscall!(epoll_create1(libc::EPOLL_CLOEXEC)) }?;
        Ok(Selector {
            id: super::next_id(),
            // SAFETY: epoll_create1 just returned this fd and nothing else owns it.
            ep: unsafe { OwnedFd::from_raw_fd(fd) },
            wake_pending: AtomicBool::new(false),
            has_waker: AtomicBool::new(false),
        })
    }

    #[inline]
    pub(crate) fn id(&self) -> usize {
        self.id
    }

    pub(crate) fn register(
        &self,
        fd: RawFd,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, token, interest, opts)
    }

    pub(crate) fn reregister(
        &self,
        fd: RawFd,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, token, interest, opts)
    }

    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        // A non-null event pointer keeps pre-2.6.9 kernels happy; its content is ignored.
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: `ep` is a live epoll fd owned by self; `ev` is a valid epoll_event.
        unsafe {
            syscall!(epoll_ctl(
                self.ep.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd,
                &mut ev
            ))
        }
        .map(drop)
        .map_err(|e| ctl_error(e, libc::EPOLL_CTL_DEL))
    }

    fn ctl(
        &self,
        op: libc::c_int,
        fd: RawFd,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: interest_to_epoll(interest, opts),
            u64: token.0 as u64,
        };
        // SAFETY: `ep` is a live epoll fd owned by self; `ev` is a valid epoll_event. An
        // invalid `fd` is reported by the kernel as EBADF, not UB.
        unsafe { syscall!(epoll_ctl(self.ep.as_raw_fd(), op, fd, &mut ev)) }
            .map(drop)
            .map_err(|e| ctl_error(e, op))
    }

    #[inline]
    pub(crate) fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        let timeout_ms = timeout_to_ms(timeout);
        events.list.clear();
        let cap = events.list.capacity().min(libc::c_int::MAX as usize) as libc::c_int;
        // SAFETY: the buffer has room for `cap` events; the kernel writes at most `cap` entries
        // and returns how many, which we then expose with set_len.
        let n = unsafe {
            syscall!(epoll_wait(
                self.ep.as_raw_fd(),
                events.list.as_mut_ptr(),
                cap,
                timeout_ms
            ))
        };
        // Cleared after the wait, not before: a wake whose write this wait consumed must not
        // make a later wake coalesce into it (see module docs). A swap, not a store: a wake
        // that coalesced into this report is then ordered before the caller's next check
        // (tests/loom_waker.rs finds the lost wake-up a plain store allows).
        self.wake_pending.swap(false, Ordering::AcqRel);
        let n = n?;
        // SAFETY: epoll_wait initialised the first `n` (<= capacity) entries.
        unsafe { events.list.set_len(n as usize) };
        Ok(())
    }
}

fn ctl_error(err: io::Error, op: libc::c_int) -> io::Error {
    let msg = match (err.raw_os_error(), op) {
        (Some(libc::EEXIST), _) => "the fd is already registered with this selector",
        (Some(libc::ENOENT), _) => "the fd is not registered with this selector",
        (Some(libc::EPERM), _) => "the fd does not support readiness polling (regular file?)",
        (Some(libc::EBADF), _) => "bad file descriptor",
        _ => return err,
    };
    io::Error::new(err.kind(), msg)
}

/// Rounds up to whole milliseconds; `None` blocks, zero does not block. (u64 arithmetic: a
/// u128 division here costs a libcall and register spills on every poll.)
#[inline]
pub(crate) fn timeout_to_ms(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(d) => {
            let ms = d
                .as_secs()
                .saturating_mul(1000)
                .saturating_add(u64::from(d.subsec_nanos().div_ceil(1_000_000)));
            ms.min(libc::c_int::MAX as u64) as libc::c_int
        }
    }
}

fn interest_to_epoll(interest: EventSet, opts: PollOpt) -> u32 {
    let mut bits = 0;
    if interest.is_readable() {
        bits |= libc::EPOLLIN | libc::EPOLLRDHUP;
    }
    if interest.is_writable() {
        bits |= libc::EPOLLOUT;
    }
    if opts.is_edge() && !opts.is_level() {
        bits |= libc::EPOLLET;
    }
    if opts.is_oneshot() {
        bits |= libc::EPOLLONESHOT;
    }
    bits as u32
}

/// An eventfd registered edge-triggered with a selector.
#[derive(Debug)]
pub(crate) struct Waker {
    fd: OwnedFd,
    /// Keeps the selector (an epoll one) alive.
    selector: Arc<super::Selector>,
}

impl Waker {
    pub(crate) fn new(shared: &Arc<super::Selector>, token: Token) -> io::Result<Waker> {
        let super::Selector::Epoll(selector) = &**shared else {
            unreachable!("an epoll waker is made only for an epoll selector");
        };
        super::claim_waker_slot(&selector.has_waker)?;
        let fd = match super::fd::eventfd() {
            Ok(fd) => fd,
            Err(e) => {
                selector.has_waker.store(false, Ordering::Release);
                return Err(e);
            }
        };
        if let Err(e) =
            selector.register(fd.as_raw_fd(), token, EventSet::readable(), PollOpt::edge())
        {
            selector.has_waker.store(false, Ordering::Release);
            return Err(e);
        }
        Ok(Waker {
            fd,
            selector: Arc::clone(shared),
        })
    }

    #[inline]
    pub(crate) fn wake(&self) -> io::Result<()> {
        super::coalesced_eventfd_wake(&self.fd, &self.epoll().wake_pending)
    }

    #[inline]
    fn epoll(&self) -> &Selector {
        match &*self.selector {
            super::Selector::Epoll(s) => s,
            _ => unreachable!("an epoll waker always has an epoll selector"),
        }
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        // Closing the (never duplicated) eventfd removes it from the epoll set.
        self.epoll().has_waker.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up() {
        assert_eq!(timeout_to_ms(None), -1);
        assert_eq!(timeout_to_ms(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_to_ms(Some(Duration::from_nanos(1))), 1);
        assert_eq!(timeout_to_ms(Some(Duration::from_micros(300))), 1);
        assert_eq!(timeout_to_ms(Some(Duration::from_millis(5))), 5);
        assert_eq!(timeout_to_ms(Some(Duration::from_micros(5001))), 6);
        assert_eq!(timeout_to_ms(Some(Duration::MAX)), libc::c_int::MAX);
    }

    #[test]
    fn level_wins_over_edge() {
        let bits = interest_to_epoll(EventSet::readable(), PollOpt::edge() | PollOpt::level());
        assert_eq!(bits & libc::EPOLLET as u32, 0);
        let bits = interest_to_epoll(EventSet::readable(), PollOpt::edge());
        assert_ne!(bits & libc::EPOLLET as u32, 0);
    }
}
