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
//! A request must be in the kernel before its `POLL_REMOVE` is: a removal submitted in the same
//! `io_uring_enter` as the poll it removes can miss it, and the poll then holds the file open
//! forever (a dropped socket whose peer never sees EOF). So `deregister` and `reregister`
//! first submit whatever is still queued (read from the submission queue itself, which also
//! covers the re-arms a `select` queued just before its wait), then submit the removal.
//!
//! A timed `select` whose wait was ended only by the backend's own completions (a removal, a
//! cancelled or stale poll, the wake fd without a pending wake) waits again for the rest of its
//! timeout, as epoll and poll(2) do.
//!
//! # Waker
//!
//! The selector polls its own [`WakeFd`] (an eventfd) with a multishot poll; a wake notifies
//! it, which ends the wait. The wake is reported, as the waker's token, when the waker's
//! pending flag says so (see `super::waker`); the eventfd's completions only end waits.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Mutex;

use super::lock;
use std::time::Duration;

use io_uring::{cqueue, opcode, squeue, types, IoUring};

use super::event::ready;
use super::event::Events;
use super::pollable::{
    already_registered, check_pollable, interest_to_poll_with, not_registered, poll_to_ready_with,
};
use super::wake_fd::WakeFd;
use super::waker::WakeState;
use super::Selector;
use crate::event_set::EventSet;
use crate::poll_opt::PollOpt;
use crate::token::Token;

/// `user_data` of the selector's eventfd poll.
const NOTIFY_UD: u64 = u64::MAX - 1;
/// `user_data` of `POLL_REMOVE` requests, whose own completions are ignored.
const REMOVE_UD: u64 = u64::MAX;

const SQ_ENTRIES: u32 = 256;
const CQ_ENTRIES: u32 = 4096;

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
    /// A wake that found the events buffer full; reported first by the next `select`.
    wake_owed: bool,
}

/// An io_uring selector.
pub(crate) struct UringSelector {
    ring: IoUring,
    /// Guards the table and every access to the submission and completion queues.
    inner: Mutex<Inner>,
    /// Polled by the ring: ends a blocked `select` for the user's `Waker`.
    wake: WakeFd,
}

impl std::fmt::Debug for UringSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UringSelector")
            .field("ring", &self.ring.as_raw_fd())
            .finish()
    }
}

fn user_data(fd: RawFd, generation: u32) -> u64 {
    ((fd as u32 as u64) << 32) | generation as u64
}

fn poll_add(fd: RawFd, interest: EventSet, multishot: bool, ud: u64) -> squeue::Entry {
    opcode::PollAdd::new(
        types::Fd(fd),
        interest_to_poll_with(interest, libc::POLLRDHUP) as u16 as u32,
    )
    .multi(multishot)
    .build()
    .user_data(ud)
}

fn poll_remove(ud: u64) -> squeue::Entry {
    opcode::PollRemove::new(ud).build().user_data(REMOVE_UD)
}

impl Selector for UringSelector {
    /// Sets up the ring, checks the kernel has what this backend needs, and arms the wake fd.
    /// An error here makes `Poll` fall back to epoll, with the error as the reason.
    fn new() -> io::Result<UringSelector> {
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
        let selector = UringSelector {
            ring,
            inner: Mutex::new(Inner::default()),
            wake: WakeFd::new()?,
        };
        {
            let mut inner = lock(&selector.inner);
            let arm = poll_add(
                selector.wake.as_raw_fd(),
                EventSet::readable(),
                true,
                NOTIFY_UD,
            );
            selector.push(&mut inner, &arm)?;
            inner.notify_armed = true;
            // Also proves that io_uring_enter is allowed (a seccomp filter may allow only
            // setup).
            selector
                .submit(&mut inner)
                .map_err(|e| io::Error::new(e.kind(), format!("io_uring_enter failed: {e}")))?;
        }
        Ok(selector)
    }

    fn register(
        &self,
        fd: RawFd,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        check_pollable(fd)?;
        let mut inner = lock(&self.inner);
        if inner
            .slots
            .get(fd as usize)
            .is_some_and(|s| s.reg.is_some())
        {
            return Err(already_registered());
        }
        let reg = Registration {
            token,
            interest,
            opts,
            in_flight: true,
        };
        let slot = slot_mut(&mut inner, fd);
        slot.generation = slot.generation.wrapping_add(1);
        let ud = user_data(fd, slot.generation);
        self.push(&mut inner, &poll_add(fd, interest, reg.is_edge(), ud))?;
        slot_mut(&mut inner, fd).reg = Some(reg);
        if inner.in_wait {
            self.submit(&mut inner)?;
        }
        Ok(())
    }

    fn reregister(
        &self,
        fd: RawFd,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        let inner = &mut *lock(&self.inner);
        let old = match inner.slots.get(fd as usize) {
            Some(s) if s.reg.is_some() => s.reg.expect("checked above"),
            _ => return Err(not_registered()),
        };
        if old.in_flight {
            self.remove_in_flight(inner, fd)?;
        }
        let slot = &mut inner.slots[fd as usize];
        slot.generation = slot.generation.wrapping_add(1);
        let ud = user_data(fd, slot.generation);
        let reg = Registration {
            token,
            interest,
            opts,
            in_flight: true,
        };
        slot.reg = Some(reg);
        self.push(inner, &poll_add(fd, interest, reg.is_edge(), ud))?;
        if inner.in_wait {
            self.submit(inner)?;
        }
        Ok(())
    }

    fn deregister(&self, fd: RawFd) -> io::Result<()> {
        let inner = &mut *lock(&self.inner);
        let old = match inner.slots.get(fd as usize) {
            Some(s) if s.reg.is_some() => s.reg.expect("checked above"),
            _ => return Err(not_registered()),
        };
        if old.in_flight {
            // Now, not at the next select: the ring holds the file until the poll is removed.
            self.remove_in_flight(inner, fd)?;
            self.submit(inner)?;
        }
        let slot = &mut inner.slots[fd as usize];
        slot.reg = None;
        slot.generation = slot.generation.wrapping_add(1);
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
        // A timed wait ended only by the backend's own completions waits again for the rest.
        super::timeout::wait_out(timeout, |left| {
            let timed_out = self.select_once(events, left, waker)?;
            Ok(events.is_empty() && !timed_out)
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
}

impl Drop for UringSelector {
    /// Removes every poll still armed (the wake fd's included) and waits, bounded, for the
    /// removals to complete before the ring is closed.
    ///
    /// Closing a ring with armed polls makes the kernel cancel them later, from a worker,
    /// through task work queued to the thread that submitted each poll; that task work
    /// interrupts the thread's next `epoll_wait` with `EINTR` although no signal was sent
    /// (an epoll `Poll` made after an io_uring one on the same thread failed its first
    /// poll). Removed here, the cancellations run on this thread, during this call. (A poll
    /// submitted by another thread, a registration made while a `select` was blocked, still
    /// sends its cancellation there.)
    fn drop(&mut self) {
        let inner = &mut *lock(&self.inner);
        let mut removals = 0usize;
        let mut queue = |selector: &UringSelector, inner: &mut Inner, ud: u64| {
            if selector.push(inner, &poll_remove(ud)).is_ok() {
                removals += 1;
            }
        };
        if inner.notify_armed {
            queue(self, inner, NOTIFY_UD);
        }
        for fd in 0..inner.slots.len() {
            let slot = inner.slots[fd];
            if slot.reg.is_some_and(|r| r.in_flight) {
                queue(self, inner, user_data(fd as RawFd, slot.generation));
            }
        }
        if removals == 0 {
            return;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        let mut done = 0usize;
        let mut first = true;
        while done < removals {
            {
                // SAFETY: we hold `inner`, so no other CompletionQueue of this ring exists.
                let cq = unsafe { self.ring.completion_shared() };
                done += cq.filter(|cqe| cqe.user_data() == REMOVE_UD).count();
            }
            if done >= removals && !first {
                break;
            }
            first = false;
            let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) else {
                break;
            };
            let ts = types::Timespec::new()
                .sec(left.as_secs())
                .nsec(left.subsec_nanos());
            let args = types::SubmitArgs::new().timespec(&ts);
            match self.ring.submitter().submit_with_args(1, &args) {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ETIME) | Some(libc::EINTR) | Some(libc::EBUSY)
                    ) => {}
                Err(_) => break,
            }
        }
    }
}

impl UringSelector {
    /// Queues one request. The caller holds the `inner` lock, which guards the queue.
    fn push(&self, inner: &mut Inner, entry: &squeue::Entry) -> io::Result<()> {
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
            self.submit(inner)?;
        }
        Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "the io_uring submission queue stays full",
        ))
    }

    /// Submits what is queued, without waiting.
    fn submit(&self, _inner: &mut Inner) -> io::Result<()> {
        self.ring.submit()?;
        Ok(())
    }

    /// Whether requests are queued that the kernel has not taken yet. The caller holds the
    /// `inner` lock. Read from the queue, not tracked in a flag: a `select` releases the lock
    /// between queueing its re-arms and the `io_uring_enter` that submits them, and a removal
    /// made in between must not go into the same submission as the poll it removes.
    fn queued(&self, _inner: &Inner) -> bool {
        // SAFETY: the caller holds `inner`, so no other SubmissionQueue of this ring exists
        // while this one does.
        !unsafe { self.ring.submission_shared() }.is_empty()
    }

    /// Queues the removal of `fd`'s in-flight poll, after making sure the poll itself is in the
    /// kernel (a removal in the same submission could miss it; see the module docs).
    fn remove_in_flight(&self, inner: &mut Inner, fd: RawFd) -> io::Result<()> {
        if self.queued(inner) {
            self.submit(inner)?;
        }
        let ud = user_data(fd, inner.slots[fd as usize].generation);
        self.push(inner, &poll_remove(ud))
    }

    /// Pushes the pending re-arms, waits once, and reads the completions. Returns whether the
    /// wait's timeout elapsed.
    fn select_once(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        waker: &WakeState,
    ) -> io::Result<bool> {
        events.clear();
        let mut timeout = timeout;
        let owed;
        {
            let inner = &mut *lock(&self.inner);
            inner.seq += 1;
            // An owed wake goes first, a new one after the completions: under a full buffer
            // the waker and the sources take turns.
            owed = std::mem::take(&mut inner.wake_owed);
            if owed {
                if let Some(token) = waker.token() {
                    events.push(token, ready::READABLE);
                }
                timeout = Some(Duration::ZERO);
            }
            for i in 0..inner.rearm.len() {
                let fd = inner.rearm[i];
                let slot = &mut inner.slots[fd as usize];
                let Some(reg) = slot.reg.as_mut() else {
                    continue;
                };
                // (`complete` queues a oneshot source only when its poll was cancelled
                // before it fired.)
                if reg.in_flight {
                    continue;
                }
                reg.in_flight = true;
                let entry = poll_add(
                    fd,
                    reg.interest,
                    reg.is_edge(),
                    user_data(fd, slot.generation),
                );
                self.push(inner, &entry)?;
            }
            inner.rearm.clear();
            if !inner.notify_armed {
                let arm = poll_add(self.wake.as_raw_fd(), EventSet::readable(), true, NOTIFY_UD);
                self.push(inner, &arm)?;
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
        // Cleared after the wait (see `super::waker`); reported after the completions.
        let woken = waker.take_pending();
        let timed_out = match res {
            Ok(_) => false,
            Err(e) if e.raw_os_error() == Some(libc::ETIME) => true,
            // Completions are backlogged: read them.
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => false,
            Err(e) => return Err(e),
        };
        // SAFETY: we hold `inner`, so no other CompletionQueue of this ring exists.
        let mut cq = unsafe { self.ring.completion_shared() };
        while !events.is_full() {
            let Some(cqe) = cq.next() else { break };
            complete(inner, &cqe, events);
        }
        // At most one event per source: a wake that coalesces with an owed one reported this
        // select is that event.
        if woken && !owed {
            if events.is_full() {
                inner.wake_owed = true;
            } else if let Some(token) = waker.token() {
                events.push(token, ready::READABLE);
            }
        }
        Ok(timed_out)
    }
}

fn slot_mut(inner: &mut Inner, fd: RawFd) -> &mut Slot {
    let idx = fd as usize;
    if inner.slots.len() <= idx {
        inner.slots.resize(idx + 1, Slot::default());
    }
    &mut inner.slots[idx]
}

/// Handles one completion: reports it (merged per fd) and schedules re-arms.
fn complete(inner: &mut Inner, cqe: &cqueue::Entry, events: &mut Events) {
    let ud = cqe.user_data();
    let res = cqe.result();
    let more = cqueue::more(cqe.flags());
    if ud == REMOVE_UD {
        return;
    }
    if ud == NOTIFY_UD {
        // Only ends the wait; the wake itself is reported from the waker's flag.
        if !more {
            inner.notify_armed = false;
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
        // Not one of our removals (they change the generation first): the kernel cancels a
        // thread's requests when it exits, so a poll submitted by a thread that has since
        // exited (a `register` made while a `select` was blocked, or a `deregister` that
        // submitted what was queued) ends here. The registration lives on: the next `select`
        // re-arms it from the polling thread (oneshot too: it had not fired).
        if !more {
            reg.in_flight = false;
            inner.rearm.push(fd);
        }
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
        ready::ERROR
    } else {
        let asked =
            interest_to_poll_with(reg.interest, libc::POLLRDHUP) | libc::POLLERR | libc::POLLHUP;
        poll_to_ready_with(res as libc::c_short & asked, libc::POLLRDHUP)
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
