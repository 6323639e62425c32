//! The `poll(2)` backend, for systems without epoll (compiled and tested on Linux too).
//!
//! # Data structure
//!
//! * A registration table behind a `Mutex`: a dense `Vec<Entry>` (fd, token, interest,
//!   options, and the directions currently **armed**), plus `slot_of_fd`, indexed by fd, giving
//!   each fd's position in the dense vector (`swap_remove` keeps it dense on deregister).
//! * The `pollfd` array, owned by `select` (behind its own, never contended, `Mutex`). Slot 0
//!   is the selector's eventfd; then one `pollfd` per entry with something armed. The array is
//!   rebuilt only when the table changed (`dirty`); once its capacity is reached, a rebuild
//!   does not allocate.
//!
//! # Cost
//!
//! One `ppoll` per `select`, which the kernel serves in **O(K)** for K polled fds, plus an
//! O(K) scan of the results and, after a change, an O(K) rebuild. epoll is O(ready); prefer it
//! where it exists.
//!
//! # Emulation
//!
//! poll(2) is level-triggered. Edge: after a source is reported, its reported directions are
//! disarmed (left out of the `pollfd`; error and hup, which poll(2) reports whatever is asked,
//! are disarmed once reported too). They are re-armed after each of ferrio's IO calls on the
//! source (`rearm`, called through `IoSource::do_io`), since new data may have arrived since
//! the report, and on `reregister`. So an edge source is reported again after a partial read
//! with data left (a spurious event, which the contract allows) and is never left without an
//! event for data that arrived after the report. Oneshot: the whole source is disarmed until
//! `reregister`.
//!
//! # Wake-ups
//!
//! One eventfd serves two purposes. A `register`, `reregister` or `rearm` made while another
//! thread is blocked in `ppoll` (`polling`, read under the table lock) writes to it, so that
//! `select` rebuilds its array and waits again (for what is left of its timeout): the blocked
//! `select` sees the change. The
//! user's `Waker` writes to it too, coalesced by `wake_pending` exactly as in the epoll
//! backend: the flag is set by the first wake since the last `select`, and `select` clears it
//! after the wait and then reports the waker's token. The eventfd is drained by `select`
//! whenever `ppoll` reports it readable. A deregister does not wake: a blocked `ppoll` that
//! sees the fd ready again returns, and `select` drops events for fds no longer registered.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{interest_to_poll, Events};
use crate::event_set::EventSet;
use crate::poll_opt::PollOpt;
use crate::token::Token;

/// `pollfd`s preallocated at construction (the array grows with the registrations).
const INITIAL_PFDS: usize = 64;

/// No slot: `slot_of_fd` entry of an fd that is not registered.
const NONE: u32 = u32::MAX;

/// One registered fd.
#[derive(Debug, Clone, Copy)]
struct Entry {
    fd: RawFd,
    token: Token,
    interest: EventSet,
    opts: PollOpt,
    /// What is still reported: the directions (readable, writable) asked from the OS, a
    /// subset of `interest`, plus `error | hup` while those are reported (poll(2) reports them
    /// whatever is asked, so a source with only them armed stays in the array with no bits).
    armed: EventSet,
}

impl Entry {
    fn is_edge(&self) -> bool {
        self.opts.is_edge() && !self.opts.is_level()
    }
}

#[derive(Debug, Default)]
struct Table {
    entries: Vec<Entry>,
    slot_of_fd: Vec<u32>,
    /// The table changed since `select` last built its `pollfd` array.
    dirty: bool,
    /// A `select` is blocked in `ppoll` (changes must wake it).
    polling: bool,
}

impl Table {
    fn slot(&self, fd: RawFd) -> Option<usize> {
        match self.slot_of_fd.get(fd as usize) {
            Some(&s) if s != NONE => Some(s as usize),
            _ => None,
        }
    }

    fn entry_mut(&mut self, fd: RawFd) -> io::Result<&mut Entry> {
        match self.slot(fd) {
            Some(s) => Ok(&mut self.entries[s]),
            None => Err(not_registered()),
        }
    }

    fn remove(&mut self, slot: usize) {
        let removed = self.entries.swap_remove(slot);
        self.slot_of_fd[removed.fd as usize] = NONE;
        if let Some(moved) = self.entries.get(slot) {
            self.slot_of_fd[moved.fd as usize] = slot as u32;
        }
        self.dirty = true;
    }
}

/// What only `select` touches.
#[derive(Debug)]
struct SelectState {
    pfds: Vec<libc::pollfd>,
    /// Where the next scan of the results starts, so that a small `Events` buffer does not
    /// starve the sources at the end of the array.
    cursor: usize,
}

/// A poll(2) selector.
#[derive(Debug)]
pub(crate) struct Selector {
    id: usize,
    /// Wakes a blocked `ppoll`: registration changes and the user's `Waker`.
    notify: OwnedFd,
    table: Mutex<Table>,
    state: Mutex<SelectState>,
    /// The user's `Waker`: coalescing flag and token.
    waker: super::WakerSlot,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves the data consistent before anything that can panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn not_registered() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        "the fd is not registered with this selector",
    )
}

impl Selector {
    pub(crate) fn new() -> io::Result<Selector> {
        let notify = super::fd::eventfd()?;
        let mut pfds = Vec::with_capacity(INITIAL_PFDS);
        pfds.push(notify_pollfd(&notify));
        Ok(Selector {
            id: super::next_id(),
            notify,
            table: Mutex::new(Table::default()),
            state: Mutex::new(SelectState { pfds, cursor: 0 }),
            waker: super::WakerSlot::default(),
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
        if fd < 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let mut table = lock(&self.table);
        if table.slot(fd).is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the fd is already registered with this selector",
            ));
        }
        super::check_pollable(fd)?;
        let idx = fd as usize;
        if table.slot_of_fd.len() <= idx {
            table.slot_of_fd.resize(idx + 1, NONE);
        }
        let slot = table.entries.len();
        table.entries.push(Entry {
            fd,
            token,
            interest,
            opts,
            armed: full_arm(interest),
        });
        table.slot_of_fd[idx] = slot as u32;
        self.changed(&mut table)
    }

    pub(crate) fn reregister(
        &self,
        fd: RawFd,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        let mut table = lock(&self.table);
        let entry = table.entry_mut(fd)?;
        *entry = Entry {
            fd,
            token,
            interest,
            opts,
            armed: full_arm(interest),
        };
        self.changed(&mut table)
    }

    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        let mut table = lock(&self.table);
        let slot = table.slot(fd).ok_or_else(not_registered)?;
        table.remove(slot);
        Ok(())
    }

    /// Re-arms an edge-triggered source after one of ferrio's IO calls on it.
    pub(crate) fn rearm(&self, fd: RawFd) {
        let mut table = lock(&self.table);
        let Ok(entry) = table.entry_mut(fd) else {
            return;
        };
        let all = full_arm(entry.interest);
        if !entry.is_edge() || entry.opts.is_oneshot() || entry.armed == all {
            return;
        }
        entry.armed = all;
        // The only error is a failed eventfd write, which cannot happen in practice; the
        // next select sees the change anyway.
        let _ = self.changed(&mut table);
    }

    /// Marks the table changed and wakes a blocked `select`.
    fn changed(&self, table: &mut Table) -> io::Result<()> {
        table.dirty = true;
        if table.polling {
            match super::fd::eventfd_write(&self.notify) {
                // A full counter already wakes the poll.
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    pub(crate) fn install_waker(&self, token: Token) -> io::Result<()> {
        self.waker.install(token)
    }

    pub(crate) fn remove_waker(&self) {
        self.waker.remove();
    }

    #[inline]
    pub(crate) fn wake(&self) -> io::Result<()> {
        self.waker.wake(&self.notify)
    }

    pub(crate) fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        // Only read when a registration change ends a timed wait early (see the loop's end).
        let mut start: Option<Instant> = None;
        let mut wait = timeout;
        loop {
            let woken_for_change = self.select_once(events, wait)?;
            if !woken_for_change || !events.is_empty() {
                return Ok(());
            }
            // Another thread changed the registrations while we waited: wait again on the new
            // set, for what is left of the timeout, so that the change is seen by this select.
            if let Some(total) = timeout {
                let begun = *start.get_or_insert_with(Instant::now);
                match total.checked_sub(begun.elapsed()) {
                    Some(left) if !left.is_zero() => wait = Some(left),
                    _ => return Ok(()),
                }
            }
        }
    }

    /// One `ppoll`. Returns whether it was ended by the internal eventfd without a user wake
    /// (a registration change by another thread).
    fn select_once(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<bool> {
        events.clear();
        let mut state = lock(&self.state);
        let state = &mut *state;
        {
            let mut table = lock(&self.table);
            if table.dirty {
                self.rebuild(&table, &mut state.pfds);
                table.dirty = false;
            }
            table.polling = true;
        }
        let res = ppoll(&mut state.pfds, timeout);
        let mut table = lock(&self.table);
        table.polling = false;
        let n = res?;
        let notified = state.pfds[0].revents != 0;
        if notified {
            // Drain: registration changes and wakes were all seen by this select.
            let _ = super::fd::eventfd_read(&self.notify);
        }
        // Cleared after the wait, as in the epoll backend: a wake whose write this wait
        // consumed must not make a later wake coalesce into it.
        let woken = self.waker.take_pending();
        if woken {
            if let Some(token) = self.waker.token() {
                events.push(token, libc::POLLIN as u32);
            }
        }
        if n == 0 {
            return Ok(false);
        }
        let count = state.pfds.len() - 1;
        let start = state.cursor % count.max(1);
        for k in 0..count {
            if events.is_full() {
                state.cursor = start + k;
                return Ok(false);
            }
            let pfd = state.pfds[1 + (start + k) % count];
            if pfd.revents == 0 {
                continue;
            }
            self.report(&mut table, pfd, events);
        }
        state.cursor = start + 1;
        Ok(notified && !woken && table.dirty)
    }

    /// Reports one ready `pollfd` and applies the edge/oneshot emulation.
    fn report(&self, table: &mut Table, pfd: libc::pollfd, events: &mut Events) {
        // Look the fd up again: it may have been deregistered or changed during the wait.
        let Some(slot) = table.slot(pfd.fd) else {
            return;
        };
        if pfd.revents & libc::POLLNVAL != 0 {
            // Closed without deregister: drop it, as epoll drops a closed fd.
            table.remove(slot);
            return;
        }
        let entry = &mut table.entries[slot];
        if entry.armed.is_none() {
            return;
        }
        let mut asked = interest_to_poll(entry.armed);
        if entry.armed.is_error() || entry.armed.is_hup() {
            asked |= libc::POLLERR | libc::POLLHUP;
        }
        let mut bits = pfd.revents & asked;
        if bits == 0 {
            return;
        }
        if bits & (libc::POLLERR | libc::POLLHUP) != 0 {
            // As epoll does: with an error or hang-up, the interest's operations no longer
            // block, even if their directions were disarmed by an earlier edge.
            bits |= interest_to_poll(entry.interest) & (libc::POLLIN | libc::POLLOUT);
        }
        events.push(entry.token, bits as u16 as u32);
        if entry.opts.is_oneshot() {
            entry.armed = EventSet::none();
            table.dirty = true;
        } else if entry.is_edge() {
            let mut reported = EventSet::none();
            if bits & (libc::POLLIN | libc::POLLPRI | libc::POLLRDHUP) != 0 {
                reported.insert(EventSet::readable());
            }
            if bits & libc::POLLOUT != 0 {
                reported.insert(EventSet::writable());
            }
            if bits & (libc::POLLERR | libc::POLLHUP) != 0 {
                // Reported once per edge too, not on every poll while the condition lasts.
                reported.insert(EventSet::error() | EventSet::hup());
            }
            entry.armed.remove(reported);
            table.dirty = true;
        }
    }

    fn rebuild(&self, table: &Table, pfds: &mut Vec<libc::pollfd>) {
        pfds.clear();
        pfds.push(notify_pollfd(&self.notify));
        for entry in &table.entries {
            if entry.armed.is_none() {
                continue;
            }
            pfds.push(libc::pollfd {
                fd: entry.fd,
                events: interest_to_poll(entry.armed),
                revents: 0,
            });
        }
    }
}

fn notify_pollfd(notify: &OwnedFd) -> libc::pollfd {
    libc::pollfd {
        fd: notify.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }
}

/// Everything armed: the readable and writable bits of an interest, plus error and hup.
fn full_arm(interest: EventSet) -> EventSet {
    (interest & (EventSet::readable() | EventSet::writable())) | EventSet::error() | EventSet::hup()
}

/// `ppoll` with a nanosecond timeout (nothing to round); `None` blocks.
fn ppoll(pfds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as _,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `pfds` is a valid, writable array of `len` pollfds; `ts_ptr` is null or points
    // at a live timespec; a null sigmask leaves the signal mask alone.
    let n = unsafe {
        syscall!(ppoll(
            pfds.as_mut_ptr(),
            pfds.len() as libc::nfds_t,
            ts_ptr,
            std::ptr::null()
        ))
    }?;
    Ok(n as usize)
}
