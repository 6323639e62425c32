//! The epoll backend (Linux).
//!
//! * Interest maps to `EPOLLIN | EPOLLRDHUP` (readable), `EPOLLOUT` (writable) and `EPOLLPRI`
//!   (priority); `EPOLLET`
//!   unless level is asked for; `EPOLLONESHOT` for oneshot. The kernel emulates nothing, and
//!   `epoll_wait` writes ferrio's [`Events`] buffer in place (its layout is `epoll_event`'s).
//! * Timeouts: `epoll_pwait2` (Linux 5.11+) takes a `timespec`, so a timed wait ends on time to
//!   the kernel's timer slack, not up to a millisecond late. Where the kernel lacks it (`ENOSYS`,
//!   remembered after the first try) `epoll_wait` is used, with the timeout rounded up to whole
//!   milliseconds. An infinite or zero timeout always uses `epoll_wait`.
//! * The waker: an eventfd ([`WakeFd`]), created with the first `Waker` and registered
//!   edge-triggered under its token. The poll side never reads it: each write is a new edge
//!   (a full counter is reset and written again by [`WakeFd::notify`]). It belongs to the
//!   selector, so dropping the `Waker` does not remove a wake that is on its way.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use super::event::Events;
use super::wake_fd::WakeFd;
use super::waker::WakeState;
use super::Selector;
use crate::event_set::EventSet;
use crate::poll_opt::PollOpt;
use crate::token::Token;

/// Whether `epoll_pwait2` failed with `ENOSYS` once (then `epoll_wait` is used).
static NO_PWAIT2: AtomicBool = AtomicBool::new(false);

/// An epoll instance.
#[derive(Debug)]
pub(crate) struct EpollSelector {
    ep: OwnedFd,
    /// The waker's eventfd, made with the first `Waker`.
    wake: OnceLock<WakeFd>,
}

impl Selector for EpollSelector {
    fn new() -> io::Result<EpollSelector> {
        // SAFETY: epoll_create1 takes no pointers; EPOLL_CLOEXEC is a valid flag.
        let fd = unsafe { syscall!(epoll_create1(libc::EPOLL_CLOEXEC)) }?;
        Ok(EpollSelector {
            // SAFETY: epoll_create1 just returned this fd and nothing else owns it.
            ep: unsafe { OwnedFd::from_raw_fd(fd) },
            wake: OnceLock::new(),
        })
    }

    fn register(
        &self,
        fd: RawFd,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, token, interest, opts)
    }

    fn reregister(
        &self,
        fd: RawFd,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, token, interest, opts)
    }

    fn deregister(&self, fd: RawFd) -> io::Result<()> {
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
    }

    #[inline(always)]
    fn select(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        waker: &WakeState,
    ) -> io::Result<()> {
        self.select_with(events, waker, |this, buf, cap| match timeout {
            Some(d) if !d.is_zero() && !NO_PWAIT2.load(Ordering::Relaxed) => {
                this.wait_precise(buf, cap, d)
            }
            _ => this.wait_ms(buf, cap, super::timeout::to_ms(timeout)),
        })
    }

    #[inline(always)]
    fn select_ns(
        &self,
        events: &mut Events,
        timeout_ns: Option<u64>,
        waker: &WakeState,
    ) -> io::Result<()> {
        self.select_with(events, waker, |this, buf, cap| match timeout_ns {
            Some(ns) if ns != 0 && !NO_PWAIT2.load(Ordering::Relaxed) => {
                this.wait_precise(buf, cap, Duration::from_nanos(ns))
            }
            _ => this.wait_ms(buf, cap, super::timeout::ns_to_ms(timeout_ns)),
        })
    }

    fn install_waker(&self, token: Token, waker: &WakeState) -> io::Result<()> {
        if let Some(wake) = self.wake.get() {
            if !waker.is_pending() {
                // Every earlier wake was collected: reset the counter, or the change of token
                // below would report the eventfd (still readable) at once. No wake can race:
                // no other `Waker` exists.
                wake.drain();
            }
            let fd = wake.as_raw_fd();
            return self.ctl(
                libc::EPOLL_CTL_MOD,
                fd,
                token,
                EventSet::readable(),
                PollOpt::edge(),
            );
        }
        let wake = WakeFd::new()?;
        let fd = wake.as_raw_fd();
        // On failure the new eventfd is closed here: a failed Waker leaves nothing behind.
        self.ctl(
            libc::EPOLL_CTL_ADD,
            fd,
            token,
            EventSet::readable(),
            PollOpt::edge(),
        )?;
        // Only the Waker's constructor, which holds the selector's single waker slot, gets
        // here: nothing can have set it meanwhile.
        let _ = self.wake.set(wake);
        Ok(())
    }

    #[inline]
    fn notify(&self) -> io::Result<()> {
        match self.wake.get() {
            Some(wake) => wake.notify(),
            None => Ok(()),
        }
    }
}

impl EpollSelector {
    /// One `select`: `wait` waits into the events buffer (its pointer and capacity) and says
    /// how many events the kernel wrote.
    #[inline(always)]
    fn select_with(
        &self,
        events: &mut Events,
        waker: &WakeState,
        wait: impl FnOnce(&Self, *mut libc::epoll_event, libc::c_int) -> io::Result<usize>,
    ) -> io::Result<()> {
        // At most `ferrio::Events::MAX_CAPACITY` (65,536): no overflow. A capacity of 0 makes
        // epoll_wait fail with EINVAL, reported below as the clearer error.
        let cap = events.capacity() as libc::c_int;
        // The old events are not cleared before the wait: the kernel overwrites the storage,
        // and the length is set (or, on an error, cleared) after it.
        let buf = events.spare_ptr().cast::<libc::epoll_event>();
        let n = wait(self, buf, cap);
        // Cleared after the wait, not before: a wake whose write this wait consumed must not
        // make a later wake coalesce into it (see `waker`). The wake itself is reported by the
        // kernel, under the token the eventfd is registered with.
        waker.take_pending();
        match n {
            // SAFETY: epoll_wait initialised the first `n` (<= capacity) entries.
            Ok(n) => unsafe { events.set_len(n) },
            Err(e) => return Err(wait_failed(events, e)),
        }
        Ok(())
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
        unsafe { syscall!(epoll_ctl(self.ep.as_raw_fd(), op, fd, &mut ev)) }.map(drop)
    }

    #[inline]
    fn wait_ms(
        &self,
        buf: *mut libc::epoll_event,
        cap: libc::c_int,
        timeout_ms: libc::c_int,
    ) -> io::Result<usize> {
        // SAFETY: `buf` has room for `cap` events (the Events buffer's capacity); the kernel
        // writes at most `cap` entries and returns how many.
        unsafe { syscall!(epoll_wait(self.ep.as_raw_fd(), buf, cap, timeout_ms)) }
            .map(|n| n as usize)
    }

    /// A wait with a nanosecond timeout (`epoll_pwait2`, ending close to its deadline despite
    /// the kernel's slack: see `timeout::precise`), or `epoll_wait` where the kernel has no
    /// `epoll_pwait2`.
    #[inline(never)]
    fn wait_precise(
        &self,
        buf: *mut libc::epoll_event,
        cap: libc::c_int,
        timeout: Duration,
    ) -> io::Result<usize> {
        super::timeout::precise(timeout, |t| self.pwait2(buf, cap, t))
    }

    /// One `epoll_pwait2`, or `epoll_wait` (the timeout rounded up to milliseconds) where the
    /// kernel has none.
    fn pwait2(
        &self,
        buf: *mut libc::epoll_event,
        cap: libc::c_int,
        timeout: Duration,
    ) -> io::Result<usize> {
        #[cfg(target_pointer_width = "64")]
        if !NO_PWAIT2.load(Ordering::Relaxed) {
            let ts = libc::timespec {
                // The kernel's tv_sec is signed: clamp (to about 292 billion years).
                tv_sec: timeout.as_secs().min(i64::MAX as u64) as libc::time_t,
                tv_nsec: timeout.subsec_nanos() as _,
            };
            // SAFETY: `buf` has room for `cap` events; `ts` is a live timespec whose layout is
            // the kernel's on 64-bit targets; a null sigmask leaves the signal mask alone.
            let res = unsafe {
                syscall!(@named "epoll_pwait2", syscall(
                    libc::SYS_epoll_pwait2,
                    self.ep.as_raw_fd(),
                    buf,
                    cap,
                    &ts as *const libc::timespec,
                    std::ptr::null::<libc::sigset_t>(),
                    0usize
                ))
            };
            match res {
                Ok(n) => return Ok(n as usize),
                Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                    NO_PWAIT2.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        self.wait_ms(buf, cap, super::timeout::to_ms(Some(timeout)))
    }
}

/// A failed wait: no events, and the clearer error for a buffer of capacity 0 (which makes
/// epoll_wait fail with EINVAL).
#[cold]
#[inline(never)]
fn wait_failed(events: &mut Events, e: io::Error) -> io::Error {
    events.clear();
    if events.capacity() == 0 {
        Events::zero_capacity_error()
    } else {
        e
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
    if interest.is_priority() {
        bits |= libc::EPOLLPRI;
    }
    if opts.is_edge() && !opts.is_level() {
        bits |= libc::EPOLLET;
    }
    if opts.is_oneshot() {
        bits |= libc::EPOLLONESHOT;
    }
    bits as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_wins_over_edge() {
        let bits = interest_to_epoll(EventSet::readable(), PollOpt::edge() | PollOpt::level());
        assert_eq!(bits & libc::EPOLLET as u32, 0);
        let bits = interest_to_epoll(EventSet::readable(), PollOpt::edge());
        assert_ne!(bits & libc::EPOLLET as u32, 0);
    }
}
