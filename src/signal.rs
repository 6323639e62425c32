//! Unix signals as an event source: [`Signals`], [`SignalSet`].
//!
//! A [`Signals`] watches a set of signals. Register it like any other source (readable
//! interest; edge, level or oneshot); it reports readable when one of its signals arrived,
//! and [`Signals::pending`] takes the signals that arrived since the last call, coalesced per
//! signal as the OS itself coalesces them (three SIGHUPs before a read are one SIGHUP).
//!
//! ```
//! use ferrio::signal::Signals;
//! use ferrio::{Events, EventSet, Poll, PollOpt, Token};
//! use std::time::Duration;
//!
//! let mut poll = Poll::new()?;
//! let signals = Signals::new([libc::SIGUSR1, libc::SIGHUP])?;
//! poll.register(&signals, Token(0), EventSet::readable(), PollOpt::edge())?;
//!
//! // SAFETY (of the example): kill with our own pid and a signal that is watched.
//! unsafe { libc::kill(libc::getpid(), libc::SIGUSR1) };
//!
//! let mut events = Events::with_capacity(8);
//! let mut seen = Vec::new();
//! while seen.is_empty() {
//!     poll.poll(&mut events, Some(Duration::from_secs(5)))?;
//!     for event in &events {
//!         assert_eq!(event.token(), Token(0));
//!         seen.extend(signals.pending()?); // no allocation: a SignalSet is a u64
//!     }
//! }
//! assert_eq!(seen, [libc::SIGUSR1]);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Guarantees
//!
//! * Every source that watches a signal when it arrives sees it: several sources for the same
//!   signal, in one `Poll` or in several (on other threads, with other backends), all report
//!   it. A signal that arrived before a source existed is not reported to it.
//! * None is lost between "arrived" and "read": a signal that arrives while `pending` runs is
//!   either in its result or makes the source readable again.
//! * The source may report readable when nothing is pending (after a signal that `pending`
//!   already took): then `pending` returns an empty set. Spurious events are part of the
//!   `Poll` contract.
//! * While a source watches a signal, the signal does not take its default action (a watched
//!   SIGTERM or SIGINT does not end the process). Dropping the last source of a signal
//!   restores the disposition it replaced.
//!
//! # Which signals
//!
//! Any signal from 1 to the highest the platform offers (Linux: `SIGRTMAX`, so the real-time
//! signals `SIGRTMIN..=SIGRTMAX` too; elsewhere 1 to 31) except those a handler cannot or must
//! not take, which are an `InvalidInput` error:
//!
//! * `SIGKILL`, `SIGSTOP`: cannot be caught.
//! * `SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`, `SIGTRAP`, `SIGSYS`: raised synchronously by a
//!   faulting instruction, a breakpoint or seccomp; the handler returns into the same fault,
//!   and an event loop could not repair it anyway.
//! * `SIGABRT`: `abort()` terminates the process after the handlers ran whatever they do, and
//!   swallowing a `SIGABRT` sent by `kill` would hide a request for a core dump.
//! * Linux: the real-time signals below `SIGRTMIN` (32 and 33 with glibc), which the C
//!   library keeps for its threads.
//!
//! # Platforms and mechanisms
//!
//! * **Linux** (and other Unix systems without kqueue): a `sigaction` handler
//!   (`SA_SIGINFO | SA_RESTART | SA_ONSTACK`) installed once per signal for the whole process,
//!   and a pipe per source: the handler sets the source's pending bit for the signal and, if
//!   nothing was pending, writes one byte; the selector polls the read end. Not `signalfd`:
//!   a signalfd sees a signal only if it is blocked in *every* thread, which a library cannot
//!   ensure (threads created by the application or other libraries keep it unblocked, and
//!   then the signal takes its default action), and blocked signals would be inherited by
//!   every child process spawned.
//! * **macOS, iOS, FreeBSD, NetBSD, OpenBSD, DragonFly**: each source owns a kqueue with one
//!   `EVFILT_SIGNAL` filter per signal, registered with the `Poll`'s selector (a kqueue fd is
//!   readable while it holds events). ferrio's `sigaction` handler is still installed, so the
//!   signal does not take its default action; it only chains to the previous handler. Since
//!   the kernel itself records the delivery, a foreign handler that replaced ferrio's does not
//!   stop the sources there. Signals above 31 are not supported.
//! * **Windows**: no signals; this module is Unix-only.
//!
//! # Handlers installed by others
//!
//! * **Before**: ferrio remembers the disposition it replaced and its handler calls that
//!   handler after notifying the sources (with the `siginfo_t` and context it got, if the old
//!   handler asked for them), with the old handler's signal mask. A previous `SIG_IGN` or
//!   `SIG_DFL` is not "called": the signal is just reported. The last source's drop puts the
//!   old disposition back.
//! * **After**: a handler installed over ferrio's (by `sigaction`/`signal` elsewhere) decides
//!   alone. If it chains to the handler it replaced, as well-behaved libraries do, the sources
//!   keep working (on Linux); if it does not, the Linux sources stop seeing the signal
//!   (kqueue systems keep seeing it). When the last source drops, ferrio finds that its handler
//!   is no longer installed (it looks with `sigaction` first) and leaves the newer handler in
//!   place instead of restoring an older one over it; ferrio's handler then stays in that
//!   chain, notifying nobody and chaining on. If the disposition is later set back to
//!   `SIG_DFL` or `SIG_IGN` (so nobody can be chaining to ferrio any more), the next source for
//!   the signal installs ferrio's handler anew; while another function is installed, ferrio
//!   never installs itself a second time (that could make two handlers call each other
//!   forever). [`Signals::is_handler_installed`] tells whether ferrio's handler is the one
//!   installed right now.
//!
//! # Interrupted system calls
//!
//! The handler is installed with `SA_RESTART`, so most blocking calls of other threads resume
//! after it runs. Waits for events are never resumed by the OS: a signal that lands on the
//! thread blocked in [`Poll::poll`](crate::Poll::poll) ends the wait with
//! `ErrorKind::Interrupted` (the `EventLoop` calls `Handler::interrupted` and goes on), and
//! the source is readable in the next poll. Signals landing on other threads do not interrupt
//! the poll; the pipe or kqueue wakes it.
//!
//! # Cost
//!
//! Per source: one pipe (two fds) or one kqueue. Per signal delivered: the handler walks the
//! process's sources (one atomic load each) and writes one byte per source that had nothing
//! pending. Per [`pending`](Signals::pending): one `read` that drains the pipe (two if more
//! than 64 bytes were written) and one atomic swap; no allocation.
//!
//! # fork
//!
//! A child created with `fork` inherits the sources' memory and fds, but its handler ignores
//! the sources it inherited (their pipes are shared with the parent): create new sources in
//! the child. After `exec` the dispositions are reset by the OS.

use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use crate::io_source::IoSource;
use crate::sys;

/// A set of signal numbers (`1..=64`), stored as a bitmask: `Copy`, and iterating it
/// allocates nothing.
///
/// # Examples
///
/// ```
/// use ferrio::signal::SignalSet;
///
/// let set: SignalSet = [libc::SIGTERM, libc::SIGINT].into_iter().collect();
/// assert!(set.contains(libc::SIGINT));
/// assert_eq!(set.len(), 2);
/// // Ascending signal numbers.
/// assert_eq!(set.iter().collect::<Vec<_>>(), [libc::SIGINT, libc::SIGTERM]);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SignalSet(u64);

impl SignalSet {
    /// The empty set.
    pub const fn empty() -> SignalSet {
        SignalSet(0)
    }

    fn bit(signo: i32) -> u64 {
        if (1..=sys::signal::SET_BITS).contains(&signo) {
            1 << (signo - 1)
        } else {
            0
        }
    }

    /// Whether `signo` is in the set (false for numbers outside `1..=64`).
    pub fn contains(&self, signo: i32) -> bool {
        self.0 & Self::bit(signo) != 0
    }

    /// Adds `signo`; numbers outside `1..=64` are ignored (use [`Signals::new`] to have them
    /// reported as errors).
    pub fn insert(&mut self, signo: i32) {
        self.0 |= Self::bit(signo);
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// How many signals are in the set.
    pub fn len(&self) -> usize {
        self.0.count_ones() as usize
    }

    /// The signal numbers, ascending.
    pub fn iter(&self) -> SignalSetIter {
        SignalSetIter(self.0)
    }
}

impl FromIterator<i32> for SignalSet {
    fn from_iter<I: IntoIterator<Item = i32>>(iter: I) -> SignalSet {
        let mut set = SignalSet::empty();
        for signo in iter {
            set.insert(signo);
        }
        set
    }
}

impl IntoIterator for SignalSet {
    type Item = i32;
    type IntoIter = SignalSetIter;

    fn into_iter(self) -> SignalSetIter {
        self.iter()
    }
}

impl IntoIterator for &SignalSet {
    type Item = i32;
    type IntoIter = SignalSetIter;

    fn into_iter(self) -> SignalSetIter {
        self.iter()
    }
}

impl fmt::Debug for SignalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut set = f.debug_set();
        for signo in self.iter() {
            match name(signo) {
                Some(name) => set.entry(&format_args!("{name}")),
                None => set.entry(&signo),
            };
        }
        set.finish()
    }
}

/// The signal numbers of a [`SignalSet`], ascending.
#[derive(Debug, Clone)]
pub struct SignalSetIter(u64);

impl Iterator for SignalSetIter {
    type Item = i32;

    fn next(&mut self) -> Option<i32> {
        if self.0 == 0 {
            return None;
        }
        let index = self.0.trailing_zeros();
        self.0 &= self.0 - 1;
        Some(index as i32 + 1)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.0.count_ones() as usize;
        (n, Some(n))
    }
}

impl ExactSizeIterator for SignalSetIter {}

/// The conventional name of a signal (`"SIGINT"`), if it has one here.
///
/// # Examples
///
/// ```
/// assert_eq!(ferrio::signal::name(libc::SIGTERM), Some("SIGTERM"));
/// assert_eq!(ferrio::signal::name(0), None);
/// ```
pub fn name(signo: i32) -> Option<&'static str> {
    Some(match signo {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGCHLD => "SIGCHLD",
        libc::SIGCONT => "SIGCONT",
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGTSTP => "SIGTSTP",
        libc::SIGTTIN => "SIGTTIN",
        libc::SIGTTOU => "SIGTTOU",
        libc::SIGURG => "SIGURG",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGVTALRM => "SIGVTALRM",
        libc::SIGPROF => "SIGPROF",
        libc::SIGWINCH => "SIGWINCH",
        libc::SIGIO => "SIGIO",
        libc::SIGSYS => "SIGSYS",
        _ => return None,
    })
}

/// A source that reports readable when one of a set of signals arrived.
///
/// See the [module docs](self) for the guarantees, the signals that can be watched, each
/// platform's mechanism, and how handlers installed by other code interact with it.
///
/// # Examples
///
/// A loop that stops on SIGTERM and reloads on SIGHUP:
///
/// ```no_run
/// use ferrio::signal::Signals;
/// use ferrio::{EventLoop, EventSet, Handler, PollOpt, Token};
///
/// const SIGNALS: Token = Token(0);
///
/// struct Server {
///     signals: Signals,
/// }
///
/// impl Handler for Server {
///     type Timeout = ();
///     type Message = ();
///
///     fn ready(&mut self, event_loop: &mut EventLoop<Server>, token: Token, _: EventSet) {
///         if token == SIGNALS {
///             for signo in self.signals.pending().unwrap() {
///                 match signo {
///                     libc::SIGHUP => println!("reloading"),
///                     _ => event_loop.shutdown(),
///                 }
///             }
///         }
///     }
/// }
///
/// let mut event_loop = EventLoop::new()?;
/// let signals = Signals::new([libc::SIGTERM, libc::SIGINT, libc::SIGHUP])?;
/// event_loop.register(&signals, SIGNALS, EventSet::readable(), PollOpt::edge())?;
/// event_loop.run(&mut Server { signals })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Signals {
    io: IoSource<File>,
    receiver: sys::signal::Receiver,
    set: SignalSet,
}

impl_evented_via_io_source!(Signals);

impl Signals {
    /// Starts watching `signals`: from now on every arrival of one of them is reported.
    ///
    /// # Errors
    ///
    /// * `InvalidInput` for an empty set, a number out of range, or a reserved signal (see
    ///   the [module docs](self#which-signals)).
    /// * The OS error of creating the pipe or kqueue (`EMFILE`, ...) or of `sigaction`.
    ///
    /// On an error nothing is left behind: no fd, and the dispositions are as before.
    pub fn new<I: IntoIterator<Item = i32>>(signals: I) -> io::Result<Signals> {
        let mut bits = 0u64;
        for signo in signals {
            bits |= sys::signal::signal_bit(signo)?;
        }
        if bits == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a Signals source needs at least one signal",
            ));
        }
        let (fd, receiver) = sys::signal::Receiver::new(bits)?;
        Ok(Signals {
            io: IoSource::new(File::from(fd)),
            receiver,
            set: SignalSet(bits),
        })
    }

    /// The signals this source watches.
    pub fn signals(&self) -> SignalSet {
        self.set
    }

    /// Takes the signals that arrived since the last call: each at most once, however often
    /// it arrived. Never blocks; an empty set means none. One call takes everything, so it
    /// is all an edge-triggered registration needs.
    ///
    /// # Errors
    ///
    /// The OS error of draining the pipe or kqueue (not expected in practice).
    pub fn pending(&self) -> io::Result<SignalSet> {
        self.io
            .do_read(|file| self.receiver.take(file.as_raw_fd()))
            .map(SignalSet)
    }

    /// Whether ferrio's handler is the installed disposition of `signo` right now: false if
    /// another handler replaced it (see the [module docs](self#handlers-installed-by-others))
    /// or no source watches `signo`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a number out of range; the OS error of `sigaction`.
    pub fn is_handler_installed(signo: i32) -> io::Result<bool> {
        if !(1..=sys::signal::max_signal()).contains(&signo) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("signal number {signo} is out of range"),
            ));
        }
        sys::signal::handler_is_installed(signo)
    }
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signals")
            .field("fd", &self.io.raw_fd())
            .field("signals", &self.set)
            .finish()
    }
}
