//! File-descriptor passing over Unix sockets: `sendmsg`/`recvmsg` with `SCM_RIGHTS`.
//!
//! A message carries data bytes plus one `SCM_RIGHTS` control message holding an array of fds.
//! The control buffer lives on the stack and has room for [`MAX_FDS`] fds, so neither call
//! allocates.
//!
//! Ownership: the sender only lends its fds (the kernel takes its own references during
//! `sendmsg`, so the sender may close them at once). The kernel installs the received fds in
//! this process during `recvmsg` (close-on-exec, thanks to `MSG_CMSG_CLOEXEC`, on Linux and
//! the BSDs; Apple systems have no such flag, so there each received fd is set close-on-exec
//! right after `recvmsg`, and a `fork` + `exec` in another thread in between inherits it);
//! from then on
//! they belong to us, so every path of [`recv_with_fds`], the error paths included, wraps each
//! of them in an `OwnedFd` at once and either returns or closes it. None can leak.
//!
//! Man pages: `sendmsg(2)`, `recvmsg(2)`, `unix(7)` (`SCM_RIGHTS`), `cmsg(3)`.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;

/// The most fds one message may carry (sent or received).
pub(crate) const MAX_FDS: usize = 32;

const FD_SIZE: usize = mem::size_of::<RawFd>();

/// `CMSG_SPACE(MAX_FDS * sizeof(int))`: one `cmsghdr` plus the fd array, aligned.
// SAFETY: CMSG_SPACE only does arithmetic on its argument.
const CONTROL_LEN: usize =
    unsafe { libc::CMSG_SPACE((MAX_FDS * FD_SIZE) as libc::c_uint) } as usize;

/// `MSG_CMSG_CLOEXEC` where `recvmsg` takes it; 0 on Apple systems (see the module docs).
#[cfg(not(target_vendor = "apple"))]
const CMSG_CLOEXEC: libc::c_int = libc::MSG_CMSG_CLOEXEC;
#[cfg(target_vendor = "apple")]
const CMSG_CLOEXEC: libc::c_int = 0;

/// A control-message buffer aligned for `cmsghdr` (whose first field is a `size_t`).
#[repr(C, align(8))]
struct ControlBuffer([u8; CONTROL_LEN]);

impl ControlBuffer {
    fn new() -> ControlBuffer {
        ControlBuffer([0; CONTROL_LEN])
    }
}

/// `CMSG_LEN(n * sizeof(int))`.
fn cmsg_len(fds: usize) -> usize {
    // SAFETY: CMSG_LEN only does arithmetic; fds <= MAX_FDS so the value fits a c_uint.
    unsafe { libc::CMSG_LEN((fds * FD_SIZE) as libc::c_uint) as usize }
}

/// `sendmsg(fd, [buf], SCM_RIGHTS(fds), MSG_NOSIGNAL)`: sends `buf` with `fds` attached.
///
/// Returns the number of data bytes sent. The fds are attached to that data (for a stream
/// socket: to its first byte), so they are sent exactly when the result is `Ok`.
///
/// # Errors
///
/// `InvalidInput` if `fds.len() > MAX_FDS`; otherwise the OS error (`WouldBlock` means
/// nothing, neither data nor fds, was sent).
#[doc(alias = "sendmsg")]
pub(crate) fn send_with_fds(fd: RawFd, buf: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
    if fds.len() > MAX_FDS {
        return Err(too_many_fds());
    }
    let mut raw = [-1 as RawFd; MAX_FDS];
    for (slot, fd) in raw.iter_mut().zip(fds) {
        *slot = fd.as_raw_fd();
    }
    send_with_raw_fds(fd, buf, &raw[..fds.len()])
}

fn too_many_fds() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "too many file descriptors for one message (the maximum is 32)",
    )
}

/// [`send_with_fds`] for fd numbers the caller does not hold as `BorrowedFd`s (mio 0.5's
/// `write_send_fd`). Sound for any value: the kernel resolves each number in this process's
/// fd table during the call and fails with `EBADF` if one is not open.
///
/// # Errors
///
/// As [`send_with_fds`], plus `EBADF` for an fd number that is not open.
pub(crate) fn send_with_raw_fds(fd: RawFd, buf: &[u8], fds: &[RawFd]) -> io::Result<usize> {
    if fds.len() > MAX_FDS {
        return Err(too_many_fds());
    }
    let mut iov = libc::iovec {
        iov_base: buf.as_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is a valid empty message.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    let mut control = ControlBuffer::new();
    if !fds.is_empty() {
        msg.msg_control = control.0.as_mut_ptr().cast();
        // SAFETY: arithmetic only; fds.len() <= MAX_FDS.
        msg.msg_controllen =
            unsafe { libc::CMSG_SPACE((fds.len() * FD_SIZE) as libc::c_uint) } as _;
        // SAFETY: msg_control points at `control`, which is aligned for cmsghdr and at least
        // msg_controllen (<= CONTROL_LEN) bytes long, so CMSG_FIRSTHDR returns a pointer to
        // its start (non-null: msg_controllen >= sizeof(cmsghdr)), and CMSG_DATA points inside
        // it with room for fds.len() ints (that is what CMSG_SPACE reserved). Unaligned writes
        // make no assumption about the data's alignment.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            debug_assert!(!cmsg.is_null());
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = cmsg_len(fds.len()) as _;
            let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
            for (i, &fd) in fds.iter().enumerate() {
                ptr::write_unaligned(data.add(i), fd);
            }
        }
    }
    // SAFETY: msg points at `iov` (describing `buf`, only read by the kernel) and `control`,
    // all of which outlive the call.
    unsafe { syscall!(sendmsg(fd, &msg, super::fd::NOSIGNAL)) }.map(|n| n as usize)
}

/// `recvmsg(fd, [buf], MSG_CMSG_CLOEXEC)`: receives data and up to `fds.len()` (at most
/// [`MAX_FDS`]) passed fds, stored in `fds[..count]`. Returns `(data bytes, count)`.
///
/// `fds` is written only on success; the other slots are left as they were.
///
/// # Errors
///
/// The OS error of `recvmsg`, or `InvalidData` when the message carried more fds than there
/// was room for (`MSG_CTRUNC`): the kernel then discards the fds that did not fit, this
/// function closes the ones that did, and the message's data bytes are consumed.
#[doc(alias = "recvmsg")]
pub(crate) fn recv_with_fds(
    fd: RawFd,
    buf: &mut [u8],
    fds: &mut [Option<OwnedFd>],
) -> io::Result<(usize, usize)> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    unsafe { recv_into(fd, buf.as_mut_ptr(), buf.len(), fds) }
}

/// [`recv_with_fds`] into the first chunk of `buf`'s spare capacity, advancing `buf` by the
/// data bytes received, without initialising that memory first (the kernel only writes to a
/// `recvmsg` destination).
///
/// # Errors
///
/// As [`recv_with_fds`].
pub(crate) fn recv_buf_with_fds<B: bytes::BufMut + ?Sized>(
    fd: RawFd,
    buf: &mut B,
    fds: &mut [Option<OwnedFd>],
) -> io::Result<(usize, usize)> {
    let chunk = buf.chunk_mut();
    let (ptr, len) = (chunk.as_mut_ptr(), chunk.len());
    // SAFETY: `ptr` is valid for writes of `len` bytes (an UninitSlice of `buf`); recvmsg
    // never reads its destination.
    let (n, count) = unsafe { recv_into(fd, ptr, len, fds) }?;
    // SAFETY: the kernel initialised exactly `n <= len` bytes at the start of the chunk.
    unsafe { buf.advance_mut(n) };
    Ok((n, count))
}

/// The body of [`recv_with_fds`].
///
/// # Safety
///
/// `base` must be valid for writes of `len` bytes (it may be uninitialised).
unsafe fn recv_into(
    fd: RawFd,
    base: *mut u8,
    len: usize,
    fds: &mut [Option<OwnedFd>],
) -> io::Result<(usize, usize)> {
    let room = fds.len().min(MAX_FDS);
    let mut iov = libc::iovec {
        iov_base: base.cast(),
        iov_len: len,
    };
    // SAFETY: an all-zero msghdr is a valid empty message.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    let mut control = ControlBuffer::new();
    if room > 0 {
        msg.msg_control = control.0.as_mut_ptr().cast();
        // CMSG_LEN, not CMSG_SPACE: the kernel fits as many fds as the length allows, and
        // CMSG_SPACE's padding could make room for one more than `fds` can hold.
        msg.msg_controllen = cmsg_len(room) as _;
    }
    // SAFETY: msg points at `iov` (describing `len` writable bytes at `base`, as the caller
    // guarantees) and at `control`, which has room for msg_controllen bytes; all outlive the
    // call.
    let n = unsafe { syscall!(recvmsg(fd, &mut msg, CMSG_CLOEXEC)) }? as usize;

    const NONE: Option<OwnedFd> = None;
    let mut received = [NONE; MAX_FDS];
    let mut count = 0;
    let mut overflow = false;
    if room > 0 {
        // SAFETY: after recvmsg, msg_control/msg_controllen describe the control messages the
        // kernel wrote into `control`; CMSG_FIRSTHDR/CMSG_NXTHDR stay within that range and
        // return null at its end. For an SCM_RIGHTS message, cmsg_len covers a header plus an
        // array of ints inside the buffer; each int is an fd the kernel just installed for us,
        // which nobody else owns, so wrapping it in an OwnedFd is sound (and required, so
        // that it is closed on every path).
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                    let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                    let len = ((*cmsg).cmsg_len as usize).saturating_sub(cmsg_len(0)) / FD_SIZE;
                    for i in 0..len {
                        let owned = OwnedFd::from_raw_fd(ptr::read_unaligned(data.add(i)));
                        if count < room {
                            received[count] = Some(owned);
                            count += 1;
                        } else {
                            // Cannot happen with the length we gave; closed, never leaked.
                            drop(owned);
                            overflow = true;
                        }
                    }
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
        }
    }
    if overflow || msg.msg_flags & libc::MSG_CTRUNC != 0 {
        // `received` drops here, closing every fd we got.
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the message carried more file descriptors than the receive buffer had room for \
             (MSG_CTRUNC); all of its fds were closed and its data bytes were consumed",
        ));
    }
    #[cfg(target_vendor = "apple")]
    for fd in received.iter().take(count).flatten() {
        // On failure `received` drops here, closing every fd we got.
        super::fd::set_cloexec(fd.as_raw_fd())?;
    }
    for (slot, fd) in fds.iter_mut().zip(received.iter_mut().take(count)) {
        *slot = fd.take();
    }
    Ok((n, count))
}
