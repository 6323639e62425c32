//! Child-exit notification for `ferrio::process::ChildExit`: an fd that becomes readable when
//! a child exits, and a non-blocking reap.
//!
//! * Linux ≥ 5.3: a pidfd (`pidfd_open`), readable once the process has exited; reaped with
//!   `waitid(P_PIDFD, .., WEXITED | WNOHANG)` (Linux ≥ 5.4; on 5.3 `waitpid(pid, WNOHANG)`,
//!   safe because the unreaped child's pid cannot be reused). Signals are sent with
//!   `pidfd_send_signal`, which never hits a process that reused the pid.
//! * Linux without pidfd (`ENOSYS`: kernel < 5.3; `EPERM`: a seccomp filter refusing it) and
//!   other systems without kqueue: a SIGCHLD receiver (`sys::signal`, a self-pipe) per child.
//!   Every SIGCHLD wakes every such receiver (SIGCHLD coalesces and does not say which child);
//!   each reaps only its own pid with `waitpid(pid, WNOHANG)`, never `waitpid(-1)`, so children
//!   that other code waits for are left alone.
//! * kqueue systems: a kqueue of its own with `EVFILT_PROC`/`NOTE_EXIT` (see `sys::kevent`),
//!   then `waitpid(pid, WNOHANG)`.
//!
//! A child reaped by someone else (`waitpid(-1)` elsewhere, SIGCHLD set to `SIG_IGN`) makes
//! the reap fail with `ECHILD`: the source is readable (the process is gone) and reports the
//! error, it never waits forever.
//!
//! # Orphans
//!
//! A watch dropped before its child was reaped is kept in a process-wide list of orphans
//! (pid, and the pidfd where there is one), and each orphan is reaped without blocking the next
//! time a watch is created or polled anywhere in the process ([`reap_orphans`]).

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// A raw wait status (`WIFEXITED` & co. decode it; `ExitStatus::from_raw` takes it).
pub(crate) type WaitStatus = libc::c_int;

/// How a watch learns that its child exited.
// Each platform builds only some of the variants; the public mapping names them all.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mechanism {
    Pidfd,
    Sigchld,
    Kqueue,
}

/// Watches one child: the fd to poll is returned by [`Watch::new`].
#[derive(Debug)]
pub(crate) struct Watch {
    pid: libc::pid_t,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// The polled fd is the pidfd.
    #[cfg(all(target_os = "linux", not(ferrio_portable)))]
    Pidfd,
    /// The polled fd is the read end of the SIGCHLD receiver's pipe.
    #[cfg(not(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "dragonfly",
        target_os = "netbsd",
        target_os = "openbsd"
    )))]
    Sigchld(super::signal::Receiver),
    /// The polled fd is a kqueue with `EVFILT_PROC` for the pid.
    #[cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "dragonfly",
        target_os = "netbsd",
        target_os = "openbsd"
    ))]
    Kqueue,
}

impl Watch {
    /// Starts watching the child `pid`, which must be a child of this process that nobody
    /// has reaped yet: returns the fd to poll (readable once the child exited, close-on-exec)
    /// and the watch.
    ///
    /// # Errors
    ///
    /// The OS error of `pidfd_open` (except `ENOSYS`/`EPERM`, which select the SIGCHLD
    /// fallback), of the fallback's `pipe2`/`sigaction`/`waitid`, or of `kqueue`/`kevent`.
    pub(crate) fn new(pid: libc::pid_t) -> io::Result<(OwnedFd, Watch)> {
        reap_orphans();
        #[cfg(all(target_os = "linux", not(ferrio_portable)))]
        match pidfd_open(pid) {
            Ok(fd) => {
                return Ok((
                    fd,
                    Watch {
                        pid,
                        kind: Kind::Pidfd,
                    },
                ))
            }
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {}
            Err(e) => return Err(e),
        }
        #[cfg(any(
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "dragonfly",
            target_os = "netbsd",
            target_os = "openbsd"
        ))]
        {
            let fd = super::kevent::watch_exit(pid)?;
            Ok((
                fd,
                Watch {
                    pid,
                    kind: Kind::Kqueue,
                },
            ))
        }
        #[cfg(not(any(
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "dragonfly",
            target_os = "netbsd",
            target_os = "openbsd"
        )))]
        {
            let (fd, receiver) = super::signal::Receiver::new(1 << (libc::SIGCHLD - 1))?;
            // The child may have exited before the handler was installed: then no SIGCHLD
            // will come, so look (without reaping) and wake the receiver ourselves.
            if !matches!(has_exited(pid), Ok(false)) {
                receiver.raise_local(libc::SIGCHLD);
            }
            Ok((
                fd,
                Watch {
                    pid,
                    kind: Kind::Sigchld(receiver),
                },
            ))
        }
    }

    /// How this watch is notified.
    pub(crate) fn mechanism(&self) -> Mechanism {
        match self.kind {
            #[cfg(all(target_os = "linux", not(ferrio_portable)))]
            Kind::Pidfd => Mechanism::Pidfd,
            #[cfg(not(any(
                target_os = "macos",
                target_os = "ios",
                target_os = "freebsd",
                target_os = "dragonfly",
                target_os = "netbsd",
                target_os = "openbsd"
            )))]
            Kind::Sigchld(_) => Mechanism::Sigchld,
            #[cfg(any(
                target_os = "macos",
                target_os = "ios",
                target_os = "freebsd",
                target_os = "dragonfly",
                target_os = "netbsd",
                target_os = "openbsd"
            ))]
            Kind::Kqueue => Mechanism::Kqueue,
        }
    }

    /// Reaps the child if it exited; `Ok(None)` if it still runs. `fd` is the fd from `new`
    /// (drained here, so that edge- and level-triggered registrations re-report only on a
    /// new notification).
    ///
    /// # Errors
    ///
    /// `ECHILD` if the child was reaped by someone else; another OS error of the reap.
    pub(crate) fn try_reap(&self, fd: RawFd) -> io::Result<Option<WaitStatus>> {
        reap_orphans();
        match &self.kind {
            #[cfg(all(target_os = "linux", not(ferrio_portable)))]
            Kind::Pidfd => reap_pidfd(fd, self.pid),
            #[cfg(not(any(
                target_os = "macos",
                target_os = "ios",
                target_os = "freebsd",
                target_os = "dragonfly",
                target_os = "netbsd",
                target_os = "openbsd"
            )))]
            Kind::Sigchld(receiver) => {
                // Drain first: a SIGCHLD after this writes a new byte.
                receiver.take(fd)?;
                waitpid(self.pid)
            }
            #[cfg(any(
                target_os = "macos",
                target_os = "ios",
                target_os = "freebsd",
                target_os = "dragonfly",
                target_os = "netbsd",
                target_os = "openbsd"
            ))]
            Kind::Kqueue => {
                let exited = super::kevent::drain_exit(fd)?;
                let status = waitpid(self.pid)?;
                if status.is_none() && exited {
                    // The exit was reported before the child became waitable: look again
                    // in a millisecond rather than never.
                    super::kevent::wake_soon(fd)?;
                }
                Ok(status)
            }
        }
    }

    /// Sends `signo` to the child, which the caller knows is not reaped yet.
    pub(crate) fn send_signal(&self, fd: RawFd, signo: i32) -> io::Result<()> {
        match &self.kind {
            #[cfg(all(target_os = "linux", not(ferrio_portable)))]
            Kind::Pidfd => pidfd_send_signal(fd, signo),
            #[allow(unreachable_patterns)]
            _ => {
                let _ = fd;
                kill(self.pid, signo)
            }
        }
    }

    /// Hands the watch of a child that has not been reaped to the orphan list (`fd` is the
    /// polled fd; duplicated and kept if it is a pidfd).
    pub(crate) fn orphan(self, fd: BorrowedFd<'_>) {
        let pidfd = match self.kind {
            #[cfg(all(target_os = "linux", not(ferrio_portable)))]
            Kind::Pidfd => fd.try_clone_to_owned().ok(),
            #[allow(unreachable_patterns)]
            _ => {
                let _ = fd;
                None
            }
        };
        adopt(Orphan {
            pid: self.pid,
            pidfd,
        });
    }
}

/// Adds the unreaped child `pid` (no fd) to the orphan list.
pub(crate) fn orphan_pid(pid: libc::pid_t) {
    adopt(Orphan { pid, pidfd: None });
}

fn adopt(orphan: Orphan) {
    let mut orphans = ORPHANS.lock().unwrap_or_else(|e| e.into_inner());
    orphans.push(orphan);
    ORPHAN_COUNT.store(orphans.len(), Ordering::Release);
}

/// A child whose watch was dropped before it was reaped.
#[derive(Debug)]
struct Orphan {
    pid: libc::pid_t,
    pidfd: Option<OwnedFd>,
}

static ORPHANS: Mutex<Vec<Orphan>> = Mutex::new(Vec::new());
/// `ORPHANS.len()`, read without the lock.
static ORPHAN_COUNT: AtomicUsize = AtomicUsize::new(0);

/// Reaps, without blocking, every orphan that has exited (and forgets those reaped by
/// someone else). One relaxed load when there are none.
pub(crate) fn reap_orphans() {
    if ORPHAN_COUNT.load(Ordering::Acquire) == 0 {
        return;
    }
    let Ok(mut orphans) = ORPHANS.try_lock() else {
        // Another thread is reaping them right now.
        return;
    };
    orphans.retain(|orphan| {
        let res = match &orphan.pidfd {
            #[cfg(all(target_os = "linux", not(ferrio_portable)))]
            Some(fd) => reap_pidfd(std::os::fd::AsRawFd::as_raw_fd(fd), orphan.pid),
            _ => waitpid(orphan.pid),
        };
        matches!(res, Ok(None))
    });
    ORPHAN_COUNT.store(orphans.len(), Ordering::Release);
}

/// How many dropped watches' children are still waiting to be reaped.
pub(crate) fn orphans() -> usize {
    ORPHAN_COUNT.load(Ordering::Acquire)
}

/// The wait status (`WIFEXITED` & co. encoding) of a `waitid` result: `code` is `si_code`,
/// `status` is `si_status` (the exit code or the signal).
#[cfg(not(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
)))]
fn wait_status(code: libc::c_int, status: libc::c_int) -> WaitStatus {
    match code {
        libc::CLD_EXITED => (status & 0xff) << 8,
        libc::CLD_DUMPED => (status & 0x7f) | 0x80,
        _ => status & 0x7f,
    }
}

/// `pidfd_open(pid, 0)`: a close-on-exec pidfd.
#[cfg(all(target_os = "linux", not(ferrio_portable)))]
fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags, no pointers.
    let fd = unsafe {
        syscall!(@named "pidfd_open", syscall(libc::SYS_pidfd_open, pid as libc::c_long, 0 as libc::c_long))
    }?;
    // SAFETY: the kernel returned a fresh fd (always O_CLOEXEC) owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `pidfd_send_signal(fd, signo, NULL, 0)`.
#[cfg(all(target_os = "linux", not(ferrio_portable)))]
fn pidfd_send_signal(fd: RawFd, signo: i32) -> io::Result<()> {
    // SAFETY: a null siginfo is allowed (the kernel fills it as for kill); no other pointers.
    unsafe {
        syscall!(@named "pidfd_send_signal", syscall(
            libc::SYS_pidfd_send_signal,
            fd as libc::c_long,
            signo as libc::c_long,
            std::ptr::null::<libc::siginfo_t>(),
            0 as libc::c_long
        ))
    }
    .map(drop)
}

/// Whether the P_PIDFD form of `waitid` was refused (`EINVAL`, Linux 5.3).
#[cfg(all(target_os = "linux", not(ferrio_portable)))]
static NO_WAITID_PIDFD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Reaps the pidfd's process if it exited: `waitid(P_PIDFD, fd, WEXITED | WNOHANG)`.
#[cfg(all(target_os = "linux", not(ferrio_portable)))]
fn reap_pidfd(fd: RawFd, pid: libc::pid_t) -> io::Result<Option<WaitStatus>> {
    if NO_WAITID_PIDFD.load(Ordering::Relaxed) {
        return waitpid(pid);
    }
    match waitid(
        libc::P_PIDFD,
        fd as libc::id_t,
        libc::WEXITED | libc::WNOHANG,
    ) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            // Linux 5.3 has pidfd_open but not P_PIDFD; the unreaped pid is still ours.
            NO_WAITID_PIDFD.store(true, Ordering::Relaxed);
            waitpid(pid)
        }
        res => res,
    }
}

/// `waitid(idtype, id, options)`, returning the wait status if a child changed state.
#[cfg(not(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
)))]
fn waitid(
    idtype: libc::idtype_t,
    id: libc::id_t,
    options: libc::c_int,
) -> io::Result<Option<WaitStatus>> {
    loop {
        // SAFETY: an all-zero siginfo_t is valid; waitid leaves si_pid 0 if nothing changed
        // (WNOHANG), which is why it is zeroed first.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a live siginfo_t for waitid to fill.
        match unsafe { syscall!(waitid(idtype, id, &mut info, options)) } {
            Ok(_) => {
                // SAFETY: waitid filled `info` for a child state change (or left it zeroed).
                let pid = unsafe { info.si_pid() };
                if pid == 0 {
                    return Ok(None);
                }
                // SAFETY: as above; si_status is valid for SIGCHLD-style siginfo.
                let status = unsafe { info.si_status() };
                return Ok(Some(wait_status(info.si_code, status)));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Whether the child `pid` has exited, without reaping it (`WNOWAIT`).
#[cfg(not(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
)))]
fn has_exited(pid: libc::pid_t) -> io::Result<bool> {
    waitid(
        libc::P_PID,
        pid as libc::id_t,
        libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
    )
    .map(|s| s.is_some())
}

/// `waitpid(pid, WNOHANG)`: the status if the child exited (and is now reaped).
fn waitpid(pid: libc::pid_t) -> io::Result<Option<WaitStatus>> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: `status` is a live c_int for waitpid to fill.
        match unsafe { syscall!(waitpid(pid, &mut status, libc::WNOHANG)) } {
            Ok(0) => return Ok(None),
            Ok(_) => return Ok(Some(status)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// `kill(pid, signo)`.
fn kill(pid: libc::pid_t, signo: i32) -> io::Result<()> {
    // SAFETY: kill takes no pointers.
    unsafe { syscall!(kill(pid, signo)) }.map(drop)
}

/// A fd that is readable from the start and forever: what a source polls for a child that
/// had been reaped before the source existed. A pipe holding one byte that nobody reads,
/// whose write end is closed (readable and hup; an empty pipe without writers would be hup
/// only).
pub(crate) fn always_readable() -> io::Result<OwnedFd> {
    let (read, write) = super::fd::pipe()?;
    let byte = 1u8;
    // SAFETY: writes one byte from a live u8 into the fresh, empty pipe (cannot block).
    unsafe {
        syscall!(write(
            std::os::fd::AsRawFd::as_raw_fd(&write),
            (&byte as *const u8).cast(),
            1
        ))
    }?;
    Ok(read)
}
