//! The io_uring backend (Linux 5.13+): readiness through `IORING_OP_POLL_ADD`.
//!
//! # Data structure
//!
//! * The ring (256 submission entries, 4096 completion entries; the kernel buffers overflow).
//! * A table indexed by fd, behind one `Mutex` that also guards the submission queue: per fd a
//!   **generation** and, while registered, the token, interest, options and whether a poll
//!   request is in flight. Every poll request carries `user_data = fd << 32 | generation`;
//!   `register`, `reregister` and `deregister` bump the generation, so a completion of an older
//!   request (one that raced with the change, or a cancelled one) no longer matches and is
//!   dropped. That is how no event is reported for a deregistered token.
//! * The list of fds to re-arm, filled while completions are read and drained by the next
//!   `select`.
//!
//! # Modes
//!
//! * Edge: one **multishot** poll (`IORING_POLL_ADD_MULTI`), which posts a completion per
//!   readiness wake-up, as epoll's `EPOLLET` reports one. If the kernel ends it (no
//!   `IORING_CQE_F_MORE`, e.g. after a completion-queue overflow), the next `select` re-arms it.
//! * Level: a single-shot poll, re-submitted by the next `select` after each report; a source
//!   still ready completes at once during that submission.
//! * Oneshot: a single-shot poll, re-submitted only by `reregister`.
//!
//! # Syscalls
//!
//! `select` pushes the pending re-arms and then makes **one** `io_uring_enter`, which submits
//! everything queued (also registrations made since the last `select`) and waits, with the
//! timeout passed as `IORING_ENTER_EXT_ARG` (nanosecond resolution, nothing to round).
//! `register` and `reregister` only queue their requests, unless a `select` is blocked in
//! another thread (`in_wait`): then they submit them at once (a non-waiting `io_uring_enter`
//! from their own thread), so the blocked `select` gets their completions without being woken.
//! `deregister` always submits its `POLL_REMOVE` at once: the ring holds a reference to the file
//! while it is polled, and a dropped socket must really close.
//!
//! # Waker
//!
//! The selector polls its own eventfd with a multishot poll; `Waker::wake` writes to it,
//! coalesced by `wake_pending` as in the epoll backend (set by the first wake since the last
//! `select`, cleared by `select` after its wait). Each write is one completion, reported as the
//! waker's token.

use std::cell::Cell;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use io_uring::{cqueue, opcode, squeue, types, IoUring};

use super::{interest_to_poll, Events};
use crate::event_set::EventSet;
use crate::poll_opt::PollOpt;
use crate::token::Token;

/// `user_data` of the selector's eventfd poll.
const NOTIFY_UD: u64 = u64::MAX - 1;
/// `user_data` of `POLL_REMOVE` requests, whose own completions are ignored.
const REMOVE_UD: u64 = u64::MAX;

const SQ_ENTRIES: u32 = 256;
const CQ_ENTRIES: u32 = 4096;

thread_local! {
    /// Test hook: make the next `Selector::new` on this thread fail as a kernel without
    /// io_uring would.
    static FORCE_FAILURE: Cell<bool> = const { Cell::new(false) };
}

/// Makes the next io_uring selector created on this thread fail (the fallback test).
pub(crate) fn force_next_failure() {
    FORCE_FAILURE.with(|f| f.set(true));
}

#[derive(Debug, Clone, Copy)]
struct Registration {
    token: Token,
    interest: EventSet,
    opts: PollOpt,
    /// A poll request for the current generation is armed in the kernel.
    in_flight: bool,
}

impl Registration {
    fn is_edge(&self) -> bool {
        self.opts.is_edge() && !self.opts.is_level() && !self.opts.is_oneshot()
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Slot {
    generation: u32,
    reg: Option<Registration>,
    /// The `select` (by sequence number) that last reported this fd, and where.
    reported_in: u64,
    event_idx: u32,
}

#[derive(Debug, Default)]
struct Inner {
    slots: Vec<Slot>,
    rearm: Vec<RawFd>,
    notify_armed: bool,
    /// A `select` is blocked in `io_uring_enter`.
    in_wait: bool,
    /// Sequence number of the current `select`.
    seq: u64,
    waker_reported_in: u64,
    waker_event_idx: u32,
}

/// An io_uring selector.
pub(crate) struct Selector {
    id: usize,
    ring: IoUring,
    /// Guards the table and every access to the submission and completion queues.
    inner: Mutex<Inner>,
    /// Polled by the ring: wakes a blocked `select` for the user's `Waker`.
    notify: OwnedFd,
    /// The user's `Waker`: coalescing flag and token.
    waker: super::WakerSlot,
}

impl std::fmt::Debug for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Selector")
            .field("id", &self.id)
            .field("ring", &self.ring.as_raw_fd())
            .finish()
    }
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // Every critical section leaves the table consistent before anything that can panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn user_data(fd: RawFd, generation: u32) -> u64 {
    ((fd as u32 as u64) << 32) | generation as u64
}

fn poll_add(fd: RawFd, interest: EventSet, multishot: bool, ud: u64) -> squeue::Entry {
    opcode::PollAdd::new(types::Fd(fd), interest_to_poll(interest) as u16 as u32)
        .multi(multishot)
        .build()
        .user_data(ud)
}

fn poll_remove(ud: u64) -> squeue::Entry {
    opcode::PollRemove::new(ud).build().user_data(REMOVE_UD)
}

fn not_registered() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        "the fd is not registered with this selector",
    )
}

impl Selector {
    /// Sets up the ring, checks the kernel has what this backend needs, and arms the eventfd.
    /// An error here makes `Poll` fall back to epoll, with the error as the reason.
    pub(crate) fn new() -> io::Result<Selector> {
        if FORCE_FAILURE.with(|f| f.replace(false)) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "io_uring_setup refused (simulated by a test)",
            ));
        }
        let ring = IoUring::builder()
            .setup_cqsize(CQ_ENTRIES)
            .build(SQ_ENTRIES)
            .map_err(|e| io::Error::new(e.kind(), format!("io_uring_setup failed: {e}")))?;
        let params = ring.params();
        if !params.is_feature_ext_arg() || !params.is_feature_resource_tagging() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the kernel's io_uring is too old: ferrio needs Linux 5.13 or later \
                 (IORING_FEAT_EXT_ARG and multishot poll)",
            ));
        }
        let mut probe = io_uring::Probe::new();
        ring.submitter()
            .register_probe(&mut probe)
            .map_err(|e| io::Error::new(e.kind(), format!("io_uring probe failed: {e}")))?;
        if !probe.is_supported(opcode::PollAdd::CODE)
            || !probe.is_supported(opcode::PollRemove::CODE)
        {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "io_uring does not offer POLL_ADD and POLL_REMOVE here",
            ));
        }
        let selector = Selector {
            id: super::next_id(),
            ring,
            inner: Mutex::new(Inner::default()),
            notify: super::fd::eventfd()?,
            waker: super::WakerSlot::default(),
        };
        {
            let mut inner = lock(&selector.inner);
            selector.push(&poll_add(
                selector.notify.as_raw_fd(),
                EventSet::readable(),
                true,
                NOTIFY_UD,
            ))?;
            inner.notify_armed = true;
        }
        // Also proves that io_uring_enter is allowed (a seccomp filter may allow only setup).
        selector
            .ring
            .submit()
            .map_err(|e| io::Error::new(e.kind(), format!("io_uring_enter failed: {e}")))?;
        Ok(selector)
    }

    #[inline]
    pub(crate) fn id(&self) -> usize {
        self.id
    }

    /// Queues one request. The caller holds the `inner` lock, which guards the queue.
    fn push(&self, entry: &squeue::Entry) -> io::Result<()> {
        for _ in 0..2 {
            {
                // SAFETY: the caller holds `inner`, so no other SubmissionQueue of this ring
                // exists while this one does.
                let mut sq = unsafe { self.ring.submission_shared() };
                // SAFETY: poll requests reference no buffer; a bad fd is reported in the
                // completion (EBADF), not undefined behaviour.
                if unsafe { sq.push(entry) }.is_ok() {
                    return Ok(());
                }
            }
            // The queue is full: hand it to the kernel and try again.
            self.ring.submit()?;
        }
        Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "the io_uring submission queue stays full",
        ))
    }

    fn slot_mut(inner: &mut Inner, fd: RawFd) -> &mut Slot {
        let idx = fd as usize;
        if inner.slots.len() <= idx {
            inner.slots.resize(idx + 1, Slot::default());
        }
        &mut inner.slots[idx]
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
        let mut inner = lock(&self.inner);
        if inner
            .slots
            .get(fd as usize)
            .is_some_and(|s| s.reg.is_some())
        {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the fd is already registered with this selector",
            ));
        }
        super::check_pollable(fd)?;
        let reg = Registration {
            token,
            interest,
            opts,
            in_flight: true,
        };
        let slot = Self::slot_mut(&mut inner, fd);
        slot.generation = slot.generation.wrapping_add(1);
        let ud = user_data(fd, slot.generation);
        self.push(&poll_add(fd, interest, reg.is_edge(), ud))?;
        Self::slot_mut(&mut inner, fd).reg = Some(reg);
        if inner.in_wait {
            self.ring.submit()?;
        }
        Ok(())
    }

    pub(crate) fn reregister(
        &self,
        fd: RawFd,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        let mut inner = lock(&self.inner);
        let slot = match inner.slots.get_mut(fd as usize) {
            Some(s) if s.reg.is_some() => s,
            _ => return Err(not_registered()),
        };
        let old = slot.reg.expect("checked above");
        let old_ud = user_data(fd, slot.generation);
        slot.generation = slot.generation.wrapping_add(1);
        let ud = user_data(fd, slot.generation);
        let reg = Registration {
            token,
            interest,
            opts,
            in_flight: true,
        };
        slot.reg = Some(reg);
        if old.in_flight {
            self.push(&poll_remove(old_ud))?;
        }
        self.push(&poll_add(fd, interest, reg.is_edge(), ud))?;
        if inner.in_wait {
            self.ring.submit()?;
        }
        Ok(())
    }

    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        let inner = &mut *lock(&self.inner);
        let slot = match inner.slots.get_mut(fd as usize) {
            Some(s) if s.reg.is_some() => s,
            _ => return Err(not_registered()),
        };
        let old = slot.reg.take().expect("checked above");
        let old_ud = user_data(fd, slot.generation);
        slot.generation = slot.generation.wrapping_add(1);
        if old.in_flight {
            self.push(&poll_remove(old_ud))?;
            // Now, not at the next select: the ring holds the file until the poll is removed.
            self.ring.submit()?;
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
        events.clear();
        {
            let inner = &mut *lock(&self.inner);
            inner.seq += 1;
            for i in 0..inner.rearm.len() {
                let fd = inner.rearm[i];
                let slot = &mut inner.slots[fd as usize];
                let Some(reg) = slot.reg.as_mut() else {
                    continue;
                };
                if reg.in_flight || reg.opts.is_oneshot() {
                    continue;
                }
                reg.in_flight = true;
                let entry = poll_add(
                    fd,
                    reg.interest,
                    reg.is_edge(),
                    user_data(fd, slot.generation),
                );
                self.push(&entry)?;
            }
            inner.rearm.clear();
            if !inner.notify_armed {
                self.push(&poll_add(
                    self.notify.as_raw_fd(),
                    EventSet::readable(),
                    true,
                    NOTIFY_UD,
                ))?;
                inner.notify_armed = true;
            }
            inner.in_wait = true;
        }
        let res = match timeout {
            None => self.ring.submit_and_wait(1),
            Some(d) => {
                // The kernel's tv_sec is signed: clamp (to about 292 billion years).
                let ts = types::Timespec::new()
                    .sec(d.as_secs().min(i64::MAX as u64))
                    .nsec(d.subsec_nanos());
                let args = types::SubmitArgs::new().timespec(&ts);
                self.ring.submitter().submit_with_args(1, &args)
            }
        };
        let inner = &mut *lock(&self.inner);
        inner.in_wait = false;
        // Cleared after the wait, as in the epoll backend.
        self.waker.take_pending();
        match res {
            Ok(_) => {}
            // The timeout elapsed; EBUSY: completions are backlogged, read them.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ETIME) | Some(libc::EBUSY)) => {}
            Err(e) => return Err(e),
        }
        // SAFETY: we hold `inner`, so no other CompletionQueue of this ring exists.
        let mut cq = unsafe { self.ring.completion_shared() };
        while !events.is_full() {
            let Some(cqe) = cq.next() else { break };
            self.complete(inner, &cqe, events);
        }
        Ok(())
    }

    /// Handles one completion: reports it (merged per fd) and schedules re-arms.
    fn complete(&self, inner: &mut Inner, cqe: &cqueue::Entry, events: &mut Events) {
        let ud = cqe.user_data();
        let res = cqe.result();
        let more = cqueue::more(cqe.flags());
        if ud == REMOVE_UD {
            return;
        }
        if ud == NOTIFY_UD {
            if !more {
                inner.notify_armed = false;
            }
            if let Some(token) = self.waker.token().filter(|_| res > 0) {
                if inner.waker_reported_in == inner.seq {
                    events.merge(inner.waker_event_idx as usize, libc::POLLIN as u32);
                } else {
                    inner.waker_reported_in = inner.seq;
                    inner.waker_event_idx = events.len() as u32;
                    events.push(token, libc::POLLIN as u32);
                }
            }
            return;
        }
        let fd = (ud >> 32) as RawFd;
        let Some(slot) = inner.slots.get_mut(fd as usize) else {
            return;
        };
        if slot.generation != ud as u32 {
            return; // An older registration's request.
        }
        let Some(reg) = slot.reg.as_mut() else {
            return;
        };
        if res == -libc::ECANCELED {
            return;
        }
        if !more {
            reg.in_flight = false;
            // A failed poll (say EBADF: closed before it was armed) is not retried.
            if res >= 0 && !reg.opts.is_oneshot() {
                inner.rearm.push(fd);
            }
        }
        let bits = if res < 0 {
            libc::POLLERR as u32
        } else {
            let asked = (interest_to_poll(reg.interest) | libc::POLLERR | libc::POLLHUP) as u16;
            res as u32 & asked as u32
        };
        if bits == 0 {
            return;
        }
        if slot.reported_in == inner.seq {
            events.merge(slot.event_idx as usize, bits);
        } else {
            slot.reported_in = inner.seq;
            slot.event_idx = events.len() as u32;
            events.push(reg.token, bits);
        }
    }
}
