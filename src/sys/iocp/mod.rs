//! The IOCP backend (Windows): socket readiness as AFD polls completed on an I/O completion
//! port.
//!
//! # How readiness arrives
//!
//! Winsock's driver, AFD, answers `IOCTL_AFD_POLL` requests ([`afd`]): "complete when one of
//! these events is true of this socket". Such a request completes **once**, on the selector's
//! completion port ([`port`]), whose queue `select` waits on with
//! `GetQueuedCompletionStatusEx`. So readiness is a stream of one-shot reports, and ferrio
//! decides when to ask again.
//!
//! Each registered socket has two request slots, one per direction: the **read** slot asks for
//! data, a connection to accept, the peer's FIN, a reset and a failed connect; the **write**
//! slot for room to send, a reset and a failed connect. Each slot keeps the AFD events it is
//! *armed* for; an armed slot always has a request in flight for them, or is due to get one (at
//! the start of the next `select`, or at once while a `select` waits). After a slot reported:
//!
//! * **level**: it stays armed and is asked again at the next `select`; if the socket is still
//!   ready, that request completes at once and the socket is reported again.
//! * **edge**: the events that fired are disarmed and the slot goes on waiting for the others
//!   (so a FIN or a reset after an unread readable event is still reported), until ferrio's
//!   next IO call of that direction on the socket (or a `try_clone` of it) re-arms them all
//!   ([`Selector::rearm`]). So data that arrives after a read, drained or not, brings a new
//!   event; a partial read with data left is reported again (a spurious event), and a write
//!   makes the next `select` report writable again, as on the poll(2) backend. A request in
//!   flight that lacks a re-armed event is cancelled and asked again when the cancellation
//!   completes.
//! * **oneshot**: both slots are disarmed until `reregister`.
//!
//! `register` and `reregister` submit the requests of the armed slots at once, from the calling
//! thread, so a registration made while another thread is blocked in `select` is seen by that
//! wait: its completion arrives on the port the wait is blocked on. `deregister` cancels the
//! requests in flight; their completions are recognised as stale and dropped. A completion
//! reporting `AFD_POLL_LOCAL_CLOSE` (the socket was closed while registered, possible only for
//! a raw socket) drops the registration.
//!
//! # Memory of requests in flight
//!
//! The kernel writes a request's `IO_STATUS_BLOCK` and `AFD_POLL_INFO` until its completion is
//! dequeued. Both live in a [`Registration`] behind an `Arc`; every request in flight holds one
//! reference, passed to the kernel as the request's context (with the direction in the pointer's
//! low bit) and taken back when the completion is dequeued. A deregistered socket's memory thus
//! lives until its last cancelled request came back; dropping the selector cancels what is still
//! in flight and collects those completions (for a bounded time).
//!
//! # The waker
//!
//! `notify` posts a completion packet with its own key (`PostQueuedCompletionStatus`). The
//! coalescing flag ([`WakeState`]) decides what is reported: a dequeued packet whose wake was
//! already collected by an earlier `select` is stale and does not end the wait. A wake that
//! finds the `Events` buffer full is owed and reported by the next `select`, without waiting.

mod afd;
mod port;

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::ffi::c_void;
use std::io;
use std::os::windows::io::RawSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{STATUS_CANCELLED, STATUS_SUCCESS};
use windows_sys::Win32::System::IO::{IO_STATUS_BLOCK, OVERLAPPED_ENTRY};

use self::afd::{events as afd_ev, Afd, PollInfo};
use self::port::{timeout_to_ms, CompletionPort};
use super::event::ready;
use super::{Events, Selector, WakeState};
use crate::event_set::EventSet;
use crate::poll_opt::PollOpt;
use crate::token::Token;

/// Completion key of the AFD handle's requests.
const AFD_KEY: usize = 0;
/// Completion key of the waker's posted packets.
const WAKE_KEY: usize = 1;
/// Completion entries dequeued per `GetQueuedCompletionStatusEx` at most.
const MAX_ENTRIES: usize = 256;

/// The request slots of a registration.
const READ: usize = 0;
const WRITE: usize = 1;

/// What each slot's request asks for.
const SLOT_EVENTS: [u32; 2] = [
    afd_ev::RECEIVE
        | afd_ev::ACCEPT
        | afd_ev::DISCONNECT
        | afd_ev::ABORT
        | afd_ev::LOCAL_CLOSE
        | afd_ev::CONNECT_FAIL,
    afd_ev::SEND | afd_ev::ABORT | afd_ev::LOCAL_CLOSE | afd_ev::CONNECT_FAIL,
];

/// The memory one request of a slot gives the kernel.
struct Request {
    iosb: UnsafeCell<IO_STATUS_BLOCK>,
    info: UnsafeCell<PollInfo>,
}

/// What the kernel may write while a socket's requests are in flight (see the module docs).
struct Registration {
    socket: RawSocket,
    /// The base provider's socket, which the requests name.
    base: RawSocket,
    requests: [Request; 2],
}

// SAFETY: the cells of a slot are written by ferrio only while that slot has no request in
// flight (`Entry::pending`, under the table's lock) and read only after its completion was
// dequeued; in between only the kernel writes them. The other fields are immutable.
unsafe impl Send for Registration {}
// SAFETY: as above.
unsafe impl Sync for Registration {}

impl Registration {
    fn new(socket: RawSocket, base: RawSocket) -> Registration {
        let request = || Request {
            iosb: UnsafeCell::new(afd::pending_status_block()),
            info: UnsafeCell::new(PollInfo::new(base, 0)),
        };
        Registration {
            socket,
            base,
            requests: [request(), request()],
        }
    }
}

/// How a registration is re-armed after a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Level,
    Edge,
    Oneshot,
}

impl Mode {
    /// Level wins over edge; no option means level.
    fn of(opts: PollOpt) -> Mode {
        if opts.is_oneshot() {
            Mode::Oneshot
        } else if opts.is_edge() && !opts.is_level() {
            Mode::Edge
        } else {
            Mode::Level
        }
    }
}

/// One direction of a registered socket.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// The AFD events to report (without `LOCAL_CLOSE`, which every request asks).
    armed: u32,
    /// The events the request in flight asks for, if one is.
    pending: Option<u32>,
    /// The request in flight was asked to cancel.
    cancelled: bool,
}

impl Slot {
    /// Whether the slot needs a request submitted (or the one in flight cancelled, because it
    /// lacks an armed event).
    fn needs_update(&self) -> bool {
        match self.pending {
            None => self.armed != 0,
            Some(asked) => self.armed & !asked != 0 && !self.cancelled,
        }
    }
}

/// The selector's record of one registered socket.
struct Entry {
    reg: Arc<Registration>,
    token: Token,
    interest: EventSet,
    mode: Mode,
    slots: [Slot; 2],
    /// In the table's `due` list.
    due: bool,
    /// `(select number, index in Events)` of this socket's event in the current `select`, so
    /// that both slots' reports merge into one event.
    reported: (u64, usize),
}

impl Entry {
    fn new(reg: Arc<Registration>, token: Token, interest: EventSet, opts: PollOpt) -> Entry {
        let mut entry = Entry {
            reg,
            token,
            interest,
            mode: Mode::of(opts),
            slots: [Slot::default(); 2],
            due: false,
            reported: (u64::MAX, 0),
        };
        entry.arm_interest();
        entry
    }

    /// Arms every event of the directions in the interest, disarms the others.
    fn arm_interest(&mut self) {
        let wanted = [self.interest.is_readable(), self.interest.is_writable()];
        for slot in [READ, WRITE] {
            self.slots[slot].armed = if wanted[slot] { SLOT_EVENTS[slot] } else { 0 };
        }
    }

    fn needs_update(&self) -> bool {
        self.slots.iter().any(Slot::needs_update)
    }
}

#[derive(Default)]
struct Table {
    entries: HashMap<RawSocket, Entry>,
    /// Sockets whose slots need an update at the start of the next wait.
    due: Vec<RawSocket>,
    /// A `select` is waiting (or about to): updates are made at once instead of waiting in
    /// `due`.
    polling: bool,
    /// Requests in flight, stale ones included.
    in_flight: usize,
}

/// What only the thread in `select` uses.
struct WaitState {
    entries: Vec<OVERLAPPED_ENTRY>,
    /// Number of the current `select`.
    seq: u64,
}

// SAFETY: the entries are plain data the kernel fills; their pointers are request contexts,
// only turned back into references by `complete`, on whichever thread dequeued them.
unsafe impl Send for WaitState {}

/// An I/O completion port, an AFD handle whose poll requests complete on it, and the table of
/// registered sockets.
pub(crate) struct IocpSelector {
    port: CompletionPort,
    afd: Afd,
    table: Mutex<Table>,
    wait: Mutex<WaitState>,
    /// A wake found the `Events` buffer full: the next `select` reports it without waiting.
    owed_wake: AtomicBool,
}

impl std::fmt::Debug for IocpSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IocpSelector")
            .field("port", &self.port)
            .field("afd", &self.afd)
            .finish_non_exhaustive()
    }
}

fn not_registered() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        "socket is not registered with this selector",
    )
}

fn already_registered() -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        "socket is already registered with this selector",
    )
}

/// Packs a registration reference and a slot into a request's context.
fn into_context(reg: &Arc<Registration>, slot: usize) -> *const c_void {
    // An `Arc`'s pointer is at least 8-aligned: the low bit is free for the slot.
    (Arc::into_raw(Arc::clone(reg)) as usize | slot) as *const c_void
}

/// Takes back the reference and slot [`into_context`] packed.
///
/// # Safety
///
/// `context` must come from `into_context` and be taken back once.
unsafe fn from_context(context: *const c_void) -> (Arc<Registration>, usize) {
    let bits = context as usize;
    // SAFETY: the caller passes a pointer made by `Arc::into_raw`, once.
    let reg = unsafe { Arc::from_raw((bits & !1) as *const Registration) };
    (reg, bits & 1)
}

/// AFD events to ferrio's readiness bits, limited to `interest`.
fn to_ready(afd_events: u32, interest: EventSet) -> u32 {
    let mut bits = 0;
    if afd_events & (afd_ev::RECEIVE | afd_ev::ACCEPT) != 0 {
        bits |= ready::READABLE;
    }
    if afd_events & afd_ev::DISCONNECT != 0 {
        bits |= ready::READABLE | ready::READ_CLOSED;
    }
    if afd_events & afd_ev::SEND != 0 {
        bits |= ready::WRITABLE;
    }
    if afd_events & afd_ev::ABORT != 0 {
        bits |= ready::READABLE | ready::WRITABLE | ready::READ_CLOSED | ready::HUP | ready::ERROR;
    }
    if afd_events & afd_ev::CONNECT_FAIL != 0 {
        bits |= ready::READABLE | ready::WRITABLE | ready::HUP | ready::ERROR;
    }
    if !interest.is_readable() {
        bits &= !(ready::READABLE | ready::READ_CLOSED);
    }
    if !interest.is_writable() {
        bits &= !ready::WRITABLE;
    }
    bits
}

/// The events an edge-triggered slot disarms after `fired` was reported: what fired (data and
/// a connection to accept count as one), or everything after a reset or a failed connect.
fn edge_disarms(fired: u32) -> u32 {
    if fired & (afd_ev::ABORT | afd_ev::CONNECT_FAIL) != 0 {
        u32::MAX
    } else if fired & (afd_ev::RECEIVE | afd_ev::ACCEPT) != 0 {
        fired | afd_ev::RECEIVE | afd_ev::ACCEPT
    } else {
        fired
    }
}

impl IocpSelector {
    fn lock_table(&self) -> MutexGuard<'_, Table> {
        // Every critical section leaves the table consistent before anything that can panic.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Submits `slot`'s request for its armed events (it has none in flight).
    fn submit(&self, entry: &mut Entry, in_flight: &mut usize, slot: usize) -> io::Result<()> {
        debug_assert!(entry.slots[slot].pending.is_none());
        let asked = entry.slots[slot].armed;
        let reg = &entry.reg;
        let request = &reg.requests[slot];
        // SAFETY: the slot has no request in flight (and the table's lock is held), so nothing
        // else reads or writes its cells.
        unsafe { *request.info.get() = PollInfo::new(reg.base, asked | afd_ev::LOCAL_CLOSE) };
        let context = into_context(reg, slot);
        // SAFETY: the cells live in the registration, kept alive by the reference `context`
        // holds until the completion is dequeued, and untouched by ferrio until then.
        match unsafe {
            self.afd
                .poll(request.info.get(), request.iosb.get(), context)
        } {
            Ok(()) => {
                entry.slots[slot].pending = Some(asked);
                entry.slots[slot].cancelled = false;
                *in_flight += 1;
                Ok(())
            }
            Err(e) => {
                // SAFETY: nothing was submitted, so the reference was not handed over.
                drop(unsafe { from_context(context) });
                Err(e)
            }
        }
    }

    /// Brings every slot of `entry` in line with what it is armed for: submits a request
    /// where none is in flight, cancels one that lacks an armed event (it is asked again when
    /// the cancellation completes).
    fn update(&self, entry: &mut Entry, in_flight: &mut usize) -> io::Result<()> {
        for slot in [READ, WRITE] {
            let state = entry.slots[slot];
            if !state.needs_update() {
                continue;
            }
            if state.pending.is_none() {
                self.submit(entry, in_flight, slot)?;
            } else {
                // SAFETY: the slot's request is in flight on this AFD handle.
                unsafe { self.afd.cancel(entry.reg.requests[slot].iosb.get()) };
                entry.slots[slot].cancelled = true;
            }
        }
        Ok(())
    }

    /// Cancels the requests in flight of `entry` (their completions come back as stale).
    fn cancel_all(&self, entry: &Entry) {
        for slot in [READ, WRITE] {
            if entry.slots[slot].pending.is_some() {
                // SAFETY: the slot's request is in flight on this AFD handle.
                unsafe { self.afd.cancel(entry.reg.requests[slot].iosb.get()) };
            }
        }
    }

    /// The slots of `socket` need an update: made at once if a `select` waits, else at the
    /// start of the next one.
    fn schedule(&self, table: &mut Table, socket: RawSocket) {
        let Table {
            entries,
            due,
            polling,
            in_flight,
        } = table;
        let Some(entry) = entries.get_mut(&socket) else {
            return;
        };
        if !*polling || self.update(entry, in_flight).is_err() {
            // A failure is handled by the next select's flush.
            Self::mark_due(entry, due, socket);
        }
    }

    fn mark_due(entry: &mut Entry, due: &mut Vec<RawSocket>, socket: RawSocket) {
        if !entry.due {
            entry.due = true;
            due.push(socket);
        }
    }

    /// Makes the updates that are due. A socket whose request cannot be submitted (it was
    /// closed without being deregistered) is dropped from the table.
    fn flush_due(&self, table: &mut Table) {
        let Table {
            entries,
            due,
            in_flight,
            ..
        } = table;
        for socket in due.drain(..) {
            let Some(entry) = entries.get_mut(&socket) else {
                continue;
            };
            entry.due = false;
            if self.update(entry, in_flight).is_err() {
                self.cancel_all(entry);
                entries.remove(&socket);
            }
        }
    }

    /// Handles one dequeued request completion: reports the socket, or asks again, or drops a
    /// stale completion.
    fn complete(&self, table: &mut Table, events: &mut Events, seq: u64, context: *const c_void) {
        // SAFETY: every AFD completion's context was made by `into_context` for exactly one
        // request, and this is its only completion.
        let (reg, slot) = unsafe { from_context(context) };
        table.in_flight -= 1;
        let request = &reg.requests[slot];
        // SAFETY: the request completed: the kernel no longer writes its cells.
        let (status, afd_events) = unsafe {
            (
                afd::status_of(&*request.iosb.get()),
                (*request.info.get()).reported(),
            )
        };
        let socket = reg.socket;
        let Some(entry) = table.entries.get_mut(&socket) else {
            return;
        };
        if !Arc::ptr_eq(&entry.reg, &reg) {
            // A request of an earlier registration of this socket value.
            return;
        }
        let asked = entry.slots[slot].pending.take().unwrap_or(0);
        entry.slots[slot].cancelled = false;
        let after = if status == STATUS_CANCELLED {
            After::Update
        } else if status != STATUS_SUCCESS || afd_events & afd_ev::LOCAL_CLOSE != 0 {
            // The socket was closed without being deregistered: forget it.
            self.cancel_all(entry);
            After::Forget
        } else {
            let fired = afd_events & asked & entry.slots[slot].armed;
            let bits = to_ready(fired, entry.interest);
            if bits == 0 {
                After::Update
            } else {
                if entry.reported.0 == seq {
                    events.merge(entry.reported.1, bits);
                } else {
                    // Never full: room for one new event per dequeued entry was made.
                    debug_assert!(!events.is_full());
                    entry.reported = (seq, events.len());
                    events.push(entry.token, bits);
                }
                match entry.mode {
                    // Asked again by the next select, after the program had its turn.
                    Mode::Level => {
                        Self::mark_due(entry, &mut table.due, socket);
                        After::Nothing
                    }
                    Mode::Edge => {
                        entry.slots[slot].armed &= !edge_disarms(fired);
                        After::Update
                    }
                    Mode::Oneshot => {
                        for slot in &mut entry.slots {
                            slot.armed = 0;
                        }
                        After::Nothing
                    }
                }
            }
        };
        match after {
            After::Nothing => {}
            After::Update => self.schedule(table, socket),
            After::Forget => {
                table.entries.remove(&socket);
            }
        }
    }
}

/// What a completion leads to once its entry is updated.
enum After {
    Nothing,
    /// Bring the slots in line (at once while a select waits).
    Update,
    /// Drop the entry.
    Forget,
}

impl Selector for IocpSelector {
    fn new() -> io::Result<IocpSelector> {
        let port = CompletionPort::new()?;
        let afd = Afd::new(port.handle(), AFD_KEY)?;
        Ok(IocpSelector {
            port,
            afd,
            table: Mutex::new(Table::default()),
            wait: Mutex::new(WaitState {
                entries: vec![OVERLAPPED_ENTRY::default(); MAX_ENTRIES],
                seq: 0,
            }),
            owed_wake: AtomicBool::new(false),
        })
    }

    fn register(
        &self,
        socket: RawSocket,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        let mut table = self.lock_table();
        if table.entries.contains_key(&socket) {
            return Err(already_registered());
        }
        let base = afd::base_socket(socket)?;
        let reg = Arc::new(Registration::new(socket, base));
        let mut entry = Entry::new(reg, token, interest, opts);
        let res = self.update(&mut entry, &mut table.in_flight);
        if let Err(e) = res {
            // Leave nothing behind: a request already submitted comes back as stale.
            self.cancel_all(&entry);
            return Err(e);
        }
        table.entries.insert(socket, entry);
        Ok(())
    }

    fn reregister(
        &self,
        socket: RawSocket,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        let mut guard = self.lock_table();
        let table = &mut *guard;
        let entry = table.entries.get_mut(&socket).ok_or_else(not_registered)?;
        entry.token = token;
        entry.interest = interest;
        entry.mode = Mode::of(opts);
        // Re-arms edge and oneshot slots: readiness is checked afresh, as epoll does. A request
        // still in flight for a direction no longer asked for reports nothing when it completes
        // (the slot is not armed).
        entry.arm_interest();
        self.update(entry, &mut table.in_flight)
    }

    fn deregister(&self, socket: RawSocket) -> io::Result<()> {
        let mut table = self.lock_table();
        let entry = table.entries.remove(&socket).ok_or_else(not_registered)?;
        self.cancel_all(&entry);
        Ok(())
    }

    fn select(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        waker: &WakeState,
    ) -> io::Result<()> {
        events.clear();
        if events.capacity() == 0 {
            return Err(Events::zero_capacity_error());
        }
        let mut wait = self.wait.lock().unwrap_or_else(|e| e.into_inner());
        let WaitState { entries, seq } = &mut *wait;
        *seq = seq.wrapping_add(1);
        let seq = *seq;
        let owed = self.owed_wake.load(Ordering::Acquire);
        // `None`: no deadline (an infinite timeout, or one too long for `Instant`). An owed
        // wake is reported without waiting.
        let deadline = if owed {
            Some(Instant::now())
        } else {
            timeout.and_then(|d| Instant::now().checked_add(d))
        };
        let mut timeout_ms = if owed { 0 } else { timeout_to_ms(timeout) };
        let res = loop {
            {
                let mut table = self.lock_table();
                table.polling = true;
                self.flush_due(&mut table);
            }
            // Room for one new event per dequeued entry (the buffer is empty here).
            let room = (events.capacity() - events.len()).clamp(1, entries.len());
            let n = match self.port.get_many(&mut entries[..room], timeout_ms) {
                Ok(n) => n,
                Err(e) => break Err(e),
            };
            let mut woken = false;
            {
                let mut table = self.lock_table();
                for entry in &entries[..n] {
                    if entry.lpCompletionKey == WAKE_KEY {
                        woken = true;
                    } else if !entry.lpOverlapped.is_null() {
                        let context = entry.lpOverlapped as *const c_void;
                        self.complete(&mut table, events, seq, context);
                    }
                }
            }
            // n == 0: the time is up. A dequeued wake whose flag an earlier select already took
            // is stale, and stale or cancelled requests report nothing: then wait for the rest.
            if n == 0 || !events.is_empty() || (woken && waker.is_pending()) {
                break Ok(());
            }
            timeout_ms = match deadline {
                None => u32::MAX,
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => timeout_to_ms(Some(left)),
                    _ => break Ok(()),
                },
            };
        };
        self.lock_table().polling = false;
        let pending = waker.take_pending();
        res?;
        if pending || self.owed_wake.load(Ordering::Acquire) {
            if let Some(token) = waker.token() {
                if events.is_full() {
                    self.owed_wake.store(true, Ordering::Release);
                } else {
                    self.owed_wake.store(false, Ordering::Release);
                    events.push(token, ready::READABLE);
                }
            }
        }
        Ok(())
    }

    fn install_waker(&self, _token: Token, _waker: &WakeState) -> io::Result<()> {
        // The packet carries no token: the coalescing state says which token to report, and a
        // stale packet is recognised by its flag. Nothing to set up.
        Ok(())
    }

    fn notify(&self) -> io::Result<()> {
        self.port.post(WAKE_KEY)
    }

    fn needs_rearm(&self) -> bool {
        true
    }

    fn rearm(&self, socket: RawSocket, direction: EventSet) {
        let slot = if direction.is_readable() { READ } else { WRITE };
        let mut table = self.lock_table();
        let Some(entry) = table.entries.get_mut(&socket) else {
            return;
        };
        let wanted = if slot == READ {
            entry.interest.is_readable()
        } else {
            entry.interest.is_writable()
        };
        if entry.mode != Mode::Edge || !wanted || entry.slots[slot].armed == SLOT_EVENTS[slot] {
            return;
        }
        entry.slots[slot].armed = SLOT_EVENTS[slot];
        if entry.needs_update() {
            self.schedule(&mut table, socket);
        }
    }
}

impl Drop for IocpSelector {
    fn drop(&mut self) {
        let mut guard = self.lock_table();
        let table = &mut *guard;
        for entry in table.entries.values() {
            self.cancel_all(entry);
        }
        table.entries.clear();
        // Collect the cancelled requests' completions, which hold the registrations' memory
        // (bounded: a kernel that never completes them costs a leak, not a hang).
        let mut wait = self.wait.lock().unwrap_or_else(|e| e.into_inner());
        let mut quiet_waits = 0;
        while table.in_flight > 0 && quiet_waits < 10 {
            let n = self.port.get_many(&mut wait.entries, 10).unwrap_or(0);
            if n == 0 {
                quiet_waits += 1;
            }
            for entry in &wait.entries[..n] {
                if entry.lpCompletionKey == AFD_KEY && !entry.lpOverlapped.is_null() {
                    // SAFETY: an AFD completion's context, taken back once.
                    drop(unsafe { from_context(entry.lpOverlapped as *const c_void) });
                    table.in_flight -= 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_wins_over_edge() {
        assert_eq!(Mode::of(PollOpt::edge() | PollOpt::level()), Mode::Level);
        assert_eq!(Mode::of(PollOpt::empty()), Mode::Level);
        assert_eq!(Mode::of(PollOpt::edge()), Mode::Edge);
        assert_eq!(
            Mode::of(PollOpt::edge() | PollOpt::oneshot()),
            Mode::Oneshot
        );
    }

    #[test]
    fn readiness_follows_interest() {
        let both = EventSet::readable() | EventSet::writable();
        assert_eq!(to_ready(afd_ev::RECEIVE, both), ready::READABLE);
        assert_eq!(to_ready(afd_ev::SEND, both), ready::WRITABLE);
        assert_eq!(to_ready(afd_ev::SEND, EventSet::readable()), 0);
        let reset = to_ready(afd_ev::ABORT, EventSet::writable());
        assert_eq!(reset, ready::WRITABLE | ready::HUP | ready::ERROR);
        assert_eq!(
            to_ready(afd_ev::DISCONNECT, EventSet::readable()),
            ready::READABLE | ready::READ_CLOSED
        );
    }

    #[test]
    fn edges_disarm_what_fired() {
        let read = SLOT_EVENTS[READ];
        let left = read & !edge_disarms(afd_ev::RECEIVE);
        assert_eq!(left & (afd_ev::RECEIVE | afd_ev::ACCEPT), 0);
        assert_ne!(
            left & afd_ev::DISCONNECT,
            0,
            "a FIN after unread data is still reported"
        );
        assert_eq!(read & !edge_disarms(afd_ev::ABORT), 0);
        let slot = Slot {
            armed: read,
            pending: Some(afd_ev::DISCONNECT),
            cancelled: false,
        };
        assert!(
            slot.needs_update(),
            "a request lacking armed events is cancelled"
        );
    }
}
