//! What the backends over `poll(2)`-style readiness share (poll(2) itself and io_uring's
//! `POLL_ADD`): which fds may be registered, and the `poll(2)` bits for an interest and back.

use std::io;
use std::os::fd::RawFd;

use super::event::ready;
use crate::event_set::EventSet;

/// `POLLRDHUP` where the OS has it (Linux, Android, FreeBSD 13+; older FreeBSD kernels
/// ignore the bit) and the portable form is not forced; elsewhere a half-close shows as
/// readable + EOF.
#[cfg(all(
    any(target_os = "linux", target_os = "android", target_os = "freebsd"),
    not(ferrio_portable)
))]
pub(crate) const POLLRDHUP: libc::c_short = libc::POLLRDHUP;
#[cfg(not(all(
    any(target_os = "linux", target_os = "android", target_os = "freebsd"),
    not(ferrio_portable)
)))]
pub(crate) const POLLRDHUP: libc::c_short = 0;

/// Whether `revents` holds `POLLRDHUP` (never where it does not exist).
#[inline]
pub(crate) fn is_read_closed(revents: libc::c_short) -> bool {
    #[cfg(all(
        any(target_os = "linux", target_os = "android", target_os = "freebsd"),
        not(ferrio_portable)
    ))]
    {
        revents & POLLRDHUP != 0
    }
    #[cfg(not(all(
        any(target_os = "linux", target_os = "android", target_os = "freebsd"),
        not(ferrio_portable)
    )))]
    {
        let _ = revents;
        false
    }
}

/// The `poll(2)` bits asked for an interest (readable adds `POLLRDHUP` where it exists, like
/// epoll's `EPOLLRDHUP`, so a half-close is reported as hup; priority is `POLLPRI`).
pub(crate) fn interest_to_poll(interest: EventSet) -> libc::c_short {
    interest_to_poll_with(interest, POLLRDHUP)
}

/// [`interest_to_poll`] with `rdhup` for `POLLRDHUP` (io_uring, Linux-only, always has it,
/// also when the portable poll(2) form is forced).
pub(crate) fn interest_to_poll_with(interest: EventSet, rdhup: libc::c_short) -> libc::c_short {
    let mut bits = 0;
    if interest.is_readable() {
        bits |= libc::POLLIN | rdhup;
    }
    if interest.is_writable() {
        bits |= libc::POLLOUT;
    }
    if interest.is_priority() {
        bits |= libc::POLLPRI;
    }
    bits
}

/// `poll(2)` result bits to ferrio's readiness bits ([`ready`]).
#[inline]
pub(crate) fn poll_to_ready(revents: libc::c_short) -> u32 {
    let mut bits = poll_to_ready_with(revents, 0);
    if is_read_closed(revents) {
        bits |= ready::READ_CLOSED;
    }
    bits
}

/// [`poll_to_ready`] with `rdhup` for `POLLRDHUP` (0: none).
#[inline]
pub(crate) fn poll_to_ready_with(revents: libc::c_short, rdhup: libc::c_short) -> u32 {
    let mut bits = 0;
    if revents & libc::POLLIN != 0 {
        bits |= ready::READABLE;
    }
    if revents & libc::POLLPRI != 0 {
        bits |= ready::PRIORITY;
    }
    if revents & libc::POLLOUT != 0 {
        bits |= ready::WRITABLE;
    }
    if revents & libc::POLLERR != 0 {
        bits |= ready::ERROR;
    }
    if revents & libc::POLLHUP != 0 {
        bits |= ready::HUP;
    }
    if revents & rdhup != 0 {
        bits |= ready::READ_CLOSED;
    }
    bits
}

/// Refuses what epoll refuses, for the backends whose OS call would accept it: a bad fd
/// (`EBADF`, kept as the OS error) and regular files or directories (`EPERM`, which poll(2)
/// and io_uring would report as always ready). On Linux, a file that is neither a socket nor
/// a FIFO (a character device such as `/dev/null`, an eventfd, a pidfd) is asked of a
/// throw-away epoll, so that a driver without a poll method is refused (`EPERM`) here too.
pub(crate) fn check_pollable(fd: RawFd) -> io::Result<()> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: an all-zero stat is a valid value to overwrite.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid, writable stat buffer; a bad fd gives EBADF.
    unsafe { syscall!(fstat(fd, &mut st)) }?;
    let kind = st.st_mode & libc::S_IFMT;
    if kind == libc::S_IFREG || kind == libc::S_IFDIR {
        return Err(io::Error::from_raw_os_error(libc::EPERM));
    }
    #[cfg(target_os = "linux")]
    if kind != libc::S_IFSOCK && kind != libc::S_IFIFO {
        return epoll_accepts(fd);
    }
    Ok(())
}

/// Whether epoll would take `fd`: `EPERM` for a file whose driver has no poll method. If the
/// probe itself cannot be made (no fd left), the fd is accepted, as poll(2) would.
#[cfg(target_os = "linux")]
fn epoll_accepts(fd: RawFd) -> io::Result<()> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    // SAFETY: plain syscall with a valid flag.
    let Ok(probe) = (unsafe { syscall!(epoll_create1(libc::EPOLL_CLOEXEC)) }) else {
        return Ok(());
    };
    // SAFETY: `probe` is a new fd that nothing else owns.
    let probe = unsafe { OwnedFd::from_raw_fd(probe) };
    let mut event = libc::epoll_event { events: 0, u64: 0 };
    // SAFETY: both fds are open (fstat succeeded on `fd`), `event` is a valid epoll_event.
    match unsafe {
        syscall!(epoll_ctl(
            probe.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            fd,
            &mut event
        ))
    } {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => Err(e),
        _ => Ok(()),
    }
}

/// The error for registering an fd the selector already has (epoll's `EEXIST`).
pub(crate) fn already_registered() -> io::Error {
    io::Error::from_raw_os_error(libc::EEXIST)
}

/// The error for changing an fd the selector does not have (epoll's `ENOENT`).
pub(crate) fn not_registered() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On Linux the poll(2) bits are epoll's, so the translation is the identity there.
    #[cfg(all(target_os = "linux", not(ferrio_portable)))]
    #[test]
    fn poll_bits_are_epoll_bits_on_linux() {
        for bit in [
            libc::POLLIN,
            libc::POLLPRI,
            libc::POLLOUT,
            libc::POLLERR,
            libc::POLLHUP,
            libc::POLLRDHUP,
        ] {
            assert_eq!(poll_to_ready(bit), bit as u32);
        }
    }

    /// `/dev/null` has no poll method: refused as epoll refuses it; a pipe is accepted.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_device_without_poll_is_refused() {
        use std::os::fd::AsRawFd;
        let null = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(
            check_pollable(null.as_raw_fd()).unwrap_err().raw_os_error(),
            Some(libc::EPERM)
        );
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for two fds.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        assert!(check_pollable(fds[0]).is_ok());
        // SAFETY: both were just created and are closed once.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
    }

    #[test]
    fn errors_keep_the_os_error() {
        assert_eq!(
            check_pollable(-1).unwrap_err().raw_os_error(),
            Some(libc::EBADF)
        );
        assert_eq!(already_registered().kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(not_registered().kind(), io::ErrorKind::NotFound);
    }
}
