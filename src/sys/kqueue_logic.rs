//! What the kqueue backend decides, over plain values: which `kevent` changes a registration
//! makes, what readiness a returned `kevent` means, and how the read and write filters of one
//! source become one event. No system call here: `kqueue.rs` translates to and from
//! `libc::kevent` (whose field types differ between the BSDs) and makes the calls. Compiled
//! with the kqueue backend, and on Linux for its unit tests, so this logic is tested on every
//! CI run although no kqueue system runs there.
//!
//! # The kqueue model
//!
//! A kqueue holds *knotes*, one per `(ident, filter)` pair: a source registered for reading
//! and writing is two knotes, `EVFILT_READ` and `EVFILT_WRITE` on its fd, and a poll may
//! return a `kevent` for each. ferrio merges them: the first `kevent` of a source in a poll
//! makes its event, later ones OR into it ([`Table::report`]), found through the entry's
//! record of the poll it was last reported in and the event's index (no search, no
//! allocation).
//!
//! Modes, per filter: edge is `EV_CLEAR` (the knote's state is reset once reported, and
//! fires again on new activity), level the default, oneshot `EV_DISPATCH`. `EV_DISPATCH`
//! rather than `EV_ONESHOT`: a dispatched knote stays in the kernel, disabled, and
//! `reregister` re-enables it with `EV_ADD | EV_ENABLE` (which also re-checks the current
//! readiness, so data that is still there is reported, as epoll's `EPOLL_CTL_MOD` does); an
//! `EV_ONESHOT` knote is deleted by the kernel when it fires, so every re-arm would allocate
//! a knote again and a concurrent `deregister` would race the kernel's own deletion. Either
//! way the kernel disarms only the filter that fired: the other filter of a oneshot source is
//! disarmed in user space ([`Entry::armed`]), its one late `kevent` dropped (and, being
//! dispatched, disabled by the kernel as it is delivered).
//!
//! The kernel keeps `EV_CLEAR`/`EV_DISPATCH` of an existing knote when `EV_ADD` modifies it,
//! so a `reregister` that changes the mode deletes and re-adds the filter in the same call.

// On Linux only the unit tests use this module; `kqueue.rs` uses the rest.
#![cfg_attr(target_os = "linux", allow(dead_code))]

use std::time::Duration;

use super::event::{ready, Events};
use crate::event_set::EventSet;
use crate::poll_opt::PollOpt;
use crate::token::Token;

/// The `EV_*` flags ferrio uses. Their values are the same on every BSD and macOS (checked at
/// compile time in `kqueue.rs` against each OS's `libc`).
pub(crate) mod flags {
    pub(crate) const ADD: u32 = 0x0001;
    pub(crate) const DELETE: u32 = 0x0002;
    pub(crate) const ENABLE: u32 = 0x0004;
    pub(crate) const DISPATCH: u32 = 0x0080;
    pub(crate) const CLEAR: u32 = 0x0020;
    /// Report the result of each change in the event list (`data` = errno, 0 for success)
    /// instead of draining pending events.
    pub(crate) const RECEIPT: u32 = 0x0040;
    pub(crate) const ERROR: u32 = 0x4000;
    pub(crate) const EOF: u32 = 0x8000;
}

/// `ENOENT`, the one errno the change logic looks at (the same on every BSD).
pub(crate) const ENOENT: i64 = 2;

/// The filters of a `kevent` as ferrio sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Filter {
    Read,
    Write,
    /// `EVFILT_USER`: the waker.
    User,
    /// A filter ferrio never registers.
    Other,
}

/// One `kevent` in plain values (the fields ferrio reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KEvent {
    pub(crate) ident: usize,
    pub(crate) filter: Filter,
    pub(crate) flags: u32,
    /// For `EV_EOF` on a socket: its pending error (`so_error`), 0 if none.
    pub(crate) fflags: u32,
    /// For `EV_ERROR`: the errno.
    pub(crate) data: i64,
}

/// One change for the change list: `flags` on `filter` of the fd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) filter: Filter,
    pub(crate) flags: u32,
}

/// The changes of one registration call: at most a delete and an add per filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChangeList {
    list: [Change; 4],
    len: usize,
}

impl ChangeList {
    fn new() -> ChangeList {
        ChangeList {
            list: [Change {
                filter: Filter::Other,
                flags: 0,
            }; 4],
            len: 0,
        }
    }

    fn push(&mut self, filter: Filter, flags: u32) {
        self.list[self.len] = Change { filter, flags };
        self.len += 1;
    }

    pub(crate) fn as_slice(&self) -> &[Change] {
        &self.list[..self.len]
    }
}

/// A registration as the kernel sees it: interest and options.
pub(crate) type Interest = (EventSet, PollOpt);

/// The mode flags of a filter for `opts`: oneshot `EV_DISPATCH` (plus `EV_CLEAR` if edge was
/// asked too), edge `EV_CLEAR`; level wins over edge, and no option means level.
pub(crate) fn mode_flags(opts: PollOpt) -> u32 {
    let edge = opts.is_edge() && !opts.is_level();
    let mut bits = if edge { flags::CLEAR } else { 0 };
    if opts.is_oneshot() {
        bits |= flags::DISPATCH;
    }
    bits
}

fn has(interest: Option<Interest>, filter: Filter) -> Option<PollOpt> {
    let (set, opts) = interest?;
    let wanted = match filter {
        Filter::Read => set.is_readable(),
        Filter::Write => set.is_writable(),
        Filter::User | Filter::Other => false,
    };
    wanted.then_some(opts)
}

/// The changes that take an fd from `old` to `new` (`None`: not registered): register is
/// `(None, Some)`, reregister `(Some, Some)`, deregister `(Some, None)`. Every change carries
/// `EV_RECEIPT`, so the call reports each change's result and drains no event.
///
/// A wanted filter is always `EV_ADD | EV_ENABLE`ed, even if it is there already: that is
/// what re-arms a dispatched (oneshot) filter and re-checks the current readiness. A filter
/// whose mode changes is deleted first (the kernel does not change the mode of an existing
/// knote).
pub(crate) fn changes(old: Option<Interest>, new: Option<Interest>) -> ChangeList {
    let mut list = ChangeList::new();
    for filter in [Filter::Read, Filter::Write] {
        match (has(old, filter), has(new, filter)) {
            (Some(before), Some(after)) => {
                if mode_flags(before) != mode_flags(after) {
                    list.push(filter, flags::DELETE | flags::RECEIPT);
                }
                list.push(filter, add_flags(after));
            }
            (None, Some(after)) => list.push(filter, add_flags(after)),
            (Some(_), None) => list.push(filter, flags::DELETE | flags::RECEIPT),
            (None, None) => {}
        }
    }
    list
}

fn add_flags(opts: PollOpt) -> u32 {
    flags::ADD | flags::ENABLE | flags::RECEIPT | mode_flags(opts)
}

/// The first error among the receipts of `changes` (`results[i]` is the `data` of change
/// `i`'s receipt: 0 or an errno), or `None` if all succeeded. Deleting a filter that is not
/// there (`ENOENT`: the fd was closed, which removes its knotes) is not an error.
pub(crate) fn first_error(changes: &[Change], results: &[i64]) -> Option<i64> {
    changes
        .iter()
        .zip(results)
        .find(|(change, &errno)| {
            errno != 0 && !(change.flags & flags::DELETE != 0 && errno == ENOENT)
        })
        .map(|(_, &errno)| errno)
}

/// The readiness bits ([`ready`]) of one `kevent` of a source.
///
/// * `EVFILT_READ`: readable; with `EV_EOF` (the peer closed its side, or reading was shut
///   down: a read returns 0) also read-closed.
/// * `EVFILT_WRITE`: writable; with `EV_EOF` (writing is no longer possible) also
///   write-closed.
/// * `EV_EOF` with a non-zero `fflags` (the socket's pending error, such as `ECONNRESET`):
///   error too. `EV_ERROR` (a failed change reported in the event list): error.
///
/// Hang-up (both directions closed) is added when the source's two `kevent`s are merged
/// ([`merge_bits`]).
pub(crate) fn kevent_bits(ev: &KEvent) -> u32 {
    let eof = ev.flags & flags::EOF != 0;
    let mut bits = match ev.filter {
        Filter::Read if eof => ready::READABLE | ready::READ_CLOSED,
        Filter::Read => ready::READABLE,
        Filter::Write if eof => ready::WRITABLE | ready::WRITE_CLOSED,
        Filter::Write => ready::WRITABLE,
        Filter::User | Filter::Other => 0,
    };
    if (eof && ev.fflags != 0) || ev.flags & flags::ERROR != 0 {
        bits |= ready::ERROR;
    }
    bits
}

/// The bits of a source after a second `kevent`: the union, plus hang-up once both
/// directions are closed.
pub(crate) fn merge_bits(a: u32, b: u32) -> u32 {
    let mut bits = a | b;
    if bits & ready::READ_CLOSED != 0 && bits & ready::WRITE_CLOSED != 0 {
        bits |= ready::HUP;
    }
    bits
}

/// Timeouts longer than this (about 68 years) wait indefinitely: that rounds up, and keeps
/// every kernel's `timespec` arithmetic (a 32-bit `time_t`, XNU's conversion to absolute
/// time) from overflowing into a short wait.
pub(crate) const MAX_TIMEOUT_SECS: u64 = i32::MAX as u64;

/// A wait's `timespec` as `(seconds, nanoseconds)`, or `None` to wait indefinitely. kevent
/// takes nanoseconds: nothing is rounded.
pub(crate) fn timespec_of(timeout: Option<Duration>) -> Option<(u64, u32)> {
    let d = timeout?;
    if d.as_secs() > MAX_TIMEOUT_SECS {
        return None;
    }
    Some((d.as_secs(), d.subsec_nanos()))
}

/// No slot: `slot_of_fd` entry of an fd that is not registered.
const NONE: u32 = u32::MAX;

/// One registered fd.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) fd: usize,
    pub(crate) token: Token,
    pub(crate) interest: EventSet,
    pub(crate) opts: PollOpt,
    /// Oneshot only: whether the registration may report (set by register/reregister,
    /// cleared by the report). The kernel disarms only the filter that fired.
    pub(crate) armed: bool,
    /// The select (its [`Table::begin_select`] number) this entry was last reported in, and
    /// where: the index of its event and the bits reported so far.
    seen: u64,
    idx: usize,
    bits: u32,
}

impl Entry {
    pub(crate) fn interest(&self) -> Interest {
        (self.interest, self.opts)
    }
}

/// The registrations of one kqueue: a dense vector plus an index by fd (as poll(2)'s table).
/// Needed because kqueue itself cannot say "already registered" (`EV_ADD` on an existing
/// knote modifies it) and knows nothing of a registration with an empty interest.
#[derive(Debug, Default)]
pub(crate) struct Table {
    entries: Vec<Entry>,
    slot_of_fd: Vec<u32>,
    /// The number of the current select; entries reported in it carry it in `seen`.
    select: u64,
}

/// What [`Table::report`] saw besides the sources' events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Reported {
    /// A `kevent` of the wake-up mechanism (`EVFILT_USER`, or the wake pipe's read end).
    pub(crate) notified: bool,
    /// `kevent`s that made no event (a source deregistered or changed during the wait, a
    /// oneshot source that already reported).
    pub(crate) dropped: usize,
}

impl Table {
    fn slot(&self, fd: usize) -> Option<usize> {
        match self.slot_of_fd.get(fd) {
            Some(&s) if s != NONE => Some(s as usize),
            _ => None,
        }
    }

    /// The registration of `fd`.
    pub(crate) fn get(&self, fd: usize) -> Option<&Entry> {
        self.slot(fd).map(|s| &self.entries[s])
    }

    /// Records a new registration. The caller checked that `fd` has none.
    pub(crate) fn insert(&mut self, fd: usize, token: Token, (interest, opts): Interest) {
        debug_assert!(self.slot(fd).is_none());
        if self.slot_of_fd.len() <= fd {
            self.slot_of_fd.resize(fd + 1, NONE);
        }
        self.slot_of_fd[fd] = self.entries.len() as u32;
        self.entries.push(Entry {
            fd,
            token,
            interest,
            opts,
            armed: true,
            seen: 0,
            idx: 0,
            bits: 0,
        });
    }

    /// Replaces `fd`'s registration (re-arming a oneshot one). The caller checked that it has
    /// one.
    pub(crate) fn update(&mut self, fd: usize, token: Token, (interest, opts): Interest) {
        if let Some(s) = self.slot(fd) {
            let entry = &mut self.entries[s];
            entry.token = token;
            entry.interest = interest;
            entry.opts = opts;
            entry.armed = true;
            // A later kevent of this select starts a new event under the new token.
            entry.seen = 0;
        }
    }

    /// Forgets `fd`'s registration; returns it.
    pub(crate) fn remove(&mut self, fd: usize) -> Option<Entry> {
        let slot = self.slot(fd)?;
        let removed = self.entries.swap_remove(slot);
        self.slot_of_fd[fd] = NONE;
        if let Some(moved) = self.entries.get(slot) {
            self.slot_of_fd[moved.fd] = slot as u32;
        }
        Some(removed)
    }

    /// Starts a select's reporting: entries reported before count as not yet seen.
    pub(crate) fn begin_select(&mut self) {
        self.select += 1;
    }

    /// Reports the `kevent`s a wait returned into `events` (which must have room for one
    /// event per `kevent`): one event per source, the token taken from the table (the
    /// registration as it is now), `kevent`s of sources no longer registered, of a filter no
    /// longer in the interest, or of a disarmed oneshot source dropped. `wake_fd` is the
    /// wake pipe's read end, where the waker is a pipe.
    pub(crate) fn report(
        &mut self,
        kevents: impl IntoIterator<Item = KEvent>,
        wake_fd: Option<usize>,
        events: &mut Events,
    ) -> Reported {
        let mut out = Reported::default();
        for ev in kevents {
            match ev.filter {
                Filter::User => {
                    out.notified = true;
                    continue;
                }
                Filter::Read if Some(ev.ident) == wake_fd => {
                    out.notified = true;
                    continue;
                }
                Filter::Other => {
                    out.dropped += 1;
                    continue;
                }
                Filter::Read | Filter::Write => {}
            }
            if !self.report_one(&ev, events) {
                out.dropped += 1;
            }
        }
        out
    }

    fn report_one(&mut self, ev: &KEvent, events: &mut Events) -> bool {
        let select = self.select;
        let Some(slot) = self.slot(ev.ident) else {
            return false;
        };
        let entry = &mut self.entries[slot];
        let wanted = match ev.filter {
            Filter::Read => entry.interest.is_readable(),
            _ => entry.interest.is_writable(),
        };
        if !wanted {
            return false;
        }
        let bits = kevent_bits(ev);
        if entry.seen == select {
            // The source's other filter: the same event.
            entry.bits = merge_bits(entry.bits, bits);
            events.merge(entry.idx, entry.bits);
            return true;
        }
        if entry.opts.is_oneshot() && !entry.armed {
            return false;
        }
        if events.is_full() {
            // Cannot happen: the wait asks for no more kevents than there is room for.
            debug_assert!(false, "more kevents than room in the events buffer");
            return false;
        }
        entry.seen = select;
        entry.idx = events.len();
        entry.bits = bits;
        entry.armed = false;
        events.push(entry.token, bits);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw() -> EventSet {
        EventSet::readable() | EventSet::writable()
    }

    fn ev(ident: usize, filter: Filter, flags: u32) -> KEvent {
        KEvent {
            ident,
            filter,
            flags,
            fflags: 0,
            data: 0,
        }
    }

    const ADD: u32 = flags::ADD | flags::ENABLE | flags::RECEIPT;
    const DEL: u32 = flags::DELETE | flags::RECEIPT;

    #[test]
    fn modes() {
        assert_eq!(mode_flags(PollOpt::edge()), flags::CLEAR);
        assert_eq!(mode_flags(PollOpt::level()), 0);
        assert_eq!(mode_flags(PollOpt::empty()), 0, "no option means level");
        assert_eq!(
            mode_flags(PollOpt::edge() | PollOpt::level()),
            0,
            "level wins"
        );
        assert_eq!(mode_flags(PollOpt::oneshot()), flags::DISPATCH);
        assert_eq!(
            mode_flags(PollOpt::edge() | PollOpt::oneshot()),
            flags::DISPATCH | flags::CLEAR
        );
    }

    #[test]
    fn register_adds_one_change_per_direction() {
        let list = changes(None, Some((rw(), PollOpt::edge())));
        assert_eq!(
            list.as_slice(),
            [
                Change {
                    filter: Filter::Read,
                    flags: ADD | flags::CLEAR
                },
                Change {
                    filter: Filter::Write,
                    flags: ADD | flags::CLEAR
                },
            ]
        );
        let list = changes(None, Some((EventSet::writable(), PollOpt::level())));
        assert_eq!(
            list.as_slice(),
            [Change {
                filter: Filter::Write,
                flags: ADD
            }]
        );
        // An empty interest is a registration without knotes.
        assert!(changes(None, Some((EventSet::none(), PollOpt::edge())))
            .as_slice()
            .is_empty());
        // Error and hup are not filters.
        assert!(changes(
            None,
            Some((EventSet::error() | EventSet::hup(), PollOpt::edge()))
        )
        .as_slice()
        .is_empty());
    }

    #[test]
    fn reregister_deletes_dropped_directions_and_readds_changed_modes() {
        let old = Some((rw(), PollOpt::edge()));
        // Same mode: EV_ADD modifies (and re-enables) in place; a dropped direction is deleted.
        let list = changes(old, Some((EventSet::readable(), PollOpt::edge())));
        assert_eq!(
            list.as_slice(),
            [
                Change {
                    filter: Filter::Read,
                    flags: ADD | flags::CLEAR
                },
                Change {
                    filter: Filter::Write,
                    flags: DEL
                },
            ]
        );
        // Edge to level: delete and add again, in one call.
        let list = changes(old, Some((EventSet::readable(), PollOpt::level())));
        assert_eq!(
            list.as_slice(),
            [
                Change {
                    filter: Filter::Read,
                    flags: DEL
                },
                Change {
                    filter: Filter::Read,
                    flags: ADD
                },
                Change {
                    filter: Filter::Write,
                    flags: DEL
                },
            ]
        );
        // Oneshot re-arm: the same mode, so an EV_ADD | EV_ENABLE of both, nothing deleted.
        let one = Some((rw(), PollOpt::oneshot()));
        let list = changes(one, one);
        assert_eq!(list.as_slice().len(), 2);
        assert!(list
            .as_slice()
            .iter()
            .all(|c| c.flags == ADD | flags::DISPATCH));
        // Read to write.
        let list = changes(
            Some((EventSet::readable(), PollOpt::level())),
            Some((EventSet::writable(), PollOpt::level())),
        );
        assert_eq!(
            list.as_slice(),
            [
                Change {
                    filter: Filter::Read,
                    flags: DEL
                },
                Change {
                    filter: Filter::Write,
                    flags: ADD
                },
            ]
        );
    }

    #[test]
    fn deregister_deletes_what_was_there() {
        let list = changes(Some((rw(), PollOpt::oneshot())), None);
        assert_eq!(
            list.as_slice(),
            [
                Change {
                    filter: Filter::Read,
                    flags: DEL
                },
                Change {
                    filter: Filter::Write,
                    flags: DEL
                },
            ]
        );
        assert!(changes(Some((EventSet::none(), PollOpt::edge())), None)
            .as_slice()
            .is_empty());
    }

    #[test]
    fn receipts() {
        let list = changes(Some((rw(), PollOpt::edge())), None);
        assert_eq!(first_error(list.as_slice(), &[0, 0]), None);
        // A filter the kernel removed already (the fd was closed) is not an error to delete.
        assert_eq!(first_error(list.as_slice(), &[ENOENT, 0]), None);
        assert_eq!(first_error(list.as_slice(), &[0, 9]), Some(9));
        let add = changes(None, Some((rw(), PollOpt::edge())));
        // ENOENT on an add is an error; the first error wins.
        assert_eq!(first_error(add.as_slice(), &[ENOENT, 0]), Some(ENOENT));
        assert_eq!(first_error(add.as_slice(), &[22, 32]), Some(22));
    }

    #[test]
    fn eof_and_error_mapping() {
        assert_eq!(kevent_bits(&ev(3, Filter::Read, 0)), ready::READABLE);
        assert_eq!(kevent_bits(&ev(3, Filter::Write, 0)), ready::WRITABLE);
        assert_eq!(
            kevent_bits(&ev(3, Filter::Read, flags::EOF)),
            ready::READABLE | ready::READ_CLOSED
        );
        assert_eq!(
            kevent_bits(&ev(3, Filter::Write, flags::EOF)),
            ready::WRITABLE | ready::WRITE_CLOSED
        );
        // EV_EOF with the socket's error in fflags (a reset): error as well.
        let reset = KEvent {
            fflags: 54,
            ..ev(3, Filter::Read, flags::EOF)
        };
        assert_eq!(
            kevent_bits(&reset),
            ready::READABLE | ready::READ_CLOSED | ready::ERROR
        );
        // fflags without EV_EOF mean nothing (EVFILT_READ's low-water mark flags).
        let plain = KEvent {
            fflags: 1,
            ..ev(3, Filter::Read, 0)
        };
        assert_eq!(kevent_bits(&plain), ready::READABLE);
        let failed = KEvent {
            data: 9,
            ..ev(3, Filter::Write, flags::ERROR)
        };
        assert_ne!(kevent_bits(&failed) & ready::ERROR, 0);
        assert_eq!(kevent_bits(&ev(0, Filter::User, 0)), 0);
    }

    #[test]
    fn hup_when_both_directions_closed() {
        let r = kevent_bits(&ev(3, Filter::Read, flags::EOF));
        let w = kevent_bits(&ev(3, Filter::Write, flags::EOF));
        assert_eq!(merge_bits(r, w) & ready::HUP, ready::HUP);
        assert_eq!(merge_bits(r, ready::WRITABLE) & ready::HUP, 0);
        assert_eq!(merge_bits(ready::READABLE, w) & ready::HUP, 0);
    }

    #[test]
    fn timeouts_are_not_rounded() {
        assert_eq!(timespec_of(None), None);
        assert_eq!(timespec_of(Some(Duration::ZERO)), Some((0, 0)));
        assert_eq!(timespec_of(Some(Duration::from_nanos(1))), Some((0, 1)));
        assert_eq!(
            timespec_of(Some(Duration::new(5, 300_000))),
            Some((5, 300_000))
        );
        assert_eq!(
            timespec_of(Some(Duration::from_secs(MAX_TIMEOUT_SECS))),
            Some((MAX_TIMEOUT_SECS, 0))
        );
        // Longer than any kernel takes: indefinitely (rounded up, never a short wait).
        assert_eq!(timespec_of(Some(Duration::MAX)), None);
        assert_eq!(
            timespec_of(Some(Duration::from_secs(MAX_TIMEOUT_SECS + 1))),
            None
        );
    }

    fn table(entries: &[(usize, usize, EventSet, PollOpt)]) -> Table {
        let mut table = Table::default();
        for &(fd, token, set, opts) in entries {
            table.insert(fd, Token(token), (set, opts));
        }
        table
    }

    fn all(events: &Events) -> Vec<(Token, u32)> {
        (0..events.len()).map(|i| events.raw(i).unwrap()).collect()
    }

    #[test]
    fn read_and_write_kevents_merge_into_one_event() {
        let mut t = table(&[
            (5, 50, rw(), PollOpt::edge()),
            (6, 60, rw(), PollOpt::edge()),
        ]);
        let mut events = Events::with_capacity(4);
        t.begin_select();
        // Not adjacent: the kernel's order is the order the knotes became active.
        let out = t.report(
            [
                ev(5, Filter::Read, 0),
                ev(6, Filter::Write, 0),
                ev(5, Filter::Write, 0),
            ],
            None,
            &mut events,
        );
        assert_eq!(out, Reported::default());
        assert_eq!(
            all(&events),
            [
                (Token(50), ready::READABLE | ready::WRITABLE),
                (Token(60), ready::WRITABLE)
            ]
        );
        // The next select starts new events.
        events.clear();
        t.begin_select();
        t.report([ev(5, Filter::Write, 0)], None, &mut events);
        assert_eq!(all(&events), [(Token(50), ready::WRITABLE)]);
    }

    #[test]
    fn merged_eofs_are_hup() {
        let mut t = table(&[(5, 50, rw(), PollOpt::level())]);
        let mut events = Events::with_capacity(2);
        t.begin_select();
        t.report(
            [
                ev(5, Filter::Write, flags::EOF),
                ev(5, Filter::Read, flags::EOF),
            ],
            None,
            &mut events,
        );
        let (_, bits) = events.raw(0).unwrap();
        assert_eq!(events.len(), 1);
        for bit in [
            ready::READABLE,
            ready::WRITABLE,
            ready::READ_CLOSED,
            ready::WRITE_CLOSED,
            ready::HUP,
        ] {
            assert_ne!(bits & bit, 0, "{bit:#x} in {bits:#x}");
        }
    }

    #[test]
    fn stale_kevents_are_dropped_and_tokens_are_current() {
        let mut t = table(&[
            (5, 50, EventSet::readable(), PollOpt::edge()),
            (7, 70, rw(), PollOpt::edge()),
        ]);
        // fd 7 was reregistered under a new token during the wait, and fd 9 never was.
        t.update(7, Token(71), (EventSet::readable(), PollOpt::edge()));
        let mut events = Events::with_capacity(4);
        t.begin_select();
        let out = t.report(
            [
                ev(9, Filter::Read, 0),
                ev(5, Filter::Write, 0), // not in 5's interest
                ev(7, Filter::Write, 0), // no longer in 7's interest
                ev(7, Filter::Read, 0),
            ],
            None,
            &mut events,
        );
        assert_eq!(out.dropped, 3);
        assert_eq!(all(&events), [(Token(71), ready::READABLE)]);
        // Deregistered: dropped.
        assert!(t.remove(7).is_some());
        assert!(t.remove(7).is_none());
        events.clear();
        t.begin_select();
        let out = t.report([ev(7, Filter::Read, 0)], None, &mut events);
        assert_eq!((out.dropped, events.len()), (1, 0));
        assert_eq!(t.get(5).unwrap().token, Token(50));
    }

    #[test]
    fn oneshot_reports_once_until_reregistered() {
        let mut t = table(&[(5, 50, rw(), PollOpt::oneshot())]);
        let mut events = Events::with_capacity(4);
        t.begin_select();
        t.report([ev(5, Filter::Read, 0)], None, &mut events);
        assert_eq!(all(&events), [(Token(50), ready::READABLE)]);
        // The write filter, not disarmed by the kernel, fires in a later select: dropped.
        events.clear();
        t.begin_select();
        let out = t.report([ev(5, Filter::Write, 0)], None, &mut events);
        assert_eq!((out.dropped, events.len()), (1, 0));
        // Both filters in the same select are one event.
        t.update(5, Token(50), (rw(), PollOpt::oneshot()));
        t.begin_select();
        t.report(
            [ev(5, Filter::Write, 0), ev(5, Filter::Read, 0)],
            None,
            &mut events,
        );
        assert_eq!(
            all(&events),
            [(Token(50), ready::READABLE | ready::WRITABLE)]
        );
    }

    #[test]
    fn wake_kevents_are_not_events() {
        let mut t = table(&[(5, 50, EventSet::readable(), PollOpt::edge())]);
        let mut events = Events::with_capacity(4);
        t.begin_select();
        let out = t.report(
            [
                ev(0, Filter::User, 0),
                ev(3, Filter::Read, 0),
                ev(5, Filter::Read, 0),
                ev(1, Filter::Other, 0),
            ],
            Some(3),
            &mut events,
        );
        assert!(out.notified);
        assert_eq!(out.dropped, 1);
        assert_eq!(all(&events), [(Token(50), ready::READABLE)]);
    }

    #[test]
    fn removal_keeps_the_index_dense() {
        let mut t = table(&[
            (3, 30, rw(), PollOpt::edge()),
            (4, 40, rw(), PollOpt::edge()),
            (1000, 1, rw(), PollOpt::edge()),
        ]);
        t.remove(3);
        assert!(t.get(3).is_none());
        assert_eq!(t.get(1000).unwrap().token, Token(1));
        assert_eq!(t.get(4).unwrap().token, Token(40));
        t.insert(3, Token(31), (rw(), PollOpt::edge()));
        assert_eq!(t.get(3).unwrap().token, Token(31));
        assert!(t.get(usize::MAX).is_none());
    }
}
