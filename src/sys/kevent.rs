//! Small kqueues of the signal and child-exit sources on macOS, iOS and the BSDs.
//!
//! A source owns a kqueue with one filter (`EVFILT_SIGNAL` per watched signal, or
//! `EVFILT_PROC` with `NOTE_EXIT` for a child) and registers that kqueue's fd, which is
//! readable while it has events, with whatever selector its `Poll` uses. So these sources do
//! not depend on the selector backend: the same code works under the kqueue backend and under
//! `poll(2)`.
//!
//! `EVFILT_SIGNAL` records every delivery attempt, whatever the signal's disposition, and
//! coalesces them per signal (the event's `data` counts them; the filter is `EV_CLEAR`).
//! ferrio's `sigaction` handler stays installed (`sys::signal`) so that a watched signal does
//! not take its default action, and chains to the handler it replaced.

// The kevent fields and flag constants have different integer types on each BSD (NetBSD's
// filter and flags are u32, macOS's i16/u16): the casts are needed somewhere, not everywhere.
#![allow(clippy::unnecessary_cast)]

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;

/// The ident of the one-shot timer that makes a child-exit kqueue readable "soon".
const TIMER_IDENT: usize = 1;

/// A new kqueue, close-on-exec.
fn kqueue() -> io::Result<OwnedFd> {
    // SAFETY: kqueue takes no arguments.
    let fd = unsafe { syscall!(kqueue()) }?;
    // SAFETY: the fd was just created and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: F_SETFD takes an int flag, no pointer.
    unsafe { syscall!(fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC)) }?;
    Ok(fd)
}

/// Applies one change to `kq` (`EV_SET` + `kevent` without an event list, so an error is the
/// call's `errno`).
fn change(
    kq: RawFd,
    ident: usize,
    filter: i32,
    flags: u32,
    fflags: u32,
    data: i64,
) -> io::Result<()> {
    // SAFETY: an all-zero kevent is a valid value; the fields are set below.
    let mut ev: libc::kevent = unsafe { mem::zeroed() };
    ev.ident = ident as _;
    ev.filter = filter as _;
    ev.flags = flags as _;
    ev.fflags = fflags as _;
    ev.data = data as _;
    // SAFETY: one valid change, no event list, no timeout pointer needed.
    unsafe { syscall!(kevent(kq, &ev, 1, ptr::null_mut(), 0, ptr::null())) }.map(drop)
}

/// Fetches every event of `kq` without waiting and calls `f(filter, ident)` for each.
fn drain_events(kq: RawFd, mut f: impl FnMut(i32, usize)) -> io::Result<()> {
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: all-zero kevents are valid values for the kernel to overwrite.
    let mut events: [libc::kevent; 16] = unsafe { mem::zeroed() };
    loop {
        // SAFETY: `events` has room for events.len() entries; the timeout is a live timespec.
        let n = unsafe {
            syscall!(kevent(
                kq,
                ptr::null(),
                0,
                events.as_mut_ptr(),
                events.len() as _,
                &zero
            ))
        }?;
        let n = n as usize;
        for ev in &events[..n] {
            f(ev.filter as i32, ev.ident as usize);
        }
        if n < events.len() {
            return Ok(());
        }
    }
}

/// A set of watched signals, notified through a kqueue's `EVFILT_SIGNAL` filters. The kqueue,
/// which the selector polls, is given to the caller by [`SignalReceiver::new`].
#[derive(Debug)]
pub(crate) struct SignalReceiver {
    set: u64,
}

impl SignalReceiver {
    /// Starts watching `set` (valid signal bits, not empty).
    ///
    /// # Errors
    ///
    /// The OS error of `kqueue`, `kevent` or `sigaction`; nothing is left behind.
    pub(crate) fn new(set: u64) -> io::Result<(OwnedFd, SignalReceiver)> {
        let kq = kqueue()?;
        for signo in 1..=super::signal::SET_BITS {
            if set & (1 << (signo - 1)) != 0 {
                change(
                    kq.as_raw_fd(),
                    signo as usize,
                    libc::EVFILT_SIGNAL as i32,
                    (libc::EV_ADD | libc::EV_CLEAR) as u32,
                    0,
                    0,
                )?;
            }
        }
        // Filters first: a signal arriving right after the handler is installed is recorded.
        super::signal::add_hooks(set)?;
        Ok((kq, SignalReceiver { set }))
    }

    /// Takes the pending signals of the kqueue `kq`. Never blocks.
    pub(crate) fn take(&self, kq: RawFd) -> io::Result<u64> {
        let mut bits = 0u64;
        drain_events(kq, |filter, ident| {
            if filter == libc::EVFILT_SIGNAL as i32
                && (1..=super::signal::SET_BITS as usize).contains(&ident)
            {
                bits |= 1 << (ident - 1);
            }
        })?;
        Ok(bits & self.set)
    }
}

impl Drop for SignalReceiver {
    fn drop(&mut self) {
        super::signal::release_hooks(self.set);
    }
}

/// A kqueue that becomes readable when the child `pid` exits (`EVFILT_PROC`, `NOTE_EXIT`).
/// A child that already exited (`ESRCH`) makes it readable at once, through a timer.
///
/// # Errors
///
/// The OS error of `kqueue` or `kevent`.
pub(crate) fn watch_exit(pid: libc::pid_t) -> io::Result<OwnedFd> {
    let kq = kqueue()?;
    match change(
        kq.as_raw_fd(),
        pid as usize,
        libc::EVFILT_PROC as i32,
        (libc::EV_ADD | libc::EV_ONESHOT) as u32,
        libc::NOTE_EXIT as u32,
        0,
    ) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => wake_soon(kq.as_raw_fd())?,
        Err(e) => return Err(e),
    }
    Ok(kq)
}

/// Drains a child-exit kqueue; whether it reported the exit (or the retry timer).
pub(crate) fn drain_exit(kq: RawFd) -> io::Result<bool> {
    let mut exited = false;
    drain_events(kq, |filter, _| {
        exited |= filter == libc::EVFILT_PROC as i32 || filter == libc::EVFILT_TIMER as i32;
    })?;
    Ok(exited)
}

/// Makes the kqueue readable in about a millisecond (a one-shot `EVFILT_TIMER`).
pub(crate) fn wake_soon(kq: RawFd) -> io::Result<()> {
    change(
        kq,
        TIMER_IDENT,
        libc::EVFILT_TIMER as i32,
        (libc::EV_ADD | libc::EV_ONESHOT) as u32,
        0,
        1,
    )
}
