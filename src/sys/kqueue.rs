//! The kqueue backend: macOS, iOS (and the other Apple targets), FreeBSD, NetBSD, OpenBSD and
//! DragonFly.
//!
//! **Compiled, not run**: CI type-checks and lints this file for six targets but has no such
//! machine to run it on. The decisions it makes are in `kqueue_logic.rs`, over plain values,
//! and unit-tested on Linux; this file only translates them to `libc::kevent` (whose field
//! types differ: `filter` and `flags` are `i16`/`u16` everywhere but NetBSD, where they are
//! `u32`; `data` is `intptr_t` or `i64`) and makes the calls. Man pages: `kqueue(2)` /
//! `kevent(2)` of each system.
//!
//! * **Registrations** live in a [`Table`] (kqueue cannot say "already registered", and has
//!   nothing to hold a registration with an empty interest) behind a `Mutex`. `register`,
//!   `reregister` and `deregister` each make **one** `kevent` call carrying the changes of
//!   both filters with `EV_RECEIPT` (each change reports its own errno; no pending event is
//!   drained), under the table's lock, so the table and the kernel change together as far as
//!   `select` can see. These calls are made by the calling thread while another may wait in
//!   `select`: the kernel applies them to that wait at once (no wake-up needed). They are not
//!   deferred into the next wait's change list, because their errors (`EBADF`, `EPIPE` for a
//!   pipe whose reader is gone, `ENOMEM`) must be the call's result, and `deregister` must
//!   have removed the filters when it returns. A failed call is undone (best effort: its
//!   successful changes are reverted by a second call).
//! * **select** is one `kevent` call with no changes, waiting for at most as many `kevent`s as
//!   the events buffer has room for (each makes at most one event), with a nanosecond
//!   `timespec` (`None` waits indefinitely; beyond 68 years too). The returned `kevent`s are
//!   merged by source into the buffer under the table's lock, tokens taken from the table.
//!   A wait that an already collected wake, or only `kevent`s of sources that changed during
//!   it, ended waits again for what is left of its timeout.
//! * **The waker** is an `EVFILT_USER` event (`EV_CLEAR`, triggered by `NOTE_TRIGGER`) where
//!   the kernel has one: macOS and iOS, FreeBSD, DragonFly, NetBSD 10 and later, OpenBSD 7.8
//!   and later. It is added with the first `Waker`; where the kernel refuses it (older NetBSD
//!   and OpenBSD) a [`WakeFd`] pipe is registered instead (level-triggered, drained by
//!   `select` before it takes the waker's flag, so no wake is lost to a full pipe).
//! * **Closed fds**: closing an fd removes its filters from every kqueue, and a kqueue holds no
//!   reference to the file (unlike io_uring): closing a registered fd really closes it. What
//!   stays is ferrio's table entry, until `deregister` (ferrio's own sources deregister on
//!   drop; for a raw fd see `Backend::Kqueue`).
//! * It relies on `EV_RECEIPT` and `EV_DISPATCH`, which the current releases of all these
//!   systems document (not verified here on a running system of each).
//! * The kqueue itself is close-on-exec: atomically with `kqueue1(O_CLOEXEC)` on NetBSD, by
//!   `fcntl` right after `kqueue()` elsewhere. No fork race there: a kqueue is not inherited
//!   by a forked child at all.

use std::io;
use std::mem::{self, MaybeUninit};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, OnceLock};

use super::lock;
use std::time::Duration;

use super::event::ready;
use super::event::Events;
use super::kqueue_logic::{
    changes, first_error, flags, timespec_of, Change, Filter, KEvent, Table,
};
use super::pollable::{already_registered, check_pollable, not_registered};
use super::wake_fd::WakeFd;
use super::waker::WakeState;
use super::Selector;
use crate::event_set::EventSet;
use crate::poll_opt::PollOpt;
use crate::token::Token;

// The `EV_*` values of `kqueue_logic::flags` are every system's. (`flags` is a `u16` on most
// systems, a `u32` on NetBSD, where the casts do nothing.)
#[allow(clippy::unnecessary_cast)]
const _: () = {
    assert!(libc::EV_ADD as u32 == flags::ADD);
    assert!(libc::EV_DELETE as u32 == flags::DELETE);
    assert!(libc::EV_ENABLE as u32 == flags::ENABLE);
    assert!(libc::EV_DISPATCH as u32 == flags::DISPATCH);
    assert!(libc::EV_CLEAR as u32 == flags::CLEAR);
    assert!(libc::EV_RECEIPT as u32 == flags::RECEIPT);
    assert!(libc::EV_ERROR as u32 == flags::ERROR);
    assert!(libc::EV_EOF as u32 == flags::EOF);
    assert!(libc::ENOENT as i64 == super::kqueue_logic::ENOENT);
};

/// The `ident` of the waker's `EVFILT_USER` event (its own namespace: not an fd).
const WAKE_IDENT: usize = 0;

/// `kevent.data`'s type (`intptr_t` or `i64`), named so that converting it reads the same
/// on every system.
type KeventData = i64;

/// How `notify` ends a wait.
#[derive(Debug)]
enum Wake {
    /// `EVFILT_USER`, `NOTE_TRIGGER`.
    User,
    /// A pipe whose read end is registered (level-triggered).
    Pipe(WakeFd),
}

/// What only `select` touches.
#[derive(Debug)]
struct SelectState {
    /// Where the kernel writes the kevents of a wait; grows to the events buffer's capacity
    /// once, never per select.
    buf: Vec<libc::kevent>,
    /// A wake that found the events buffer full; reported by the next `select`.
    wake_owed: bool,
}

// SAFETY: `libc::kevent` holds a `udata` pointer, which ferrio never sets (it is null) nor
// reads: the buffer is plain data, safe to move to and use from another thread.
unsafe impl Send for SelectState {}

/// A kqueue.
#[derive(Debug)]
pub(crate) struct KqueueSelector {
    kq: OwnedFd,
    table: Mutex<Table>,
    state: Mutex<SelectState>,
    /// The waker's mechanism, set up with the first `Waker`.
    wake: OnceLock<Wake>,
}

/// How a wait went.
struct Outcome {
    /// The wait ended with nothing to report (an already collected wake, `kevent`s of
    /// sources that changed meanwhile): the caller waits again.
    again: bool,
}

impl Selector for KqueueSelector {
    fn new() -> io::Result<KqueueSelector> {
        Ok(KqueueSelector {
            kq: new_kqueue()?,
            table: Mutex::new(Table::default()),
            state: Mutex::new(SelectState {
                buf: Vec::new(),
                wake_owed: false,
            }),
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
        check_pollable(fd)?;
        let mut table = lock(&self.table);
        if table.get(fd as usize).is_some() {
            return Err(already_registered());
        }
        let new = (interest, opts);
        if let Err(e) = self.apply(fd, changes(None, Some(new)).as_slice()) {
            // Undo the filter that was added, if one was (ENOENT for the other is ignored).
            let _ = self.apply(fd, changes(Some(new), None).as_slice());
            return Err(e);
        }
        table.insert(fd as usize, token, new);
        Ok(())
    }

    fn reregister(
        &self,
        fd: RawFd,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        let index = usize::try_from(fd).map_err(|_| not_registered())?;
        let mut table = lock(&self.table);
        let old = table.get(index).ok_or_else(not_registered)?.interest();
        let new = (interest, opts);
        if let Err(e) = self.apply(fd, changes(Some(old), Some(new)).as_slice()) {
            // Back to the old filters. (A oneshot registration that was disarmed may have a
            // filter enabled by this; the table still says disarmed, so its kevent is
            // dropped.)
            let _ = self.apply(fd, changes(Some(new), Some(old)).as_slice());
            return Err(e);
        }
        table.update(index, token, new);
        Ok(())
    }

    fn deregister(&self, fd: RawFd) -> io::Result<()> {
        let index = usize::try_from(fd).map_err(|_| not_registered())?;
        let mut table = lock(&self.table);
        let old = table.remove(index).ok_or_else(not_registered)?;
        // The registration is gone from the table either way; the kernel's error (EBADF for
        // an fd closed meanwhile, whose filters the close removed) is still the result, as
        // epoll's would be.
        self.apply(fd, changes(Some(old.interest()), None).as_slice())
    }

    fn select(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        waker: &WakeState,
    ) -> io::Result<()> {
        // A wait that ends with nothing to report waits again for what is left.
        super::timeout::wait_out(timeout, |left| {
            Ok(self.select_once(events, left, waker)?.again)
        })
    }

    fn install_waker(&self, _token: Token, waker: &WakeState) -> io::Result<()> {
        // `select` reports `waker.token()` from the waker's flag; the kernel's event only
        // ends the wait. So a new token needs nothing here, and a trigger that an earlier
        // wait collected already only ends a wait, reporting nothing.
        if let Some(wake) = self.wake.get() {
            if let Wake::Pipe(pipe) = wake {
                if !waker.is_pending() {
                    pipe.drain();
                }
            }
            return Ok(());
        }
        let wake = match self.add_user_event() {
            Ok(()) => Wake::User,
            Err(_) => {
                // No EVFILT_USER in this kernel (NetBSD before 10, OpenBSD before 7.8): a
                // pipe, level-triggered. On failure the new pipe is closed here.
                let pipe = WakeFd::new()?;
                let add = Change {
                    filter: Filter::Read,
                    flags: flags::ADD | flags::ENABLE | flags::RECEIPT,
                };
                self.apply(pipe.as_raw_fd(), &[add])?;
                Wake::Pipe(pipe)
            }
        };
        // Only the Waker's constructor, which holds the selector's single waker slot, gets
        // here: nothing can have set it meanwhile.
        let _ = self.wake.set(wake);
        Ok(())
    }

    fn notify(&self) -> io::Result<()> {
        match self.wake.get() {
            Some(Wake::User) => {
                let mut trigger = kevent(
                    WAKE_IDENT,
                    Filter::User,
                    flags::ADD | flags::RECEIPT,
                    libc::NOTE_TRIGGER,
                );
                self.submit(std::slice::from_mut(&mut trigger))
            }
            Some(Wake::Pipe(pipe)) => pipe.notify(),
            None => Ok(()),
        }
    }
}

impl KqueueSelector {
    /// Adds the waker's `EVFILT_USER` event (`EV_CLEAR`: reset once delivered).
    fn add_user_event(&self) -> io::Result<()> {
        let mut add = kevent(
            WAKE_IDENT,
            Filter::User,
            flags::ADD | flags::CLEAR | flags::RECEIPT,
            0,
        );
        self.submit(std::slice::from_mut(&mut add))
    }

    /// Applies `changes` (all with `EV_RECEIPT`) to `fd` in one `kevent` call; the first
    /// failed change's errno is the error (see `first_error`).
    fn apply(&self, fd: RawFd, changes: &[Change]) -> io::Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        debug_assert!(changes.len() <= 4);
        let mut list = [kevent(0, Filter::Read, 0, 0); 4];
        for (slot, change) in list.iter_mut().zip(changes) {
            debug_assert!(change.flags & flags::RECEIPT != 0);
            *slot = kevent(fd as usize, change.filter, change.flags, 0);
        }
        let list = &mut list[..changes.len()];
        let mut results = [0i64; 4];
        let n = self.receipts(list)?;
        for (result, receipt) in results.iter_mut().zip(&list[..n]) {
            *result = receipt_errno(receipt);
        }
        // Fewer receipts than changes only after EINTR, which applied them all (the missing
        // results stay 0).
        match first_error(changes, &results[..changes.len()]) {
            None => Ok(()),
            Some(errno) => Err(io::Error::from_raw_os_error(errno as i32)),
        }
    }

    /// Submits `changes`, all with `EV_RECEIPT`, and returns the first receipt's error.
    fn submit(&self, changes: &mut [libc::kevent]) -> io::Result<()> {
        let n = self.receipts(changes)?;
        match changes[..n].iter().map(receipt_errno).find(|&e| e != 0) {
            None => Ok(()),
            Some(errno) => Err(io::Error::from_raw_os_error(errno as i32)),
        }
    }

    /// One `kevent` call that applies `list` (every change with `EV_RECEIPT`) and writes the
    /// receipts over it, in order; returns how many. With a receipt for every change the
    /// kernel returns at once and drains no pending event (every kernel: a call that wrote a
    /// receipt does not scan); the zero timeout is a second guarantee that it never waits.
    fn receipts(&self, list: &mut [libc::kevent]) -> io::Result<usize> {
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let len = list.len();
        let ptr = list.as_mut_ptr();
        // SAFETY: `kq` is a live kqueue owned by self; `ptr` points at `len` initialised
        // kevents, read as the change list and then overwritten by at most `len` receipts
        // (the kernel reads each change before it writes the receipt for it, in order);
        // `zero` is a live timespec. Bad idents are reported per change, not UB.
        let res = unsafe {
            syscall!(kevent(
                self.kq.as_raw_fd(),
                ptr,
                len as _,
                ptr,
                len as _,
                &zero
            ))
        };
        match res {
            Ok(n) => Ok(n as usize),
            // kevent(2): a call that fails with EINTR has applied every change (and written
            // no receipt).
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }

    fn select_once(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        waker: &WakeState,
    ) -> io::Result<Outcome> {
        events.clear();
        let mut state = lock(&self.state);
        let state = &mut *state;
        // An owed wake goes first, so that under a full buffer the waker and the sources take
        // turns; a new wake goes after the sources.
        let owed = mem::take(&mut state.wake_owed);
        let timeout = if owed { Some(Duration::ZERO) } else { timeout };
        if owed {
            if let Some(token) = waker.token() {
                events.push(token, ready::READABLE);
            }
        }
        // Each kevent makes at most one event: ask for no more than there is room for.
        let room = (events.capacity() - events.len()).min(libc::c_int::MAX as usize);
        if state.buf.capacity() < room {
            state.buf.reserve_exact(room);
        }
        let ts = timespec_of(timeout).map(|(secs, nanos)| libc::timespec {
            tv_sec: secs as libc::time_t,
            tv_nsec: nanos as libc::c_long,
        });
        let ts_ptr = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        let res = if room == 0 {
            Ok(0)
        } else {
            let buf = state.buf.spare_capacity_mut();
            let buf: *mut MaybeUninit<libc::kevent> = buf.as_mut_ptr();
            // SAFETY: `kq` is a live kqueue owned by self; no change list; `buf` has room for
            // `room` kevents (the kernel writes at most that many and returns how many);
            // `ts_ptr` is null or points at a live timespec.
            unsafe {
                syscall!(kevent(
                    self.kq.as_raw_fd(),
                    std::ptr::null(),
                    0,
                    buf.cast::<libc::kevent>(),
                    room as _,
                    ts_ptr
                ))
            }
            .map(|n| n as usize)
        };
        let n = match res {
            Ok(n) => n,
            Err(e) => {
                // Still after a wait: the waker's flag is cleared (and the wake reported) as
                // after any other.
                self.finish_wake(state, events, waker, owed);
                return Err(e);
            }
        };
        // SAFETY: the kernel initialised the first `n <= room <= capacity` entries.
        unsafe { state.buf.set_len(n) };
        let wake_pipe = match self.wake.get() {
            Some(Wake::Pipe(pipe)) => Some(pipe),
            _ => None,
        };
        let reported = {
            let mut table = lock(&self.table);
            table.begin_select();
            table.report(
                state.buf.iter().map(plain),
                wake_pipe.map(|p| p.as_raw_fd() as usize),
                events,
            )
        };
        state.buf.clear();
        if reported.notified {
            if let Some(pipe) = wake_pipe {
                // Before the waker's flag is taken: a wake after the drain writes again.
                pipe.drain();
            }
        }
        let woken = self.finish_wake(state, events, waker, owed);
        Ok(Outcome {
            again: n > 0 && events.is_empty() && !woken && timeout != Some(Duration::ZERO),
        })
    }

    /// After the select's wait: takes the waker's pending flag (exactly once per select) and
    /// reports the wake, or owes it to the next select if the buffer is full. Returns
    /// whether a wake was pending.
    fn finish_wake(
        &self,
        state: &mut SelectState,
        events: &mut Events,
        waker: &WakeState,
        owed_reported: bool,
    ) -> bool {
        let woken = waker.take_pending();
        // A wake that coalesces with an owed one reported this select: one event.
        if woken && !owed_reported {
            if events.is_full() {
                state.wake_owed = true;
            } else if let Some(token) = waker.token() {
                events.push(token, ready::READABLE);
            }
        }
        woken
    }
}

/// A new kqueue, close-on-exec.
fn new_kqueue() -> io::Result<OwnedFd> {
    #[cfg(target_os = "netbsd")]
    {
        // SAFETY: kqueue1 takes no pointers; O_CLOEXEC is a valid flag.
        let fd = unsafe { syscall!(kqueue1(libc::O_CLOEXEC)) }?;
        // SAFETY: kqueue1 just returned this fd and nothing else owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
    #[cfg(not(target_os = "netbsd"))]
    {
        // SAFETY: kqueue takes no arguments.
        let fd = unsafe { syscall!(kqueue()) }?;
        // SAFETY: kqueue just returned this fd and nothing else owns it.
        let kq = unsafe { OwnedFd::from_raw_fd(fd) };
        super::fd::set_cloexec(kq.as_raw_fd())?;
        Ok(kq)
    }
}

/// A `kevent` for a change: `ident`, `filter`, `flags` (from `kqueue_logic::flags`) and
/// `fflags`; `udata` stays null (tokens come from the table).
fn kevent(ident: usize, filter: Filter, flags: u32, fflags: u32) -> libc::kevent {
    // SAFETY: all-zero is a valid kevent: integers and a null `udata` (and FreeBSD's `ext`
    // array of integers).
    let mut kev: libc::kevent = unsafe { mem::zeroed() };
    kev.ident = ident as libc::uintptr_t;
    kev.filter = match filter {
        Filter::Read => libc::EVFILT_READ,
        Filter::Write => libc::EVFILT_WRITE,
        Filter::User => libc::EVFILT_USER,
        Filter::Other => {
            debug_assert!(false, "ferrio never adds other filters");
            libc::EVFILT_READ
        }
    };
    kev.flags = flags as _;
    kev.fflags = fflags;
    kev
}

/// A returned `kevent` in plain values.
#[allow(clippy::unnecessary_cast)] // `flags` is a u32 on NetBSD, a u16 elsewhere
fn plain(kev: &libc::kevent) -> KEvent {
    let filter = if kev.filter == libc::EVFILT_READ {
        Filter::Read
    } else if kev.filter == libc::EVFILT_WRITE {
        Filter::Write
    } else if kev.filter == libc::EVFILT_USER {
        Filter::User
    } else {
        Filter::Other
    };
    KEvent {
        ident: kev.ident,
        filter,
        flags: kev.flags as u32,
        fflags: kev.fflags,
        data: kev.data as KeventData,
    }
}

/// The errno of one receipt (0: the change succeeded).
fn receipt_errno(receipt: &libc::kevent) -> i64 {
    let receipt = plain(receipt);
    if receipt.flags & flags::ERROR != 0 {
        receipt.data
    } else {
        0
    }
}
