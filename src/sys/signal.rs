//! Signal delivery for `ferrio::signal::Signals` and the SIGCHLD fallback of `ferrio::process`.
//!
//! # Why a handler and a self-pipe, not signalfd
//!
//! A signalfd receives a signal only while that signal is blocked in *every* thread of the
//! process; otherwise the kernel delivers it to a thread that has it unblocked, with its normal
//! disposition (for SIGTERM: the process dies). A library cannot guarantee that mask: threads
//! started before the source was created, by the application or by other libraries, and
//! `posix_spawn`ed or `fork`ed children (which inherit the mask and then run with signals
//! blocked) all defeat it. A handler installed with `sigaction` sees the signal whichever
//! thread it lands on, leaves every mask alone, and can chain to the handler it replaced.
//! So ferrio installs one process-wide handler per watched signal and lets it write one byte
//! into a pipe per source (the "self-pipe"); the selector polls the pipe's read end.
//!
//! On the kqueue systems (macOS, iOS, the BSDs) the handler is still installed (it keeps the
//! default action away and chains to the previous handler) but the sources are notified by
//! the kernel itself: each source owns a kqueue with one `EVFILT_SIGNAL` filter per signal
//! (see `sys::kevent`), which records deliveries whatever the disposition.
//!
//! # The shared state, and what the handler may touch
//!
//! * [`REGISTRY`] (a mutex, normal context only): per signal, how many receivers watch it,
//!   whether ferrio's handler is in the signal's chain, and the disposition it replaced.
//! * [`CHAIN`] (atomics): per signal, the handler to chain to and its flags, written under the
//!   mutex before ferrio's handler is installed and read by the handler.
//! * [`SLOTS`] (atomics, self-pipe systems): an append-only singly linked list of subscriber
//!   slots. A slot is allocated once (`Box::leak`) and reused after its receiver is dropped,
//!   so the handler never follows a dangling pointer; its fields (signal mask, pipe write end,
//!   owning pid, pending bits, in-use count) are atomics.
//!
//! The handler only loads and updates atomics and calls `getpid` and `write`, all
//! async-signal-safe: no allocation, no lock, no `std` machinery, `errno` saved and restored.
//! It calls `write` directly, not through `syscall!`, whose fault table (tests only) lives in a
//! thread-local `RefCell` that a handler must not touch.
//!
//! # Coalescing without loss
//!
//! A slot has one pending bit per signal. The handler sets the bit and writes a byte only if
//! no bit was set before; the reader first drains the pipe, then takes (swaps to zero) the
//! bits. A signal whose bit the reader took has been reported; one whose bit is set after the
//! swap found the bits empty and wrote a new byte, after the drain, so the pipe is readable
//! again. The pipe holds at most a couple of bytes and never fills.
//!
//! # Freeing a slot while a handler runs
//!
//! A receiver's drop clears the slot's mask and fd (SeqCst), then waits until the slot's
//! in-use count is zero before the pipe is closed. The handler increments the count (SeqCst)
//! before loading the fd, so it either sees `-1` or is waited for: it never writes to a closed
//! (and maybe reused) fd number.

use std::io;
use std::mem;
use std::ptr;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The number of bits of a signal set: signal `n` is bit `n - 1` of a `u64`.
pub(crate) const SET_BITS: i32 = 64;

/// The highest signal number a source can watch here.
///
/// Linux: `SIGRTMAX` (64 with glibc and musl). Elsewhere: 31, the classic signals (macOS has
/// no others; the BSDs' real-time signals are not supported).
pub(crate) fn max_signal() -> i32 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        libc::SIGRTMAX().min(SET_BITS)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        31
    }
}

/// The lowest real-time signal the C library leaves to applications (Linux: glibc keeps 32
/// and 33 for its threads, so `SIGRTMIN()` is 34; musl keeps 32 to 34).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn first_free_realtime_signal() -> i32 {
    libc::SIGRTMIN()
}

/// The signals no source may watch, with the reason given in the error.
///
/// * SIGKILL, SIGSTOP: the OS does not let them be caught.
/// * SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS: raised synchronously by the faulting
///   instruction (or a debugger's breakpoint, or seccomp); a handler that returns re-runs the
///   instruction, and an event loop cannot repair anything.
/// * SIGABRT: `abort()` resets it to the default action and raises it again after the
///   handlers ran, so watching it would not keep the process alive; swallowing a SIGABRT
///   sent by `kill` would hide a request for a core dump.
pub(crate) fn reserved_reason(signo: i32) -> Option<&'static str> {
    match signo {
        libc::SIGKILL | libc::SIGSTOP => Some("it cannot be caught"),
        libc::SIGSEGV
        | libc::SIGBUS
        | libc::SIGILL
        | libc::SIGFPE
        | libc::SIGTRAP
        | libc::SIGSYS => Some("it reports a fault of the thread that raised it"),
        libc::SIGABRT => Some("abort() terminates the process whatever the handler does"),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        s if (32..first_free_realtime_signal()).contains(&s) => {
            Some("the C library reserves it for its threads implementation")
        }
        _ => None,
    }
}

/// The bit of `signo` in a signal set, or `InvalidInput` for a signal no source may watch.
pub(crate) fn signal_bit(signo: i32) -> io::Result<u64> {
    let max = max_signal();
    if !(1..=max).contains(&signo) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal number {signo} is out of range (1..={max} here)"),
        ));
    }
    if let Some(reason) = reserved_reason(signo) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {signo} cannot be watched: {reason}"),
        ));
    }
    Ok(1 << (signo - 1))
}

/// The signal numbers of `set`, ascending.
fn signals_of(set: u64) -> impl Iterator<Item = i32> {
    (1..=SET_BITS).filter(move |s| set & (1 << (s - 1)) != 0)
}

// --- the disposition registry ---------------------------------------------------------------

/// Signal numbers index the tables directly (index 0 is unused).
const TABLE_LEN: usize = SET_BITS as usize + 1;

/// What ferrio knows of one signal's disposition. Guarded by [`REGISTRY`].
struct Disposition {
    /// Receivers watching the signal.
    watchers: usize,
    /// Whether ferrio's handler is in the signal's handler chain: installed by ferrio and not
    /// removed since. Stays set when another handler replaced ferrio's (see [`unhook`]).
    installed: bool,
    /// The disposition ferrio's handler replaced, restored when the last watcher goes.
    previous: Option<libc::sigaction>,
}

struct Table {
    signals: [Disposition; TABLE_LEN],
}

// SAFETY: `libc::sigaction` is plain data (a handler address, a mask, flags and, on some
// systems, a restorer function pointer); nothing in it is tied to a thread.
unsafe impl Send for Table {}

/// The process-wide disposition registry (and the lock that serialises slot changes).
static REGISTRY: Mutex<Table> = Mutex::new(Table {
    signals: [const {
        Disposition {
            watchers: 0,
            installed: false,
            previous: None,
        }
    }; TABLE_LEN],
});

fn registry() -> MutexGuard<'static, Table> {
    // Every critical section leaves the table consistent before anything that can panic.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// The handler ferrio's handler chains to, for one signal.
struct Chain {
    /// `sa_sigaction` of the replaced disposition (`SIG_DFL`, `SIG_IGN` or a function).
    handler: AtomicUsize,
    /// `sa_flags` of the replaced disposition (whether it takes `siginfo_t`).
    flags: AtomicI32,
}

static CHAIN: [Chain; TABLE_LEN] = [const {
    Chain {
        handler: AtomicUsize::new(libc::SIG_DFL),
        flags: AtomicI32::new(0),
    }
}; TABLE_LEN];

fn publish_chain(signo: i32, action: &libc::sigaction) {
    let chain = &CHAIN[signo as usize];
    chain.flags.store(action.sa_flags, Ordering::Release);
    chain.handler.store(action.sa_sigaction, Ordering::Release);
}

/// `sigaction(signo, new, old)`.
fn sigaction(
    signo: i32,
    new: Option<&libc::sigaction>,
    old: Option<&mut libc::sigaction>,
) -> io::Result<()> {
    let new = new.map_or(ptr::null(), |n| n as *const libc::sigaction);
    let old = old.map_or(ptr::null_mut(), |o| o as *mut libc::sigaction);
    // SAFETY: both pointers are null or point at live sigaction structs.
    unsafe { syscall!(sigaction(signo, new, old)) }.map(drop)
}

fn empty_action() -> libc::sigaction {
    // SAFETY: an all-zero sigaction is a valid value (SIG_DFL, empty mask, no flags).
    unsafe { mem::zeroed() }
}

fn our_handler() -> usize {
    on_signal as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) as usize
}

/// Installs ferrio's handler for `signo`, remembering the disposition it replaces.
fn install(disposition: &mut Disposition, signo: i32) -> io::Result<()> {
    let mut current = empty_action();
    sigaction(signo, None, Some(&mut current))?;
    if current.sa_sigaction == our_handler() {
        // Already ours (a foreign handler put ferrio's back): nothing to chain anew.
        disposition.installed = true;
        return Ok(());
    }
    // Chain first: a signal arriving just after the install must reach the old handler.
    publish_chain(signo, &current);
    let mut ours = empty_action();
    ours.sa_sigaction = our_handler();
    // The previous handler runs with the signals it asked to have blocked.
    ours.sa_mask = current.sa_mask;
    ours.sa_flags = libc::SA_SIGINFO
        | libc::SA_RESTART
        | libc::SA_ONSTACK
        | (current.sa_flags & libc::SA_NOCLDSTOP);
    let mut replaced = empty_action();
    sigaction(signo, Some(&ours), Some(&mut replaced))?;
    if replaced.sa_sigaction != current.sa_sigaction || replaced.sa_flags != current.sa_flags {
        // Another thread changed the disposition between the two calls: chain to what was
        // really replaced.
        publish_chain(signo, &replaced);
    }
    disposition.previous = Some(replaced);
    disposition.installed = true;
    Ok(())
}

/// Whether ferrio's handler, which was displaced earlier, may still run for `signo`: the
/// installed disposition is a handler function (ours, or one that may chain to ours). When it
/// is `SIG_DFL` or `SIG_IGN` nobody chains to ferrio's handler any more, and it is installed
/// anew.
fn reachable(signo: i32) -> bool {
    let mut current = empty_action();
    if sigaction(signo, None, Some(&mut current)).is_err() {
        return true;
    }
    current.sa_sigaction != libc::SIG_DFL && current.sa_sigaction != libc::SIG_IGN
}

/// Adds a watcher to each signal of `set`, installing ferrio's handler for the first. On an
/// error nothing changed.
fn hook(table: &mut Table, set: u64) -> io::Result<()> {
    let mut done = 0u64;
    for signo in signals_of(set) {
        let disposition = &mut table.signals[signo as usize];
        if disposition.watchers == 0 && (!disposition.installed || !reachable(signo)) {
            if let Err(e) = install(disposition, signo) {
                unhook(table, done);
                return Err(e);
            }
        }
        table.signals[signo as usize].watchers += 1;
        done |= 1 << (signo - 1);
    }
    Ok(())
}

/// Removes a watcher from each signal of `set`; the last one restores the previous
/// disposition, unless another handler has replaced ferrio's meanwhile: then that handler
/// stays (restoring ours' predecessor would remove it), and ferrio's stays in its chain.
fn unhook(table: &mut Table, set: u64) {
    for signo in signals_of(set) {
        let disposition = &mut table.signals[signo as usize];
        disposition.watchers -= 1;
        if disposition.watchers > 0 || !disposition.installed {
            continue;
        }
        let mut current = empty_action();
        if sigaction(signo, None, Some(&mut current)).is_err() {
            continue;
        }
        if current.sa_sigaction != our_handler() {
            // Displaced: whoever replaced us may chain to us, so CHAIN stays valid.
            continue;
        }
        let previous = disposition.previous.unwrap_or_else(empty_action);
        if sigaction(signo, Some(&previous), None).is_ok() {
            disposition.installed = false;
            disposition.previous = None;
            // CHAIN keeps its value: a handler still running on another thread chains to
            // the restored handler, as it should.
        }
    }
}

/// Whether ferrio's handler for `signo` is the installed disposition (false if none was
/// installed or another handler replaced it).
pub(crate) fn handler_is_installed(signo: i32) -> io::Result<bool> {
    let mut current = empty_action();
    sigaction(signo, None, Some(&mut current))?;
    Ok(current.sa_sigaction == our_handler())
}

// --- the handler ----------------------------------------------------------------------------

#[cfg(any(target_os = "linux", target_os = "android", target_os = "dragonfly"))]
fn errno_location() -> *mut libc::c_int {
    // SAFETY: always valid for the calling thread.
    unsafe { libc::__errno_location() }
}

#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
fn errno_location() -> *mut libc::c_int {
    // SAFETY: always valid for the calling thread.
    unsafe { libc::__error() }
}

#[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
fn errno_location() -> *mut libc::c_int {
    // SAFETY: always valid for the calling thread.
    unsafe { libc::__errno() }
}

/// ferrio's signal handler: notifies the receivers, then chains to the replaced handler.
extern "C" fn on_signal(
    signo: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    let errno = errno_location();
    // SAFETY: errno_location() points at this thread's errno.
    let saved = unsafe { *errno };
    if (1..=SET_BITS).contains(&signo) {
        notify_slots(signo);
        chain(signo, info, context);
    }
    // SAFETY: as above; the interrupted code must see its own errno.
    unsafe { *errno = saved };
}

fn chain(signo: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let entry = &CHAIN[signo as usize];
    let handler = entry.handler.load(Ordering::Acquire);
    let flags = entry.flags.load(Ordering::Acquire);
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN || handler == our_handler() {
        // The default action is what the source replaces: a watched SIGTERM must not kill.
        return;
    }
    if flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous disposition was installed with SA_SIGINFO, so its address is
        // a three-argument handler; we pass it what the kernel passed us.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { mem::transmute(handler) };
        f(signo, info, context);
    } else {
        // SAFETY: without SA_SIGINFO the address is a one-argument `sa_handler`.
        let f: extern "C" fn(libc::c_int) = unsafe { mem::transmute(handler) };
        f(signo);
    }
}

// --- self-pipe receivers (systems without kqueue) -------------------------------------------

#[cfg(not(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
)))]
pub(crate) use self_pipe::Receiver;

#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
))]
pub(crate) use super::kevent::SignalReceiver as Receiver;

#[cfg(not(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
)))]
use self_pipe::notify_slots;

/// kqueue systems: the kernel notifies the sources (`EVFILT_SIGNAL`); the handler only chains.
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
))]
fn notify_slots(_signo: libc::c_int) {}

/// Adds watchers for `set`, installing ferrio's handler where needed (a kqueue receiver,
/// after its `EVFILT_SIGNAL` filters are in place). On an error nothing changed.
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
))]
pub(crate) fn add_hooks(set: u64) -> io::Result<()> {
    hook(&mut registry(), set)
}

/// Removes the watchers of `set` (a kqueue receiver's drop).
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
))]
pub(crate) fn release_hooks(set: u64) {
    unhook(&mut registry(), set);
}

#[cfg(not(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
)))]
mod self_pipe {
    use super::*;
    use std::os::fd::{AsRawFd, OwnedFd, RawFd};
    use std::sync::atomic::{AtomicPtr, AtomicU64};

    /// One receiver's place in the handler's list.
    struct Slot {
        /// The next slot; set once, before the slot is published.
        next: AtomicPtr<Slot>,
        /// The receiver's signals; 0 while the slot is free.
        mask: AtomicU64,
        /// The write end of the receiver's pipe; -1 while the slot is free.
        fd: AtomicI32,
        /// The process that created the receiver: after `fork`, the child's handler skips
        /// the slots it inherited (their pipes are shared with the parent).
        pid: AtomicI32,
        /// Signals delivered and not yet taken.
        pending: AtomicU64,
        /// Handlers currently between loading `fd` and writing to it.
        busy: AtomicUsize,
    }

    /// The head of the slot list. Slots are never freed (a free one is reused), so a handler
    /// may walk the list at any time.
    static SLOTS: AtomicPtr<Slot> = AtomicPtr::new(ptr::null_mut());

    fn slots() -> impl Iterator<Item = &'static Slot> {
        let mut next = SLOTS.load(Ordering::Acquire);
        std::iter::from_fn(move || {
            // SAFETY: every pointer in the list comes from Box::leak and is never freed.
            let slot = unsafe { next.as_ref() }?;
            next = slot.next.load(Ordering::Acquire);
            Some(slot)
        })
    }

    /// Called by the handler: marks `signo` pending in every receiver that watches it and
    /// wakes those that had nothing pending. Async-signal-safe.
    pub(super) fn notify_slots(signo: libc::c_int) {
        let bit = 1u64 << (signo - 1);
        let mut pid = 0;
        for slot in slots() {
            if slot.mask.load(Ordering::Acquire) & bit == 0 {
                continue;
            }
            if pid == 0 {
                // SAFETY: getpid is async-signal-safe and cannot fail.
                pid = unsafe { libc::getpid() };
            }
            if slot.pid.load(Ordering::Acquire) != pid {
                continue;
            }
            slot.busy.fetch_add(1, Ordering::SeqCst);
            let fd = slot.fd.load(Ordering::SeqCst);
            if fd >= 0 && slot.mask.load(Ordering::SeqCst) & bit != 0 {
                wake(slot, fd, bit);
            }
            slot.busy.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Sets `bit` pending; the first pending bit writes the wake-up byte.
    fn wake(slot: &Slot, fd: RawFd, bit: u64) {
        if slot.pending.fetch_or(bit, Ordering::AcqRel) == 0 {
            let byte = 1u8;
            // SAFETY: writes one byte from a live u8 to the slot's pipe, which stays open
            // while `busy` is non-zero (see the module docs). The result is ignored: the only
            // possible failure is EAGAIN, and then the pipe is readable anyway.
            unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
        }
    }

    /// Claims a free slot (or leaks a new one) for a receiver of `set` writing to `fd`.
    /// Called with the registry locked.
    fn claim(set: u64, fd: RawFd) -> &'static Slot {
        // SAFETY: getpid cannot fail.
        let pid = unsafe { libc::getpid() };
        let slot = match slots().find(|s| s.fd.load(Ordering::Relaxed) == -1) {
            Some(slot) => slot,
            None => {
                let slot: &'static Slot = Box::leak(Box::new(Slot {
                    next: AtomicPtr::new(SLOTS.load(Ordering::Relaxed)),
                    mask: AtomicU64::new(0),
                    fd: AtomicI32::new(-1),
                    pid: AtomicI32::new(0),
                    pending: AtomicU64::new(0),
                    busy: AtomicUsize::new(0),
                }));
                SLOTS.store(slot as *const Slot as *mut Slot, Ordering::Release);
                slot
            }
        };
        slot.pending.store(0, Ordering::Relaxed);
        slot.pid.store(pid, Ordering::Relaxed);
        slot.fd.store(fd, Ordering::SeqCst);
        slot.mask.store(set, Ordering::SeqCst);
        slot
    }

    /// Frees `slot`: once this returns no handler uses its fd. Called with the registry
    /// locked (so no `claim` runs meanwhile).
    fn release(slot: &Slot) {
        slot.mask.store(0, Ordering::SeqCst);
        slot.fd.store(-1, Ordering::SeqCst);
        while slot.busy.load(Ordering::SeqCst) != 0 {
            // A handler on another thread is writing: it is a few instructions from done.
            std::thread::yield_now();
        }
        slot.pending.store(0, Ordering::Relaxed);
    }

    /// A set of watched signals and the pipe their handler writes to. The read end, which
    /// the selector polls, is given to the caller by [`Receiver::new`].
    #[derive(Debug)]
    pub(crate) struct Receiver {
        slot: SlotRef,
        set: u64,
        /// The pipe's write end, closed (by drop order) after the slot was released.
        write: OwnedFd,
    }

    struct SlotRef(&'static Slot);

    impl std::fmt::Debug for SlotRef {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Slot")
                .field("pending", &self.0.pending.load(Ordering::Relaxed))
                .finish()
        }
    }

    impl Receiver {
        /// Starts watching `set` (valid signal bits, not empty): returns the pipe's read end
        /// (non-blocking, close-on-exec) and the receiver.
        ///
        /// # Errors
        ///
        /// The OS error of `pipe2` or `sigaction`; nothing is left behind.
        pub(crate) fn new(set: u64) -> io::Result<(OwnedFd, Receiver)> {
            let (read, write) = super::super::fd::pipe()?;
            let mut table = registry();
            // Published before the handler is installed: a signal right after the install
            // is seen.
            let slot = claim(set, write.as_raw_fd());
            if let Err(e) = hook(&mut table, set) {
                release(slot);
                return Err(e);
            }
            drop(table);
            Ok((
                read,
                Receiver {
                    slot: SlotRef(slot),
                    set,
                    write,
                },
            ))
        }

        /// Takes the pending signals: drains the pipe `read` (the read end from `new`), then
        /// swaps the pending bits to zero. Never blocks.
        pub(crate) fn take(&self, read: RawFd) -> io::Result<u64> {
            let mut buf = [0u8; 64];
            loop {
                match super::super::fd::read(read, &mut buf) {
                    Ok(n) if n == buf.len() => continue,
                    Ok(_) => break,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            // A slot reused after a receiver of other signals may carry a stray bit of a
            // handler that raced the reuse: report only what this receiver watches.
            Ok(self.slot.0.pending.swap(0, Ordering::AcqRel) & self.set)
        }

        /// Marks `signo` (one of the receiver's) pending and makes the pipe readable, as a
        /// delivery would, without raising the signal in the process.
        pub(crate) fn raise_local(&self, signo: i32) {
            let bit = 1u64 << (signo - 1);
            wake(self.slot.0, self.write.as_raw_fd(), bit & self.set);
        }
    }

    impl Drop for Receiver {
        fn drop(&mut self) {
            let mut table = registry();
            release(self.slot.0);
            unhook(&mut table, self.set);
            // `write` closes after this, when no handler can use it any more.
        }
    }
}
