//! Child processes as an event source: [`ChildExit`].
//!
//! A [`ChildExit`] takes a child spawned with [`std::process::Command`] and reports readable
//! once the child has exited; [`ChildExit::try_wait`] then gives its exit status without
//! blocking, and reaps it.
//!
//! ```
//! use ferrio::process::ChildExit;
//! use ferrio::{Events, EventSet, Poll, PollOpt, Token};
//! use std::process::Command;
//! use std::time::Duration;
//!
//! let mut poll = Poll::new()?;
//! let mut child = ChildExit::new(Command::new("sh").args(["-c", "exit 3"]).spawn()?)?;
//! poll.register(&child, Token(0), EventSet::readable(), PollOpt::edge())?;
//!
//! let mut events = Events::with_capacity(8);
//! let status = loop {
//!     poll.poll(&mut events, Some(Duration::from_secs(5)))?;
//!     if let Some(status) = child.try_wait()? {
//!         break status;
//!     }
//! };
//! assert_eq!(status.code(), Some(3));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Guarantees
//!
//! * **No zombie**: `try_wait` reaps the child as soon as it reports its status. A
//!   `ChildExit` dropped before that leaves the child running (it is not killed, as with std),
//!   and ferrio reaps it once it has exited, without blocking, the next time any `ChildExit`
//!   of the process is created or asked for its status (so a supervisor that keeps spawning
//!   leaves no zombies behind; a program that spawns nothing after the drop keeps the zombie
//!   until it exits, as with a dropped `std::process::Child`). [`ChildExit::orphans`] counts
//!   those not yet reaped.
//! * **A child reaped elsewhere is an error, not a hang**: if other code reaps it
//!   (`waitpid(-1)`, SIGCHLD set to `SIG_IGN`), the source reports readable and `try_wait`
//!   fails with the OS error `ECHILD` (`raw_os_error() == Some(libc::ECHILD)`).
//! * Only this child is reaped: ferrio never calls `waitpid(-1)`, so other children and other
//!   code's `waitpid` calls are left alone.
//! * A spurious readable event is possible (on the SIGCHLD fallback, any child's exit wakes
//!   every source); `try_wait` then returns `Ok(None)`.
//!
//! # The `std::process::Child` it takes
//!
//! `ChildExit::new` takes the `Child` by value, so `Child::wait`, `Child::try_wait` and
//! `Child::kill` can no longer be called on it: reaping is this source's job, and killing goes
//! through [`ChildExit::kill`], which cannot hit another process that reused the pid. Take the
//! child's pipes first (`child.stdout.take()`), or with [`ChildExit::take_stdin`] and friends.
//! A `Child` that std already reaped (`wait` or a `try_wait` that returned the status) gives a
//! source that is readable at once and reports that status.
//!
//! # Platforms and mechanisms
//!
//! * **Linux ≥ 5.3**: a pidfd (`pidfd_open`), which the selector polls; it is readable once
//!   the child has exited. Reaped with
//!   `waitid(P_PIDFD, .., WEXITED | WNOHANG)` (Linux ≥ 5.4; `waitpid(pid, WNOHANG)` on 5.3).
//!   Signals go through `pidfd_send_signal`. One fd per child.
//! * **Linux without pidfd** (kernel < 5.3, or a seccomp policy refusing `pidfd_open` with
//!   `ENOSYS`/`EPERM`): a SIGCHLD [`Signals`](crate::signal::Signals)-style receiver per child
//!   (its own pipe, two fds). Every SIGCHLD wakes every such source, each of which calls
//!   `waitpid(pid, WNOHANG)` for its own pid only. This installs ferrio's SIGCHLD handler (see
//!   [`signal`](crate::signal) for how it chains to an existing one) while such a source
//!   exists. [`ChildExit::mechanism`] tells which one a source uses.
//! * **macOS, iOS, the BSDs**: each source owns a kqueue with `EVFILT_PROC`/`NOTE_EXIT` for
//!   the pid, registered with the `Poll`'s selector; then `waitpid(pid, WNOHANG)`. One fd per
//!   child.
//! * **Windows**: not available.
//!
//! After `try_wait` returned the status, the source may stay readable (pidfd) or not (the
//! other mechanisms); the status it returns does not change.

use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, ExitStatus};

use crate::io_source::IoSource;
use crate::sys;

/// How a [`ChildExit`] learns that its child exited (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitMechanism {
    /// A Linux pidfd.
    Pidfd,
    /// The SIGCHLD fallback (a signal handler and a pipe per source).
    Sigchld,
    /// A kqueue with `EVFILT_PROC` (macOS, the BSDs).
    Kqueue,
    /// The child had already been reaped by std when the source was created: the source is
    /// a pipe that is always readable.
    AlreadyReaped,
}

/// A source that reports readable when a child process has exited.
///
/// See the [module docs](self) for the guarantees, each platform's mechanism and the
/// interaction with `std::process::Child`.
pub struct ChildExit {
    io: IoSource<File>,
    /// `None` if std had reaped the child before `new`.
    watch: Option<sys::process::Watch>,
    child: Child,
    status: Option<ExitStatus>,
}

impl_evented_via_io_source!(ChildExit);

impl ChildExit {
    /// Watches `child` for its exit.
    ///
    /// # Errors
    ///
    /// * `ECHILD` if the child was already reaped by other code (not by std).
    /// * The OS error of `pidfd_open` (`EMFILE`, ...), or of the fallback's pipe and
    ///   `sigaction`, or of `kqueue`/`kevent`. The child is then left as it was (running,
    ///   not reaped): the error gives no way back to it, so it is reaped by ferrio later
    ///   like the child of a dropped source.
    pub fn new(mut child: Child) -> io::Result<ChildExit> {
        // std reaped it already (its status is cached), or reaps it now if it has exited.
        if let Some(status) = child.try_wait()? {
            return Ok(ChildExit {
                io: IoSource::new(File::from(sys::process::always_readable()?)),
                watch: None,
                child,
                status: Some(status),
            });
        }
        let pid = child.id() as libc::pid_t;
        let (fd, watch) = match sys::process::Watch::new(pid) {
            Ok(watched) => watched,
            Err(e) => {
                sys::process::orphan_pid(pid);
                return Err(e);
            }
        };
        Ok(ChildExit {
            io: IoSource::new(File::from(fd)),
            watch: Some(watch),
            child,
            status: None,
        })
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The child's exit status if it has exited (reaping it), `Ok(None)` if it still runs.
    /// Never blocks. Once it returned the status, every later call returns the same.
    ///
    /// # Errors
    ///
    /// `ECHILD` (`raw_os_error() == Some(libc::ECHILD)`) if other code reaped the child;
    /// another OS error of the reap.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let Some(watch) = &self.watch else {
            return Ok(self.status);
        };
        let raw = self.io.do_read(|file| watch.try_reap(file.as_raw_fd()))?;
        self.status = raw.map(ExitStatus::from_raw);
        Ok(self.status)
    }

    /// Sends `SIGKILL` to the child. `Ok(())` if it has exited already (as std's
    /// `Child::kill`).
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal).
    pub fn kill(&mut self) -> io::Result<()> {
        self.send_signal(libc::SIGKILL)
    }

    /// Sends `signo` to the child, unless it has been reaped already (then `Ok(())`: it
    /// cannot receive signals, and its pid may belong to another process by now).
    ///
    /// # Errors
    ///
    /// The OS error of `pidfd_send_signal` or `kill` (`EINVAL` for an invalid signal,
    /// `ESRCH` if other code reaped the child).
    ///
    /// # Portability
    ///
    /// With a pidfd (Linux) the signal can only reach this child. The SIGCHLD fallback and the
    /// kqueue systems send it with `kill(pid)`: safe while the child is not reaped (its pid
    /// cannot be reused), but if other code reaped it behind ferrio's back, the pid may
    /// belong to another process by now, as with std's `Child::kill`.
    pub fn send_signal(&mut self, signo: i32) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        match &self.watch {
            Some(watch) => watch.send_signal(self.io.raw_fd(), signo),
            None => Ok(()),
        }
    }

    /// How this source learns that its child exited.
    pub fn mechanism(&self) -> ExitMechanism {
        match self.watch.as_ref().map(|w| w.mechanism()) {
            Some(sys::process::Mechanism::Pidfd) => ExitMechanism::Pidfd,
            Some(sys::process::Mechanism::Sigchld) => ExitMechanism::Sigchld,
            Some(sys::process::Mechanism::Kqueue) => ExitMechanism::Kqueue,
            None => ExitMechanism::AlreadyReaped,
        }
    }

    /// Takes the child's stdin pipe, if it was spawned with `Stdio::piped()` and not taken yet.
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// Takes the child's stdout pipe (see [`take_stdin`](Self::take_stdin)).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// Takes the child's stderr pipe (see [`take_stdin`](Self::take_stdin)).
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// How many children of dropped `ChildExit`s have not been reaped yet (still running, or
    /// exited since the last time ferrio looked). Reaps those that exited first.
    pub fn orphans() -> usize {
        sys::process::reap_orphans();
        sys::process::orphans()
    }
}

impl Drop for ChildExit {
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        let Some(watch) = self.watch.take() else {
            return;
        };
        // Reaped now (or by someone else): nothing left to do. Still running: reaped later
        // (see the module docs).
        if let Ok(None) = watch.try_reap(self.io.raw_fd()) {
            watch.orphan(self.io.inner().as_fd());
        }
    }
}

impl fmt::Debug for ChildExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildExit")
            .field("pid", &self.child.id())
            .field("mechanism", &self.mechanism())
            .field("status", &self.status)
            .finish()
    }
}
