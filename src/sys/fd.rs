//! Thin wrappers over the fd-level syscalls the sources need.
//!
//! Every fd created here is non-blocking and close-on-exec from the moment it exists
//! (`EFD_NONBLOCK | EFD_CLOEXEC`, `SOCK_NONBLOCK | SOCK_CLOEXEC`, `O_NONBLOCK | O_CLOEXEC`),
//! so a concurrent `fork` + `exec` in another thread never inherits it. Writes to sockets use
//! `MSG_NOSIGNAL`, so a closed peer gives `EPIPE`, never `SIGPIPE`.
//!
//! # Portability
//!
//! * `accept4`, `pipe2`, `SOCK_NONBLOCK | SOCK_CLOEXEC`: Linux, FreeBSD, NetBSD, OpenBSD,
//!   DragonFly. Apple systems have none of them: there the fd is made by `accept`, `pipe` or
//!   `socket` and then set close-on-exec and non-blocking with `fcntl`. Between the two calls
//!   a `fork` + `exec` in another thread inherits the fd (the child holds a copy of it, which
//!   for a socket keeps the connection open until the child closes or execs again); a
//!   program that forks from other threads while ferrio creates fds should use
//!   `posix_spawn` (which on macOS can close every fd not marked for it,
//!   `POSIX_SPAWN_CLOEXEC_DEFAULT`).
//! * `MSG_NOSIGNAL`: everywhere but Apple systems, where ferrio's sockets carry
//!   `SO_NOSIGPIPE` instead (set by socket2 when the socket is made, inherited by accepted
//!   sockets) and the flag is 0 ([`NOSIGNAL`]). A socket made outside ferrio and adopted
//!   with `from_raw_fd` keeps whatever its creator set.
//! * `eventfd`: Linux only (the wake-up fd is a pipe elsewhere).

use std::io::{self, IoSlice};
use std::mem;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// `MSG_NOSIGNAL` where `send` takes it; 0 on Apple systems, whose sockets carry
/// `SO_NOSIGPIPE` (see the module docs).
#[cfg(not(target_vendor = "apple"))]
pub(crate) const NOSIGNAL: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(target_vendor = "apple")]
pub(crate) const NOSIGNAL: libc::c_int = 0;

/// A new socket, non-blocking and close-on-exec (atomically where `SOCK_NONBLOCK` and
/// `SOCK_CLOEXEC` exist; on Apple systems socket2 sets close-on-exec and `SO_NOSIGPIPE`
/// right after `socket`, and this sets `O_NONBLOCK`).
pub(crate) fn socket(domain: Domain, ty: Type, protocol: Option<Protocol>) -> io::Result<Socket> {
    #[cfg(not(target_vendor = "apple"))]
    {
        Socket::new(domain, ty.nonblocking().cloexec(), protocol)
    }
    #[cfg(target_vendor = "apple")]
    {
        let socket = Socket::new(domain, ty, protocol)?;
        socket.set_nonblocking(true)?;
        Ok(socket)
    }
}

/// A connected pair of sockets, non-blocking and close-on-exec (see [`socket`]).
pub(crate) fn socket_pair(domain: Domain, ty: Type) -> io::Result<(Socket, Socket)> {
    #[cfg(not(target_vendor = "apple"))]
    {
        Socket::pair(domain, ty.nonblocking().cloexec(), None)
    }
    #[cfg(target_vendor = "apple")]
    {
        let (a, b) = Socket::pair(domain, ty, None)?;
        a.set_nonblocking(true)?;
        b.set_nonblocking(true)?;
        Ok((a, b))
    }
}

/// The size of `sun_path` in `sockaddr_un`: 108 on Linux, 104 on macOS and the BSDs.
pub(crate) const SUN_PATH_LEN: usize = {
    // SAFETY: all-zero is a valid sockaddr_un (integers and a byte array).
    let addr: libc::sockaddr_un = unsafe { mem::zeroed() };
    addr.sun_path.len()
};

/// Sets `FD_CLOEXEC` on `fd` (for fds the OS cannot create close-on-exec atomically).
#[cfg_attr(
    not(any(
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    )),
    allow(dead_code)
)]
pub(crate) fn set_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFD/F_SETFD take and return plain ints; a bad fd gives EBADF.
    let flags = unsafe { syscall!(fcntl(fd, libc::F_GETFD)) }?;
    if flags & libc::FD_CLOEXEC == 0 {
        // SAFETY: as above.
        unsafe { syscall!(fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC)) }?;
    }
    Ok(())
}

/// `eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)`.
#[cfg(all(target_os = "linux", not(ferrio_portable)))]
pub(crate) fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd takes no pointers; the flags are valid.
    let fd = unsafe { syscall!(eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC)) }?;
    // SAFETY: the fd was just created and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds 1 to an eventfd counter. `WouldBlock` means the counter is full.
#[cfg(all(target_os = "linux", not(ferrio_portable)))]
pub(crate) fn eventfd_write(fd: &OwnedFd) -> io::Result<()> {
    let one: u64 = 1;
    // SAFETY: writes exactly 8 bytes from a live u64, as eventfd(2) requires.
    unsafe {
        syscall!(write(
            fd.as_raw_fd(),
            (&one as *const u64).cast(),
            mem::size_of::<u64>()
        ))
    }
    .map(drop)
}

/// Reads (and so resets) an eventfd counter; `WouldBlock` if it was zero.
#[cfg(all(target_os = "linux", not(ferrio_portable)))]
pub(crate) fn eventfd_read(fd: &OwnedFd) -> io::Result<u64> {
    let mut value: u64 = 0;
    // SAFETY: reads exactly 8 bytes into a live u64, as eventfd(2) requires.
    unsafe {
        syscall!(read(
            fd.as_raw_fd(),
            (&mut value as *mut u64).cast(),
            mem::size_of::<u64>()
        ))
    }?;
    Ok(value)
}

/// Writes one byte (a wake-up pipe's write end, whose read end the caller keeps open, so no
/// `SIGPIPE` can be raised).
#[cfg_attr(all(target_os = "linux", not(ferrio_portable)), allow(dead_code))]
pub(crate) fn write_byte(fd: &OwnedFd) -> io::Result<()> {
    let byte = 1u8;
    // SAFETY: writes one byte from a live u8.
    unsafe { syscall!(write(fd.as_raw_fd(), (&byte as *const u8).cast(), 1)) }.map(drop)
}

/// `accept4(fd, .., SOCK_NONBLOCK | SOCK_CLOEXEC)`, returning the new socket and peer address.
/// On Apple systems `accept`, then `fcntl` (see the module docs; the accepted socket inherits
/// the listener's `SO_NOSIGPIPE`).
#[doc(alias = "accept4")]
pub(crate) fn accept(fd: RawFd) -> io::Result<(OwnedFd, SockAddr)> {
    // SAFETY: try_init hands us a zeroed sockaddr storage and its length; accept4 (accept)
    // writes at most `len` bytes there and updates `len`, which is the contract try_init
    // requires.
    let (new, addr) = unsafe {
        SockAddr::try_init(|storage, len| {
            #[cfg(not(target_vendor = "apple"))]
            let res = syscall!(accept4(
                fd,
                storage.cast(),
                len,
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC
            ));
            #[cfg(target_vendor = "apple")]
            let res = syscall!(accept(fd, storage.cast(), len));
            res
        })
    }?;
    // SAFETY: accept4 (accept) returned a fresh fd that nobody else owns.
    let new = unsafe { OwnedFd::from_raw_fd(new) };
    #[cfg(target_vendor = "apple")]
    {
        set_cloexec(new.as_raw_fd())?;
        set_nonblocking(new.as_raw_fd())?;
    }
    Ok((new, addr))
}

/// The accept loop of every listener (TCP and Unix): accepts one pending connection with
/// [`accept`] (so the new socket is non-blocking and close-on-exec), retrying on `EINTR` and
/// skipping connections that were reset before we took them (`ECONNABORTED`, which says
/// nothing about the listener). `Ok(None)` means none is pending (`EAGAIN`).
///
/// # Errors
///
/// Any other error of `accept4`, notably `EMFILE`/`ENFILE` (out of fds: the connection stays
/// in the backlog).
pub(crate) fn accept_pending(fd: RawFd) -> io::Result<Option<(OwnedFd, SockAddr)>> {
    loop {
        match accept(fd) {
            Ok(accepted) => return Ok(Some(accepted)),
            Err(e) => match e.raw_os_error() {
                Some(libc::EAGAIN) => return Ok(None),
                Some(libc::EINTR) | Some(libc::ECONNABORTED) => continue,
                _ => return Err(e),
            },
        }
    }
}

/// Sets `O_NONBLOCK` on an fd (`fcntl(F_GETFL)`, then `F_SETFL` if the flag was missing).
#[doc(alias = "fcntl")]
pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFL takes no pointer; a bad fd gives EBADF.
    let flags = unsafe { syscall!(fcntl(fd, libc::F_GETFL)) }?;
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY: F_SETFL takes an int argument; a bad fd gives EBADF.
        unsafe { syscall!(fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK)) }?;
    }
    Ok(())
}

/// Converts a socket address the kernel gave us into a `SocketAddr`.
pub(crate) fn to_socket_addr(addr: &SockAddr) -> io::Result<SocketAddr> {
    addr.as_socket().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "the kernel returned a non-IP socket address",
        )
    })
}

/// `recv(fd, buf, 0)`.
#[inline]
pub(crate) fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: buf is a valid writable slice of buf.len() bytes.
    unsafe { syscall!(recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0)) }.map(|n| n as usize)
}

/// `read(fd, buf)`.
#[inline]
pub(crate) fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: buf is a valid writable slice of buf.len() bytes.
    unsafe { syscall!(read(fd, buf.as_mut_ptr().cast(), buf.len())) }.map(|n| n as usize)
}

/// `send(fd, buf, MSG_NOSIGNAL)` ([`NOSIGNAL`]).
#[inline]
pub(crate) fn send(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: buf is a valid readable slice of buf.len() bytes.
    unsafe { syscall!(send(fd, buf.as_ptr().cast(), buf.len(), NOSIGNAL)) }.map(|n| n as usize)
}

/// The most slices one `writev`/`sendmsg` takes (`IOV_MAX`; `UIO_MAXIOV` on Linux, 1,024):
/// the kernel refuses a longer array (`EMSGSIZE`/`EINVAL`), so a vectored write passes only
/// this many and writes a prefix, as std's streams do.
#[cfg(any(target_os = "linux", target_os = "android"))]
const MAX_IOV: usize = libc::UIO_MAXIOV as usize;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const MAX_IOV: usize = libc::IOV_MAX as usize;

/// `sendmsg(fd, bufs, MSG_NOSIGNAL)`: a vectored write that never raises `SIGPIPE`. At most
/// [`MAX_IOV`] slices are passed (a prefix is written).
#[doc(alias = "sendmsg")]
pub(crate) fn send_vectored(fd: RawFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    // SAFETY: an all-zero msghdr is a valid empty message.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    // IoSlice is ABI-compatible with iovec on Unix (guaranteed by std).
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len().min(MAX_IOV) as _;
    // SAFETY: msg points at `bufs`, which outlives the call; the kernel only reads them.
    unsafe { syscall!(sendmsg(fd, &msg, NOSIGNAL)) }.map(|n| n as usize)
}

/// `pipe2(O_NONBLOCK | O_CLOEXEC)`: (read end, write end). On Apple systems `pipe`, then
/// `fcntl` (see the module docs), and the write end is set `F_SETNOSIGPIPE` too.
#[doc(alias = "pipe2")]
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as RawFd; 2];
    // SAFETY: fds has room for the two fds pipe2 (pipe) writes.
    #[cfg(not(target_vendor = "apple"))]
    unsafe { syscall!(pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC)) }?;
    // SAFETY: as above.
    #[cfg(target_vendor = "apple")]
    unsafe { syscall!(pipe(fds.as_mut_ptr())) }?;
    // SAFETY: the call succeeded, so both fds are fresh and owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    #[cfg(target_vendor = "apple")]
    {
        for fd in [&read, &write] {
            set_cloexec(fd.as_raw_fd())?;
            set_nonblocking(fd.as_raw_fd())?;
        }
        // SAFETY: F_SETNOSIGPIPE takes an int; the fd is ours.
        unsafe { syscall!(fcntl(write.as_raw_fd(), libc::F_SETNOSIGPIPE, 1)) }?;
    }
    Ok((read, write))
}

/// Writes to a pipe without raising `SIGPIPE` when the read end is closed.
///
/// Pipes cannot take `MSG_NOSIGNAL`, so `SIGPIPE` is blocked in this thread around the write,
/// and a `SIGPIPE` that the write raised is consumed before the old mask is restored. The
/// result is `BrokenPipe`, as for sockets. This costs two `rt_sigprocmask` calls (plus a
/// `sigpending`) per write; pipes are not ferrio's fast path, sockets are. At most
/// [`MAX_IOV`] slices are passed (a prefix is written).
pub(crate) fn pipe_write(fd: RawFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let guard = SigpipeGuard::block()?;
    let iovcnt = bufs.len().min(MAX_IOV) as libc::c_int;
    // SAFETY: bufs are valid IoSlices (iovec-compatible) that outlive the call.
    let res = unsafe { syscall!(writev(fd, bufs.as_ptr() as *const libc::iovec, iovcnt)) };
    let raised = matches!(&res, Err(e) if e.raw_os_error() == Some(libc::EPIPE));
    guard.restore(raised);
    res.map(|n| n as usize)
}

/// [`pipe_write`] of one buffer.
pub(crate) fn pipe_write_one(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    pipe_write(fd, &[IoSlice::new(buf)])
}

/// Blocks `SIGPIPE` for the current thread until `restore`.
struct SigpipeGuard {
    /// The previous mask, if we changed it.
    old: Option<libc::sigset_t>,
    /// Whether SIGPIPE was already pending before the write (then it is not ours to consume).
    was_pending: bool,
}

impl SigpipeGuard {
    fn block() -> io::Result<SigpipeGuard> {
        // SAFETY: sigset_t is plain data; sigemptyset/sigaddset initialise it.
        let mut set: libc::sigset_t = unsafe { mem::zeroed() };
        // SAFETY: `set` is a valid sigset_t and SIGPIPE a valid signal number.
        unsafe {
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGPIPE);
        }
        // SAFETY: see above.
        let mut old: libc::sigset_t = unsafe { mem::zeroed() };
        // SAFETY: both pointers are valid sigset_t; pthread_sigmask only changes this thread.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        // SAFETY: `old` was initialised by pthread_sigmask.
        let already_blocked = unsafe { libc::sigismember(&old, libc::SIGPIPE) } == 1;
        if already_blocked {
            // Nothing changed and a raised SIGPIPE stays pending, as the caller arranged.
            return Ok(SigpipeGuard {
                old: None,
                was_pending: true,
            });
        }
        // SAFETY: see above.
        let mut pending: libc::sigset_t = unsafe { mem::zeroed() };
        // SAFETY: `pending` is a valid sigset_t to write into.
        unsafe { libc::sigpending(&mut pending) };
        // SAFETY: `pending` was initialised by sigpending.
        let was_pending = unsafe { libc::sigismember(&pending, libc::SIGPIPE) } == 1;
        Ok(SigpipeGuard {
            old: Some(old),
            was_pending,
        })
    }

    fn restore(self, raised: bool) {
        let Some(old) = self.old else { return };
        if raised && !self.was_pending {
            // SAFETY: sigset_t is plain data, initialised below.
            let mut set: libc::sigset_t = unsafe { mem::zeroed() };
            let zero = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: `set` is a valid sigset_t to initialise.
            unsafe {
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, libc::SIGPIPE);
            }
            consume_pending(&set, &zero);
        }
        // SAFETY: `old` is the mask pthread_sigmask gave us.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    }
}

/// Takes the pending `SIGPIPE` (ours, raised by the write, blocked in this thread) without
/// waiting: `sigtimedwait` with a zero timeout.
#[cfg(not(any(target_vendor = "apple", target_os = "openbsd")))]
fn consume_pending(set: &libc::sigset_t, zero: &libc::timespec) {
    // SAFETY: valid sigset_t and timespec; with a zero timeout sigtimedwait only takes the
    // pending SIGPIPE and returns at once.
    unsafe {
        while libc::sigtimedwait(set, std::ptr::null_mut(), zero) == -1
            && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
        {}
    }
}

/// Takes the pending `SIGPIPE` where `sigtimedwait` is missing (Apple systems, OpenBSD):
/// `sigwait`, only once `sigpending` shows it pending, so it never waits. (A `SIGPIPE` raised
/// by a write is directed at the writing thread, where it is blocked: no other thread can take
/// it between the two calls.)
#[cfg(any(target_vendor = "apple", target_os = "openbsd"))]
fn consume_pending(set: &libc::sigset_t, _zero: &libc::timespec) {
    // SAFETY: sigset_t is plain data; sigpending initialises it.
    let mut pending: libc::sigset_t = unsafe { mem::zeroed() };
    // SAFETY: `pending` is a valid sigset_t to write into, `set` a valid one to read.
    unsafe {
        if libc::sigpending(&mut pending) == 0 && libc::sigismember(&pending, libc::SIGPIPE) == 1 {
            let mut signal = 0;
            libc::sigwait(set, &mut signal);
        }
    }
}

/// Reads from `fd` into the first chunk of `buf`'s spare capacity and advances `buf` by the
/// bytes read, without initialising that memory first.
///
/// Sound because the kernel only writes to the destination of `read(2)`: the `n` bytes it
/// reports are initialised, and only those are passed to `advance_mut`.
pub(crate) fn read_buf<B: bytes::BufMut + ?Sized>(fd: RawFd, buf: &mut B) -> io::Result<usize> {
    let chunk = buf.chunk_mut();
    let (ptr, len) = (chunk.as_mut_ptr(), chunk.len());
    if len == 0 {
        return Ok(0);
    }
    // SAFETY: `ptr` is valid for writes of `len` bytes (an UninitSlice of `buf`), and read(2)
    // never reads from its destination, so uninitialised memory is fine.
    let n = unsafe { syscall!(read(fd, ptr.cast(), len)) }? as usize;
    // SAFETY: the kernel initialised exactly `n <= len` bytes at the start of the chunk.
    unsafe { buf.advance_mut(n) };
    Ok(n)
}
