//! The `poll(2)` backend: for any POSIX system (and selectable on Linux, where CI runs the whole
//! suite on it).
//!
//! # Data structure
//!
//! * A registration table behind a `Mutex`: a dense `Vec<Entry>` (fd, token, interest,
//!   options, and what is currently **armed**), plus `slot_of_fd`, indexed by fd, giving each
//!   fd's position in the dense vector (`swap_remove` keeps it dense on deregister).
//! * The `pollfd` array, owned by `select` (behind its own, never contended, `Mutex`). Slot 0
//!   is the selector's [`WakeFd`]; then one `pollfd` per entry. The array is rebuilt only when
//!   the table changed; once its capacity is reached, a rebuild does not allocate.
//!
//! # Cost
//!
//! One `ppoll` (plain `poll` on macOS and NetBSD, and in the portable form) per `select`, which the kernel serves in
//! **O(K)** for K polled fds, plus an O(K) scan of the results and, after a change, an O(K)
//! rebuild. epoll and kqueue are O(ready); prefer them where they exist.
//!
//! # Emulation of edge and oneshot
//!
//! poll(2) is level-triggered. For an edge-triggered source, each bit that fired (`POLLIN`,
//! `POLLRDHUP`, `POLLOUT`, and error/hang-up) is **disarmed** once reported: left out of what
//! is asked until it is re-armed. Only the bits that fired: a half-close after a readable event
//! the program did not read is still reported (readable + hup), as epoll reports it. A bit is
//! re-armed
//!
//! * after each of ferrio's own IO calls on the source or on one of its `try_clone`s (`rearm`,
//!   called through the sources' IO path), since new data may have arrived since the report:
//!   a read re-arms the readable bits, a write the writable bit (re-arming writable after a
//!   read would report an always-writable socket again after every read); and on
//!   `reregister`;
//! * by a **probe** when the program did IO that ferrio did not see (a raw fd registered with
//!   `EventedFd`, a `dup` made outside ferrio, another library): while some edge bit is
//!   disarmed, `select` first polls everything without blocking, with the disarmed bits asked
//!   too; a disarmed bit that is no longer ready is re-armed, so the next readiness of that
//!   direction is a new edge. A direction that an error or hang-up report disarmed before it
//!   fired is re-armed by the probe once the condition is gone, ready or not (nobody saw its
//!   readiness). When events are ready this is the only `ppoll` of the `select`;
//!   only a `select` that then has to sleep makes a second, blocking one.
//!
//! Oneshot disarms the whole source after one report until `reregister`.
//!
//! # Wake-ups and fairness
//!
//! The [`WakeFd`] serves two purposes. A `register`, `reregister` or `rearm` made while another
//! thread is blocked in `ppoll` notifies it, so that `select` rebuilds its array and waits
//! again (for what is left of its timeout): the blocked `select` sees the change. The user's
//! `Waker` notifies it too; `select` drains it when `ppoll` reports it, and reports the
//! waker's token if a wake was pending (see `super::waker`). Results are scanned from a
//! rotating start that includes the waker's slot, so with a small `Events` buffer neither the
//! waker nor any source starves the others; a wake that found the buffer full is owed, and the
//! next `select` reports it without waiting.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Mutex;

use super::lock;
use std::time::Duration;

use super::event::ready;
use super::event::Events;
use super::pollable::{
    already_registered, check_pollable, interest_to_poll, is_read_closed, not_registered,
    poll_to_ready,
};
use super::wake_fd::WakeFd;
use super::waker::WakeState;
use super::Selector;
use crate::event_set::EventSet;
use crate::poll_opt::PollOpt;
use crate::token::Token;

/// `pollfd`s preallocated at construction (the array grows with the registrations).
const INITIAL_PFDS: usize = 64;

/// No slot: `slot_of_fd` entry of an fd that is not registered.
const NONE: u32 = u32::MAX;

/// Error and hang-up: reported by poll(2) whatever is asked.
const ERR_HUP: libc::c_short = libc::POLLERR | libc::POLLHUP;

/// One registered fd.
#[derive(Debug, Clone, Copy)]
struct Entry {
    fd: RawFd,
    /// Which registration of `fd` this is: a new one for every `register` (kept by
    /// `reregister`). The wait's array records it per slot, so that what a wait reports for an
    /// fd number that was deregistered, closed and registered anew meanwhile (another file) is
    /// not taken for the new registration's.
    id: u64,
    token: Token,
    interest: EventSet,
    opts: PollOpt,
    /// The direction bits (`POLLIN`, `POLLRDHUP`, `POLLOUT`) currently asked: a subset of
    /// `interest_to_poll(interest)`.
    armed: libc::c_short,
    /// Whether error and hang-up are reported. Disarmed only together with every direction
    /// (a hang-up implies them all), so an entry that is polled can always report what poll(2)
    /// returns for it.
    err_hup_armed: bool,
    /// Directions an error or hang-up report disarmed although they had not fired (so they
    /// were never reported): once the condition is gone, a probe re-arms them whether or not
    /// they are ready now (a readiness that came meanwhile is a new edge nobody saw). Always
    /// a subset of the disarmed bits.
    silenced: libc::c_short,
}

impl Entry {
    fn new(fd: RawFd, id: u64, token: Token, interest: EventSet, opts: PollOpt) -> Entry {
        Entry {
            fd,
            id,
            token,
            interest,
            opts,
            armed: interest_to_poll(interest),
            err_hup_armed: true,
            silenced: 0,
        }
    }

    fn is_edge(&self) -> bool {
        self.opts.is_edge() && !self.opts.is_level() && !self.opts.is_oneshot()
    }

    /// Edge bits that are disarmed and may be re-armed by a probe.
    fn probe_bits(&self) -> libc::c_short {
        if self.is_edge() {
            interest_to_poll(self.interest) & !self.armed
        } else {
            0
        }
    }

    /// Whether the blocking wait polls this entry.
    fn is_polled(&self) -> bool {
        self.armed != 0 || self.err_hup_armed
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
    /// Some edge bit may be disarmed (set when one is; recomputed by `select`).
    maybe_probes: bool,
    /// The id of the next registration (see `Entry::id`).
    next_id: u64,
}

impl Table {
    fn slot(&self, fd: RawFd) -> Option<usize> {
        match self.slot_of_fd.get(usize::try_from(fd).ok()?) {
            Some(&s) if s != NONE => Some(s as usize),
            _ => None,
        }
    }

    /// The slot of `fd`'s entry if it is still the registration `id` (see `Entry::id`).
    fn slot_of(&self, fd: RawFd, id: u64) -> Option<usize> {
        self.slot(fd).filter(|&s| self.entries[s].id == id)
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

    fn has_probes(&self) -> bool {
        self.entries.iter().any(|e| e.probe_bits() != 0)
    }
}

/// What only `select` touches.
#[derive(Debug)]
struct SelectState {
    /// The blocking wait's array: slot 0 the wake fd, then the polled entries.
    pfds: Vec<libc::pollfd>,
    /// The registration (`Entry::id`) each slot of `pfds` was built from (slot 0 unused).
    ids: Vec<u64>,
    /// Where the next scan of the results starts (see "fairness").
    cursor: usize,
    /// A wake that found the events buffer full; reported by the next `select`.
    wake_owed: bool,
}

/// A poll(2) selector.
#[derive(Debug)]
pub(crate) struct PollSelector {
    /// Ends a blocked `ppoll`: registration changes and the user's `Waker`.
    wake: WakeFd,
    table: Mutex<Table>,
    state: Mutex<SelectState>,
}

/// How a wait went.
struct Outcome {
    /// Whether the caller must wait again: the wait was ended only by a registration change
    /// of another thread, and nothing is to be reported.
    again: bool,
}

impl Selector for PollSelector {
    fn new() -> io::Result<PollSelector> {
        let wake = WakeFd::new()?;
        let mut pfds = Vec::with_capacity(INITIAL_PFDS);
        pfds.push(pollfd(wake.as_raw_fd(), libc::POLLIN));
        Ok(PollSelector {
            wake,
            table: Mutex::new(Table::default()),
            state: Mutex::new(SelectState {
                pfds,
                ids: {
                    let mut ids = Vec::with_capacity(INITIAL_PFDS);
                    ids.push(0);
                    ids
                },
                cursor: 0,
                wake_owed: false,
            }),
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
        if table.slot(fd).is_some() {
            return Err(already_registered());
        }
        let idx = fd as usize;
        if table.slot_of_fd.len() <= idx {
            table.slot_of_fd.resize(idx + 1, NONE);
        }
        let slot = table.entries.len();
        let id = table.next_id;
        table.next_id += 1;
        table
            .entries
            .push(Entry::new(fd, id, token, interest, opts));
        table.slot_of_fd[idx] = slot as u32;
        self.changed(&mut table)
    }

    fn reregister(
        &self,
        fd: RawFd,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        let mut table = lock(&self.table);
        let entry = table.entry_mut(fd)?;
        *entry = Entry::new(fd, entry.id, token, interest, opts);
        self.changed(&mut table)
    }

    fn deregister(&self, fd: RawFd) -> io::Result<()> {
        let mut table = lock(&self.table);
        let slot = table.slot(fd).ok_or_else(not_registered)?;
        table.remove(slot);
        Ok(())
    }

    fn select(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        waker: &WakeState,
    ) -> io::Result<()> {
        if events.capacity() == 0 {
            return Err(Events::zero_capacity_error());
        }
        // A registration change by another thread ends the wait: this select then waits again
        // on the new set for what is left of its timeout, so the change is seen by it.
        super::timeout::wait_out(timeout, |left| {
            Ok(self.select_once(events, left, waker)?.again)
        })
    }

    fn install_waker(&self, _token: Token, _waker: &WakeState) -> io::Result<()> {
        // The wake fd is polled anyway; `select` reports `waker.token()`.
        Ok(())
    }

    #[inline]
    fn notify(&self) -> io::Result<()> {
        self.wake.notify()
    }

    fn needs_rearm(&self) -> bool {
        true
    }

    fn rearm(&self, fd: RawFd, direction: EventSet) {
        let mut table = lock(&self.table);
        let Ok(entry) = table.entry_mut(fd) else {
            return;
        };
        // Only the direction of the IO: a read must not re-arm an always-ready writable
        // interest (that would report it again at once, after every read).
        let bits = interest_to_poll(entry.interest & direction);
        if !entry.is_edge() || (entry.armed & bits == bits && entry.err_hup_armed) {
            return;
        }
        entry.armed |= bits;
        entry.silenced &= !bits;
        entry.err_hup_armed = true;
        // The only error is a failed wake-fd write, which cannot happen in practice; the next
        // select sees the change anyway.
        let _ = self.changed(&mut table);
    }
}

impl PollSelector {
    /// Marks the table changed and wakes a blocked `select`.
    fn changed(&self, table: &mut Table) -> io::Result<()> {
        table.dirty = true;
        if table.polling {
            self.wake.notify()?;
        }
        Ok(())
    }

    /// One `select` attempt: a non-blocking probe pass if some edge bit is disarmed, then (if
    /// nothing is to be reported yet) the wait.
    fn select_once(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        waker: &WakeState,
    ) -> io::Result<Outcome> {
        events.clear();
        let mut state = lock(&self.state);
        let state = &mut *state;
        let timeout = if state.wake_owed {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        // An owed wake goes first, so that under a full buffer the waker and the sources take
        // turns; a new wake goes after the sources.
        let owed = std::mem::take(&mut state.wake_owed);
        if owed {
            if let Some(token) = waker.token() {
                events.push(token, ready::READABLE);
            }
        }
        {
            let mut table = lock(&self.table);
            if table.maybe_probes {
                table.maybe_probes = table.has_probes();
            }
            if table.maybe_probes {
                // The probe pass polls every entry without blocking, the disarmed edge bits
                // asked too; its array is built fresh (probes are the uncommon case).
                build(&table, &mut state.pfds, &mut state.ids, true);
                drop(table);
                let res = wait(&mut state.pfds, Some(Duration::ZERO));
                let mut table = lock(&self.table);
                table.dirty = true;
                let n = res?;
                let notified = self.scan(&mut table, state, n, events, true);
                if !events.is_empty() || notified || timeout == Some(Duration::ZERO) {
                    // This pass ends the select. (After a wake-fd notification it must: the fd
                    // is drained, so a pending wake would not end the blocking wait.)
                    self.finish_wake(state, events, waker, owed);
                    return Ok(Outcome { again: false });
                }
                // Nothing to report: the blocking wait, on what is armed now.
                build(&table, &mut state.pfds, &mut state.ids, false);
                table.dirty = false;
                table.polling = true;
            } else {
                if table.dirty {
                    build(&table, &mut state.pfds, &mut state.ids, false);
                    table.dirty = false;
                }
                table.polling = true;
            }
        }
        let res = wait(&mut state.pfds, timeout);
        let mut table = lock(&self.table);
        table.polling = false;
        let n = match res {
            Ok(n) => n,
            Err(e) => {
                // Still after a wait: the waker's flag is cleared (and the wake reported) as
                // after any other.
                self.finish_wake(state, events, waker, owed);
                return Err(e);
            }
        };
        let notified = self.scan(&mut table, state, n, events, false);
        let woken = self.finish_wake(state, events, waker, owed);
        Ok(Outcome {
            again: notified && !woken && events.is_empty() && table.dirty,
        })
    }

    /// Reports the ready entries from a rotating start and applies the edge/oneshot emulation.
    /// Returns whether the wake fd was ready (it is then drained).
    fn scan(
        &self,
        table: &mut Table,
        state: &mut SelectState,
        n: usize,
        events: &mut Events,
        probing: bool,
    ) -> bool {
        let notified = state.pfds[0].revents != 0;
        if notified {
            // Registration changes and wakes so far are all seen by this select.
            self.wake.drain();
        }
        if probing {
            rearm_probed(table, &state.pfds[1..], &state.ids[1..]);
        }
        let count = state.pfds.len() - 1;
        if n == 0 || count == 0 {
            return notified;
        }
        let start = state.cursor % count;
        for k in 0..count {
            let i = 1 + (start + k) % count;
            let pfd = state.pfds[i];
            if pfd.revents == 0 {
                continue;
            }
            if events.is_full() {
                state.cursor = start + k;
                return notified;
            }
            report(table, pfd, state.ids[i], events);
        }
        state.cursor = start + 1;
        notified
    }

    /// After the select's last wait: takes the waker's pending flag (exactly once per select)
    /// and reports the wake, or owes it to the next select if the buffer is full. Returns
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

/// Reports one ready `pollfd` built from registration `id` (if that registration is still
/// there and wants it) and applies the emulation.
fn report(table: &mut Table, pfd: libc::pollfd, id: u64, events: &mut Events) {
    // Look the fd up again: it may have been deregistered or changed during the wait. If the
    // number was deregistered and registered anew (possibly for another file, the old one
    // closed), what the wait saw belongs to the old registration: nothing is reported, and the
    // next wait polls the new one.
    let Some(slot) = table.slot_of(pfd.fd, id) else {
        return;
    };
    if pfd.revents & libc::POLLNVAL != 0 {
        // Closed without deregister: drop it, as epoll drops a closed fd. Unless the number is
        // open again: then it was closed and reopened without a deregister (the registration
        // stays, as it would under epoll for a `dup`; the next wait polls the new file).
        if !is_open(pfd.fd) {
            table.remove(slot);
        }
        return;
    }
    let entry = &mut table.entries[slot];
    let revents = pfd.revents;
    let err_hup = revents & ERR_HUP;
    let mut bits = revents & entry.armed;
    if entry.err_hup_armed {
        bits |= err_hup;
    }
    if bits == 0 {
        return;
    }
    if bits & ERR_HUP != 0 {
        // With an error or hang-up, the directions disarmed by an earlier edge are reported as
        // ready again (their operations no longer block), as epoll, which asks for them all
        // the time, would see them. Directions that were asked and not reported stay out (an
        // empty pipe without writers is hang-up only, as on epoll).
        bits |= interest_to_poll(entry.interest) & !entry.armed & (libc::POLLIN | libc::POLLOUT);
    }
    if is_read_closed(bits) && entry.interest.is_readable() {
        // epoll reports a half-close as readable (the read returns EOF) too.
        bits |= libc::POLLIN;
    }
    events.push(entry.token, poll_to_ready(bits));
    if entry.opts.is_oneshot() {
        entry.armed = 0;
        entry.err_hup_armed = false;
        table.dirty = true;
    } else if entry.is_edge() {
        if bits & ERR_HUP != 0 {
            // Reported once per edge too, not on every poll while the condition lasts; every
            // direction goes with it (see `err_hup_armed`). Those that had not fired are
            // remembered, so that they are re-armed once the condition is gone (see
            // `silenced`).
            entry.silenced = entry.armed & !bits;
            entry.armed = 0;
            entry.err_hup_armed = false;
        } else {
            // Only the bits that fired: a half-close after an unread readable event is still
            // reported.
            entry.armed &= !bits;
        }
        table.dirty = true;
        table.maybe_probes = true;
    }
}

/// After a probe pass: a disarmed edge bit that is no longer ready is re-armed, so its next
/// readiness is a new edge; so is a bit an error or hang-up silenced before it fired, ready or
/// not (its readiness was never reported). Not while an error or hang-up is pending: those
/// disarm everything until the program does IO or reregisters, or the condition is gone (an
/// error taken with `take_error`).
fn rearm_probed(table: &mut Table, pfds: &[libc::pollfd], ids: &[u64]) {
    for (pfd, &id) in pfds.iter().zip(ids) {
        let Some(slot) = table.slot_of(pfd.fd, id) else {
            continue;
        };
        let entry = &mut table.entries[slot];
        let probe = entry.probe_bits();
        if probe == 0 || pfd.revents & (ERR_HUP | libc::POLLNVAL) != 0 {
            continue;
        }
        let rearm = probe & (!pfd.revents | entry.silenced);
        if rearm != 0 {
            entry.armed |= rearm;
            entry.silenced &= !rearm;
            entry.err_hup_armed = true;
            table.dirty = true;
        }
    }
}

/// Fills `pfds` from the table: slot 0 the wake fd; then, for the blocking wait, every polled
/// entry with its armed bits; for a probe pass, every entry with something armed or
/// probe-able, the probe bits asked too.
fn build(table: &Table, pfds: &mut Vec<libc::pollfd>, ids: &mut Vec<u64>, probe: bool) {
    let wake = pfds[0];
    pfds.clear();
    pfds.push(libc::pollfd { revents: 0, ..wake });
    ids.clear();
    ids.push(0);
    for entry in &table.entries {
        let events = if probe {
            entry.armed | entry.probe_bits()
        } else {
            entry.armed
        };
        if entry.is_polled() || events != 0 {
            pfds.push(pollfd(entry.fd, events));
            ids.push(entry.id);
        }
    }
}

/// Whether `fd` is an open file descriptor now (`fcntl(F_GETFD)`; only asked after a wait
/// reported `POLLNVAL`).
fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD takes no argument and only reads the fd's flags; a closed fd is EBADF.
    unsafe { syscall!(fcntl(fd, libc::F_GETFD)) }.is_ok()
}

fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// `ppoll` with a nanosecond timeout (nothing to round); `None` blocks.
#[cfg(all(
    any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ),
    not(ferrio_portable)
))]
fn wait(pfds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    match timeout {
        // Ends close to the deadline despite the kernel's slack (see `timeout::precise`).
        Some(d) if !d.is_zero() => super::timeout::precise(d, |t| ppoll(pfds, Some(t))),
        _ => ppoll(pfds, timeout),
    }
}

/// One `ppoll`, with the timeout as a `timespec`.
#[cfg(all(
    any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ),
    not(ferrio_portable)
))]
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

/// Plain `poll` (macOS has no `ppoll`, NetBSD only since 10; the portable form on Linux too),
/// with the timeout rounded up to whole milliseconds.
#[cfg(not(all(
    any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ),
    not(ferrio_portable)
)))]
fn wait(pfds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    let ms = super::timeout::to_ms(timeout);
    // SAFETY: `pfds` is a valid, writable array of `len` pollfds.
    let n = unsafe { syscall!(poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms)) }?;
    Ok(n as usize)
}
