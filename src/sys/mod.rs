//! The OS edge: every raw syscall and almost all `unsafe` code of ferrio lives below this module.
//!
//! # The backend contract
//!
//! A selector backend is one file in this directory (`epoll.rs`, `poll.rs`, `uring.rs`,
//! `kqueue.rs` with its OS-independent half `kqueue_logic.rs`, `iocp/`) whose
//! type implements the crate-private trait [`Selector`]: the compiler checks that every backend
//! provides the same operations, and the trait's docs are the promises each must keep. This
//! module holds the trait, the run-time choice between the backends ([`AnySelector`]: one enum
//! arm per backend, each method one `match` that only forwards) and the state that every
//! backend shares ([`Shared`]: the selector's id, its [`WakeState`] and its
//! [`DeregisterLog`]). `Poll`, `Registry`, `Waker`, the sources and the event loop use only
//! [`Shared`], [`Waker`] and [`Events`]; adding a backend means one new file and one enum arm.
//!
//! What every backend shares, one implementation each:
//!
//! * [`Events`] ([`event`]): ferrio's raw event (token + readiness bits with epoll's layout and
//!   values), written by every backend's `select`, read by `ferrio::Events`.
//! * The waker ([`waker`]): a coalescing flag in front of the backend's raw notification
//!   ([`Selector::notify`]); [`wake_fd`] is the eventfd or pipe most backends notify through.
//! * The deregistration log ([`deregister_log`]) behind the event loop's same-batch guarantee.
//!
//! Besides the selectors, this layer offers thin, documented wrappers for the other syscalls
//! the sources need (`accept4`, `pipe2`, `send` with `MSG_NOSIGNAL`, `sendmsg`/`recvmsg` with
//! `SCM_RIGHTS`, `sendmmsg`/`recvmmsg`), each creating fds non-blocking and close-on-exec
//! atomically, and the OS mechanisms of the signal and child-exit sources: the `sigaction`
//! handler and self-pipes ([`signal`]), pidfds and non-blocking reaping ([`process`]), and on
//! kqueue systems the sources' own kqueues (`kevent`).

#[cfg(unix)]
#[macro_use]
mod syscall;

mod deregister_log;
mod event;
#[cfg(unix)]
mod pollable;
#[cfg(unix)]
mod timeout;
#[cfg(unix)]
mod wake_fd;
pub(crate) mod waker;

#[cfg(target_os = "linux")]
mod epoll;
#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
mod kqueue;
// The kqueue backend's OS-independent logic: compiled with it, and on Linux for its unit tests.
#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
    all(test, target_os = "linux")
))]
mod kqueue_logic;
#[cfg(unix)]
mod poll;
#[cfg(all(target_os = "linux", feature = "uring"))]
mod uring;

// Windows: the IOCP selector (readiness through AFD polls) and the socket calls of the sources.
#[cfg(windows)]
mod iocp;
#[cfg(windows)]
pub(crate) mod windows;
#[cfg(windows)]
pub(crate) use windows::monotonic_ns;

/// Reads into a `BufMut`'s uninitialised spare capacity (the sources' `try_read_buf`).
#[cfg(unix)]
pub(crate) use fd::read_buf;
#[cfg(windows)]
pub(crate) use windows::read_buf;

pub(crate) mod detach;
#[cfg(all(unix, feature = "fault-injection"))]
pub mod fault;
#[cfg(unix)]
pub(crate) mod fd;
#[cfg(unix)]
mod fd_conversions;
#[cfg(unix)]
pub(crate) mod mmsg;
#[cfg(unix)]
pub(crate) mod process;
#[cfg(unix)]
pub(crate) mod signal;
#[cfg(windows)]
mod socket_conversions;
#[cfg(unix)]
pub(crate) mod unix_msg;

// The own kqueues of the signal and child-exit sources (not the kqueue selector backend).
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
))]
mod kevent;

// epoll's bits, which poll(2) and io_uring share on Linux only.
#[cfg(all(test, target_os = "linux"))]
mod readiness_tests;

pub(crate) use deregister_log::DeregisterLog;
pub(crate) use event::{Events, RawEvent};
pub(crate) use waker::WakeState;

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::backend::Backend;
use crate::event_set::EventSet;
use crate::poll_opt::PollOpt;
use crate::token::Token;

/// The OS handle a selector registers: a file descriptor on Unix.
#[cfg(unix)]
pub(crate) type RawSource = std::os::fd::RawFd;
/// The OS handle a selector registers: a socket on Windows.
#[cfg(windows)]
pub(crate) type RawSource = std::os::windows::io::RawSocket;

/// A [`RawSource`] in an atomic (an `IoSource`'s lock-free IO word).
#[cfg(unix)]
pub(crate) type AtomicRawSource = std::sync::atomic::AtomicI32;
#[cfg(windows)]
pub(crate) type AtomicRawSource = std::sync::atomic::AtomicU64;
/// A [`RawSource`] value no open file or socket has (`-1`; `INVALID_SOCKET` on Windows).
#[cfg(unix)]
pub(crate) const NO_SOURCE: RawSource = -1;
#[cfg(windows)]
pub(crate) const NO_SOURCE: RawSource = !0;

/// The std trait [`AsRawSource`] is implemented through: `AsRawFd` on Unix, `AsRawSocket` on
/// Windows (for bounds that must hold of wrappers such as `Detachable`).
#[cfg(unix)]
pub(crate) use std::os::fd::AsRawFd as AsRawOs;
#[cfg(windows)]
pub(crate) use std::os::windows::io::AsRawSocket as AsRawOs;

/// The raw handle of a source's IO object (`AsRawFd` on Unix, `AsRawSocket` on Windows): the
/// bound of `IoSource`.
pub(crate) trait AsRawSource {
    fn as_raw_source(&self) -> RawSource;
}

#[cfg(unix)]
impl<T: std::os::fd::AsRawFd> AsRawSource for T {
    #[inline]
    fn as_raw_source(&self) -> RawSource {
        self.as_raw_fd()
    }
}

#[cfg(windows)]
impl<T: std::os::windows::io::AsRawSocket> AsRawSource for T {
    #[inline]
    fn as_raw_source(&self) -> RawSource {
        self.as_raw_socket()
    }
}

/// The deregistration log's key of a source: its fd or socket value; `None` for a value that
/// cannot be registered (a negative fd).
#[inline]
fn log_key(source: RawSource) -> Option<usize> {
    usize::try_from(source).ok()
}

/// What every selector backend provides. Implemented once per backend file; the layers above
/// reach it only through [`Shared`].
///
/// Every method may be called from any thread, also while another thread is blocked in
/// [`select`](Selector::select): a backend is `Send + Sync` and shared behind an `Arc` by
/// `Poll`, every `Registry` clone and the `Waker`.
pub(crate) trait Selector: Sized + Send + Sync + fmt::Debug {
    /// Creates the OS object(s), close-on-exec.
    fn new() -> io::Result<Self>;

    /// Starts reporting `fd` under `token` for `interest`, with `opts` (edge, level, oneshot:
    /// level wins over edge, empty means level).
    ///
    /// The interest takes effect no later than the next `select` that starts after the call
    /// returns; a call made while another thread is blocked in `select` must either be seen by
    /// that wait or end it (a spurious wake-up is allowed).
    ///
    /// Errors, kept as the OS errors epoll gives so that `raw_os_error()` works on every
    /// backend: an fd the selector already has is `EEXIST` (`AlreadyExists`); a regular file,
    /// a directory or (Linux) a device without a poll method such as `/dev/null` `EPERM`
    /// (`PermissionDenied`); a bad fd `EBADF`. A failed call leaves no state behind.
    fn register(
        &self,
        fd: RawSource,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()>;

    /// Replaces `fd`'s token, interest and options, and re-arms a oneshot registration.
    /// An fd the selector does not have is `ENOENT` (`NotFound`).
    fn reregister(
        &self,
        fd: RawSource,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()>;

    /// Stops reporting `fd`: no `select` that starts after this returns reports it, and the
    /// selector keeps no reference to the file (closing the fd really closes it). An fd the
    /// selector does not have is `ENOENT` (`NotFound`).
    fn deregister(&self, fd: RawSource) -> io::Result<()>;

    /// Waits until at least one event, a wake-up or the timeout, and fills `events` (cleared
    /// first).
    ///
    /// * The timeout is rounded **up** to the backend's resolution, never down (a 0.3 ms
    ///   timeout must not become a busy zero-timeout poll); `Duration::ZERO` polls without
    ///   blocking; `None` blocks indefinitely. Completions or wake-ups internal to the backend
    ///   never end a timed wait early with nothing to report: the backend waits for the rest.
    /// * A signal interrupting the wait is `ErrorKind::Interrupted`, never retried silently.
    /// * At most one event per source per call (readable and writable merged).
    /// * When more sources are ready than `events` holds, the rest are reported by later
    ///   calls, and no source (the waker included) starves the others.
    /// * After its wait, the backend calls `waker.take_pending()` exactly once; if it returns
    ///   true and the backend's notification is not already an event under the waker's token,
    ///   it reports `waker.token()` as readable.
    fn select(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        waker: &WakeState,
    ) -> io::Result<()>;

    /// [`select`](Selector::select) with the timeout in whole nanoseconds (`None` blocks,
    /// `Some(0)` does not), the form the event loop keeps its deadlines in. A backend whose
    /// wait counts milliseconds overrides it to round the nanoseconds up directly, without a
    /// `Duration` in between; the others take this default.
    #[inline(always)]
    fn select_ns(
        &self,
        events: &mut Events,
        timeout_ns: Option<u64>,
        waker: &WakeState,
    ) -> io::Result<()> {
        self.select(events, timeout_ns.map(Duration::from_nanos), waker)
    }

    /// Arranges for [`notify`](Selector::notify) to be reported as a readable event with
    /// `token` (called when a `Waker` is made, with no other `Waker` alive; the previous
    /// token, if any, is replaced). A notification of an earlier `Waker` that no wait has
    /// collected yet (`waker` is pending) must still be reported; one already collected must
    /// not be reported again.
    fn install_waker(&self, token: Token, waker: &WakeState) -> io::Result<()>;

    /// Ends a blocked `select` (or makes the next one return at once): the raw notification
    /// behind the coalescing waker. May be called from any thread.
    fn notify(&self) -> io::Result<()>;

    /// Whether sources must call [`rearm`](Selector::rearm) after their IO: true for backends
    /// that emulate edge-triggering (poll(2)). Cached by each source at registration.
    fn needs_rearm(&self) -> bool {
        false
    }

    /// Re-arms `direction` (readable or writable) of an edge-triggered `fd` after one of
    /// ferrio's IO calls of that direction on it or on a `try_clone` of it (the emulation hook
    /// of [`needs_rearm`](Selector::needs_rearm) backends).
    fn rearm(&self, _fd: RawSource, _direction: EventSet) {}
}

/// The selector of one `Poll`, on the backend chosen at run time.
// Allocated once, behind an `Arc`: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum AnySelector {
    #[cfg(target_os = "linux")]
    Epoll(epoll::EpollSelector),
    #[cfg(unix)]
    Poll(poll::PollSelector),
    #[cfg(all(target_os = "linux", feature = "uring"))]
    Uring(uring::UringSelector),
    #[cfg(any(
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ))]
    Kqueue(kqueue::KqueueSelector),
    #[cfg(windows)]
    Iocp(iocp::IocpSelector),
}

/// Forwards one call to the backend: one arm per backend (each as cfg'd as its variant).
macro_rules! dispatch {
    ($self:expr, $s:ident => $call:expr) => {
        match $self {
            #[cfg(target_os = "linux")]
            AnySelector::Epoll($s) => $call,
            #[cfg(unix)]
            AnySelector::Poll($s) => $call,
            #[cfg(all(target_os = "linux", feature = "uring"))]
            AnySelector::Uring($s) => $call,
            #[cfg(any(
                target_vendor = "apple",
                target_os = "freebsd",
                target_os = "netbsd",
                target_os = "openbsd",
                target_os = "dragonfly"
            ))]
            AnySelector::Kqueue($s) => $call,
            #[cfg(windows)]
            AnySelector::Iocp($s) => $call,
        }
    };
}

impl AnySelector {
    fn backend(&self) -> Backend {
        match self {
            #[cfg(target_os = "linux")]
            AnySelector::Epoll(_) => Backend::Epoll,
            #[cfg(unix)]
            AnySelector::Poll(_) => Backend::Poll,
            #[cfg(all(target_os = "linux", feature = "uring"))]
            AnySelector::Uring(_) => Backend::Uring,
            #[cfg(any(
                target_vendor = "apple",
                target_os = "freebsd",
                target_os = "netbsd",
                target_os = "openbsd",
                target_os = "dragonfly"
            ))]
            AnySelector::Kqueue(_) => Backend::Kqueue,
            #[cfg(windows)]
            AnySelector::Iocp(_) => Backend::Iocp,
        }
    }

    /// A selector on `backend`; see [`Shared::new`].
    fn new(backend: Backend) -> io::Result<(AnySelector, Option<io::Error>)> {
        Ok(match backend {
            #[cfg(target_os = "linux")]
            Backend::Epoll => (AnySelector::Epoll(epoll::EpollSelector::new()?), None),
            #[cfg(unix)]
            Backend::Poll => (AnySelector::Poll(poll::PollSelector::new()?), None),
            #[cfg(all(target_os = "linux", feature = "uring"))]
            Backend::Uring => match uring::UringSelector::new() {
                Ok(s) => (AnySelector::Uring(s), None),
                Err(reason) => (
                    AnySelector::Epoll(epoll::EpollSelector::new()?),
                    Some(io::Error::new(
                        reason.kind(),
                        format!("io_uring unavailable, using epoll: {reason}"),
                    )),
                ),
            },
            #[cfg(any(
                target_vendor = "apple",
                target_os = "freebsd",
                target_os = "netbsd",
                target_os = "openbsd",
                target_os = "dragonfly"
            ))]
            Backend::Kqueue => (AnySelector::Kqueue(kqueue::KqueueSelector::new()?), None),
            #[cfg(windows)]
            Backend::Iocp => (AnySelector::Iocp(iocp::IocpSelector::new()?), None),
            #[allow(unreachable_patterns)] // every backend exists in some builds only
            other => return Err(other.unavailable()),
        })
    }

    #[inline]
    fn register(
        &self,
        fd: RawSource,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        dispatch!(self, s => s.register(fd, token, interest, opts))
    }

    #[inline]
    fn reregister(
        &self,
        fd: RawSource,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        dispatch!(self, s => s.reregister(fd, token, interest, opts))
    }

    #[inline]
    fn deregister(&self, fd: RawSource) -> io::Result<()> {
        dispatch!(self, s => s.deregister(fd))
    }

    /// On Linux, epoll (the default backend) is inlined into the caller and the others are one
    /// call away ([`select_other`](Self::select_other)): the test of one variant compares the
    /// tag in memory, where a `match` over all of them loads it first.
    #[inline(always)]
    fn select(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        waker: &WakeState,
    ) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        if let AnySelector::Epoll(s) = self {
            return s.select(events, timeout, waker);
        }
        self.select_other(events, timeout, waker)
    }

    /// [`select`](Self::select) for the backends that are not inlined.
    #[cfg_attr(target_os = "linux", inline(never))]
    #[cfg_attr(not(target_os = "linux"), inline(always))]
    fn select_other(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        waker: &WakeState,
    ) -> io::Result<()> {
        dispatch!(self, s => s.select(events, timeout, waker))
    }

    /// As [`select`](Self::select): epoll inline on Linux, the others one call away.
    #[inline(always)]
    fn select_ns(
        &self,
        events: &mut Events,
        timeout_ns: Option<u64>,
        waker: &WakeState,
    ) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        if let AnySelector::Epoll(s) = self {
            return s.select_ns(events, timeout_ns, waker);
        }
        self.select_ns_other(events, timeout_ns, waker)
    }

    /// [`select_ns`](Self::select_ns) for the backends that are not inlined.
    #[cfg_attr(target_os = "linux", inline(never))]
    #[cfg_attr(not(target_os = "linux"), inline(always))]
    fn select_ns_other(
        &self,
        events: &mut Events,
        timeout_ns: Option<u64>,
        waker: &WakeState,
    ) -> io::Result<()> {
        dispatch!(self, s => s.select_ns(events, timeout_ns, waker))
    }

    #[inline]
    fn install_waker(&self, token: Token, waker: &WakeState) -> io::Result<()> {
        dispatch!(self, s => s.install_waker(token, waker))
    }

    #[inline]
    fn notify(&self) -> io::Result<()> {
        dispatch!(self, s => s.notify())
    }

    #[inline]
    fn needs_rearm(&self) -> bool {
        dispatch!(self, s => s.needs_rearm())
    }

    #[inline]
    fn rearm(&self, fd: RawSource, direction: EventSet) {
        dispatch!(self, s => s.rearm(fd, direction))
    }
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// The state one `Poll` shares with its `Registry` clones and its `Waker`: the backend plus
/// what every backend needs around it.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Unique in the process, never reused, never 0.
    id: usize,
    selector: AnySelector,
    waker: WakeState,
    log: DeregisterLog,
    /// The `Poll` was dropped: nothing will poll this selector again, so a source still
    /// registered here may move to another one.
    closed: AtomicBool,
}

impl Shared {
    /// A selector on `backend`. A kernel that refuses io_uring gives epoll and the reason,
    /// as `Ok((shared, Some(reason)))`; a backend this platform or build lacks is an
    /// `Unsupported` error.
    pub(crate) fn new(backend: Backend) -> io::Result<(Shared, Option<io::Error>)> {
        let (selector, fallback) = AnySelector::new(backend)?;
        let shared = Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            selector,
            waker: WakeState::new(),
            log: DeregisterLog::default(),
            closed: AtomicBool::new(false),
        };
        Ok((shared, fallback))
    }

    /// The owning `Poll` was dropped (see [`is_closed`](Self::is_closed)).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Whether the owning `Poll` was dropped: `Registry` clones, wakers and registered sources
    /// may keep the selector alive, but no `select` will run on it again.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    #[inline]
    pub(crate) fn id(&self) -> usize {
        self.id
    }

    pub(crate) fn backend(&self) -> Backend {
        self.selector.backend()
    }

    pub(crate) fn register(
        &self,
        fd: RawSource,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        self.selector.register(fd, token, interest, opts)?;
        self.log.registered(fd as usize, token);
        Ok(())
    }

    pub(crate) fn reregister(
        &self,
        fd: RawSource,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        self.selector.reregister(fd, token, interest, opts)?;
        self.log.registered(fd as usize, token);
        Ok(())
    }

    /// Deregisters `fd`. Recorded in the log even when the selector no longer knew it (a
    /// closed raw fd): the registration is gone either way.
    pub(crate) fn deregister(&self, fd: RawSource) -> io::Result<()> {
        let res = self.selector.deregister(fd);
        if let Some(key) = log_key(fd) {
            self.log.deregistered(key);
        }
        res
    }

    #[inline(always)]
    pub(crate) fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        self.selector.select(events, timeout, &self.waker)
    }

    /// See [`Selector::select_ns`].
    #[inline(always)]
    pub(crate) fn select_ns(&self, events: &mut Events, timeout_ns: Option<u64>) -> io::Result<()> {
        self.selector.select_ns(events, timeout_ns, &self.waker)
    }

    /// See [`Selector::needs_rearm`].
    #[inline]
    pub(crate) fn needs_rearm(&self) -> bool {
        self.selector.needs_rearm()
    }

    /// See [`Selector::rearm`].
    pub(crate) fn rearm(&self, fd: RawSource, direction: EventSet) {
        self.selector.rearm(fd, direction)
    }

    /// The record of deregistrations behind the event loop's same-batch guarantee.
    #[inline]
    pub(crate) fn deregister_log(&self) -> &DeregisterLog {
        &self.log
    }
}

/// Wakes a blocked `select`: the selector's one waker slot, held while this lives.
#[derive(Debug)]
pub(crate) struct Waker {
    shared: Arc<Shared>,
    /// Whether this waker holds the selector's waker slot (and frees it on drop); false for
    /// one sharing the slot of a `Waker` the program made (see [`Waker::new_or_share`]).
    owns_slot: bool,
}

impl Waker {
    /// Claims `shared`'s waker slot for `token`.
    ///
    /// # Errors
    ///
    /// `AlreadyExists` while another `Waker` of the selector exists, or the backend's error
    /// setting up its notification.
    pub(crate) fn new(shared: &Arc<Shared>, token: Token) -> io::Result<Waker> {
        shared.waker.claim(token)?;
        if let Err(e) = shared.selector.install_waker(token, &shared.waker) {
            shared.waker.release();
            return Err(e);
        }
        Ok(Waker {
            shared: Arc::clone(shared),
            owns_slot: true,
        })
    }

    /// Like [`new`](Self::new), but if another `Waker` holds the slot, a waker that shares it
    /// (its wakes are reported under that waker's token) instead of an `AlreadyExists` error:
    /// for the event loop's channel, whose messages are delivered whatever token woke the
    /// loop.
    ///
    /// # Errors
    ///
    /// The backend's error setting up its notification.
    pub(crate) fn new_or_share(shared: &Arc<Shared>, token: Token) -> io::Result<Waker> {
        match Waker::new(shared, token) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(Waker {
                shared: Arc::clone(shared),
                owns_slot: false,
            }),
            other => other,
        }
    }

    #[inline]
    pub(crate) fn wake(&self) -> io::Result<()> {
        let shared = &*self.shared;
        shared.waker.wake(|| shared.selector.notify())
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        // The notification mechanism stays with the selector: a wake made just before this
        // drop still ends the blocked wait.
        if self.owns_slot {
            self.shared.waker.release();
        }
    }
}

/// `CLOCK_MONOTONIC` (the clock behind `Instant` on Linux) in nanoseconds, read without
/// `Instant`'s `timespec` arithmetic (the event loop's timers read it twice per iteration).
#[cfg(unix)]
#[inline]
pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is valid for writes; CLOCK_MONOTONIC always exists, so the call cannot
    // fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Locks a backend's mutex, ignoring poison: every critical section of the backends leaves
/// its data consistent before anything that can panic, so a panic elsewhere while it was held
/// leaves nothing half-done.
#[cfg(unix)]
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
