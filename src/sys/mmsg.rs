//! Batched UDP IO: `sendmmsg`/`recvmmsg`, and UDP segmentation offload (`UDP_SEGMENT` /
//! `UDP_GRO`).
//!
//! One `sendmmsg`/`recvmmsg` call moves up to [`MAX_BATCH`] datagrams. Every kernel-facing
//! array of a call (the `mmsghdr`s, one `iovec` per datagram, one socket-address slot per
//! datagram and one small control buffer per datagram) is a fixed-size array on the stack,
//! so no call allocates. Together they take about 8 KiB of stack.
//!
//! Addresses are encoded and decoded here, by hand, into a 28-byte union of `sockaddr_in` and
//! `sockaddr_in6` (the largest address a UDP socket sees), instead of a 128-byte
//! `sockaddr_storage`: the arrays stay small and there is nothing to convert twice. Like std
//! and socket2, the port and IPv4 address are stored big-endian and the IPv6 flow info and
//! scope id as they are.
//!
//! Segmentation offload (Linux 4.18+ for `UDP_SEGMENT`, 5.0+ for `UDP_GRO`): a `UDP_SEGMENT`
//! control message (`SOL_UDP`, a `u16` segment size) on `sendmsg` makes the kernel split one
//! large buffer into equal datagrams; with the `UDP_GRO` socket option on, a receive may
//! return several coalesced datagrams of one sender at once, and a `UDP_GRO` control
//! message (an `int`) then carries their size.
//!
//! Man pages: `sendmmsg(2)`, `recvmmsg(2)`, `recvmsg(2)`, `cmsg(3)`, `udp(7)`.
//!
//! # Portability
//!
//! `sendmmsg`/`recvmmsg` and segmentation offload are used on Linux. Elsewhere the same
//! functions loop over single `sendmsg`/`recvmsg` calls (one syscall per datagram, the same
//! results: how many were moved, from the first, and the first call's error if none was),
//! and segmentation offload is `Unsupported` (`gso_supported()` is false). The one difference
//! of the loop: a receive error after some datagrams (an ICMP error queued on the socket) is
//! consumed by the call that stops there, where Linux keeps it for the next call.

use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;
use std::ptr;

/// The most datagrams one `sendmmsg`/`recvmmsg` call of ferrio moves (the kernel's own cap,
/// `UIO_MAXIOV`, is 1024; 64 keeps the per-call stack arrays near 8 KiB).
pub(crate) const MAX_BATCH: usize = 64;

/// `UDP_SEGMENT` from `<linux/udp.h>`: the GSO segment size, as a socket option or a
/// `SOL_UDP` control message on send.
#[cfg(target_os = "linux")]
const UDP_SEGMENT: libc::c_int = 103;

/// `UDP_GRO` from `<linux/udp.h>`: the receive-coalescing socket option, and the control
/// message that reports the segment size of a coalesced receive.
#[cfg(target_os = "linux")]
const UDP_GRO: libc::c_int = 104;

/// Flags for every batched call: never raise `SIGPIPE`, and never block even if someone made
/// the fd blocking behind our back (a blocking `recvmmsg` would wait for a full batch).
const FLAGS: libc::c_int = super::fd::NOSIGNAL | libc::MSG_DONTWAIT;

/// A socket address as the kernel reads and writes it for an IP socket.
#[repr(C)]
#[derive(Clone, Copy)]
union RawAddr {
    v4: libc::sockaddr_in,
    v6: libc::sockaddr_in6,
}

impl RawAddr {
    /// An all-zero address: every byte initialised (the union is exactly as large as its
    /// `sockaddr_in6` variant, which has no padding).
    // SAFETY: all-zero is a valid value of both variants (integers and byte arrays).
    const ZERO: RawAddr = unsafe { mem::zeroed() };

    /// Encodes `addr`, returning the slot and the length to pass as `msg_namelen`. (Fields
    /// are set one by one: the BSDs' addresses start with a length byte that Linux's lack.)
    fn encode(addr: &SocketAddr) -> (RawAddr, libc::socklen_t) {
        let mut raw = RawAddr::ZERO;
        match addr {
            SocketAddr::V4(a) => {
                // SAFETY: every byte of the union is initialised and every bit pattern is a
                // valid `sockaddr_in`.
                let v4 = unsafe { &mut raw.v4 };
                v4.sin_family = libc::AF_INET as libc::sa_family_t;
                v4.sin_port = a.port().to_be();
                v4.sin_addr.s_addr = u32::from(*a.ip()).to_be();
                let len = mem::size_of::<libc::sockaddr_in>();
                #[cfg(not(any(target_os = "linux", target_os = "android")))]
                {
                    v4.sin_len = len as u8;
                }
                (raw, len as libc::socklen_t)
            }
            SocketAddr::V6(a) => {
                // SAFETY: as above, for `sockaddr_in6`.
                let v6 = unsafe { &mut raw.v6 };
                v6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                v6.sin6_port = a.port().to_be();
                v6.sin6_flowinfo = a.flowinfo();
                v6.sin6_addr.s6_addr = a.ip().octets();
                v6.sin6_scope_id = a.scope_id();
                let len = mem::size_of::<libc::sockaddr_in6>();
                #[cfg(not(any(target_os = "linux", target_os = "android")))]
                {
                    v6.sin6_len = len as u8;
                }
                (raw, len as libc::socklen_t)
            }
        }
    }

    /// Decodes an address the kernel wrote, `len` bytes long; `None` for anything but a
    /// complete IPv4 or IPv6 address.
    fn decode(&self, len: libc::socklen_t) -> Option<SocketAddr> {
        let len = len as usize;
        // SAFETY: every byte of the union is initialised (it starts as `ZERO` and the kernel
        // only overwrites bytes), both variants are plain integers and byte arrays for which
        // every bit pattern is valid, and the family field sits at offset 0 in both.
        let family = unsafe { self.v4.sin_family } as libc::c_int;
        match family {
            libc::AF_INET if len >= mem::size_of::<libc::sockaddr_in>() => {
                // SAFETY: as above.
                let a = unsafe { self.v4 };
                let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
                Some(SocketAddrV4::new(ip, u16::from_be(a.sin_port)).into())
            }
            libc::AF_INET6 if len >= mem::size_of::<libc::sockaddr_in6>() => {
                // SAFETY: as above.
                let a = unsafe { self.v6 };
                let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
                let port = u16::from_be(a.sin6_port);
                Some(SocketAddrV6::new(ip, port, a.sin6_flowinfo, a.sin6_scope_id).into())
            }
            _ => None,
        }
    }
}

/// `CMSG_SPACE(sizeof(int))`: room for one `UDP_GRO` control message per received datagram.
#[cfg(target_os = "linux")]
// SAFETY: CMSG_SPACE only does arithmetic on its argument.
const RECV_CONTROL_LEN: usize =
    unsafe { libc::CMSG_SPACE(mem::size_of::<libc::c_int>() as libc::c_uint) } as usize;

/// `CMSG_SPACE(sizeof(u16))`: room for one `UDP_SEGMENT` control message.
#[cfg(target_os = "linux")]
// SAFETY: CMSG_SPACE only does arithmetic on its argument.
const GSO_CONTROL_LEN: usize =
    unsafe { libc::CMSG_SPACE(mem::size_of::<u16>() as libc::c_uint) } as usize;

/// A control buffer aligned for `cmsghdr` (whose first field is a `size_t`).
#[cfg(target_os = "linux")]
#[repr(C, align(8))]
#[derive(Clone, Copy)]
struct Control<const LEN: usize>([u8; LEN]);

/// What `recv_many` learned about one received datagram.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Received {
    /// Bytes written into the datagram's buffer.
    pub(crate) len: usize,
    /// The sender.
    pub(crate) addr: SocketAddr,
    /// The datagram was longer than its buffer (`MSG_TRUNC`); the rest was discarded.
    pub(crate) truncated: bool,
    /// With `UDP_GRO` on: the size of each of the coalesced datagrams in the buffer.
    pub(crate) segment_size: Option<usize>,
}

/// `recvmmsg(fd, .., min(bufs.len(), MAX_BATCH), MSG_DONTWAIT, NULL)`: receives up to that
/// many queued datagrams, datagram `i` into `bufs[i]`, and calls `each(i, info)` for each
/// received one, in order. Returns how many were received (at least 1 on success).
///
/// An empty `bufs` makes no syscall and returns 0.
///
/// # Errors
///
/// The OS error of `recvmmsg` (`WouldBlock` when nothing is queued), or `InvalidData` if the
/// kernel reported a sender that is not an IP address (the datagrams are then consumed).
#[doc(alias = "recvmmsg")]
#[cfg(target_os = "linux")]
pub(crate) fn recv_many<B: AsMut<[u8]>>(
    fd: RawFd,
    bufs: &mut [B],
    mut each: impl FnMut(usize, Received),
) -> io::Result<usize> {
    let count = bufs.len().min(MAX_BATCH);
    if count == 0 {
        return Ok(0);
    }
    let mut iovs = [libc::iovec {
        iov_base: ptr::null_mut(),
        iov_len: 0,
    }; MAX_BATCH];
    let mut addrs = [RawAddr::ZERO; MAX_BATCH];
    let mut controls = [Control([0u8; RECV_CONTROL_LEN]); MAX_BATCH];
    // SAFETY: an all-zero mmsghdr is a valid empty message (null pointers, zero lengths).
    let mut hdrs: [libc::mmsghdr; MAX_BATCH] = unsafe { mem::zeroed() };
    for (i, buf) in bufs[..count].iter_mut().enumerate() {
        let buf = buf.as_mut();
        iovs[i].iov_base = buf.as_mut_ptr().cast();
        iovs[i].iov_len = buf.len();
        let msg = &mut hdrs[i].msg_hdr;
        msg.msg_name = ptr::addr_of_mut!(addrs[i]).cast();
        msg.msg_namelen = mem::size_of::<RawAddr>() as libc::socklen_t;
        msg.msg_iov = ptr::addr_of_mut!(iovs[i]);
        msg.msg_iovlen = 1;
        msg.msg_control = controls[i].0.as_mut_ptr().cast();
        msg.msg_controllen = RECV_CONTROL_LEN as _;
    }
    // SAFETY: hdrs[..count] each point at one iovec describing a distinct writable buffer of
    // `bufs` (exclusively borrowed for this call), at an address slot of
    // size_of::<RawAddr>() bytes and at a control buffer of RECV_CONTROL_LEN bytes; all of
    // them live on this stack frame or in `bufs` and outlive the call. A null timeout is
    // allowed. The flags and vlen types differ between libcs, hence `as _`.
    let received = unsafe {
        syscall!(recvmmsg(
            fd,
            hdrs.as_mut_ptr(),
            count as libc::c_uint,
            FLAGS as _,
            ptr::null_mut()
        ))
    }? as usize;

    let mut bad_addr = false;
    for (i, hdr) in hdrs[..received.min(count)].iter().enumerate() {
        let msg = &hdr.msg_hdr;
        let Some(addr) = addrs[i].decode(msg.msg_namelen) else {
            bad_addr = true;
            continue;
        };
        each(
            i,
            Received {
                len: hdr.msg_len as usize,
                addr,
                truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
                segment_size: gro_segment_size(msg),
            },
        );
    }
    if bad_addr {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "recvmmsg reported a sender that is not an IPv4 or IPv6 address",
        ));
    }
    Ok(received)
}

/// The segment size of a `UDP_GRO` control message in a received message, if there is one.
#[cfg(target_os = "linux")]
fn gro_segment_size(msg: &libc::msghdr) -> Option<usize> {
    let mut size = None;
    // SAFETY: after recvmmsg, msg_control/msg_controllen describe the control messages the
    // kernel wrote into this message's control buffer (a live stack array);
    // CMSG_FIRSTHDR/CMSG_NXTHDR stay within that range and return null at its end. A
    // UDP_GRO message carries one int, read unaligned since CMSG_DATA promises no alignment.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_UDP
                && (*cmsg).cmsg_type == UDP_GRO
                && (*cmsg).cmsg_len as usize
                    >= libc::CMSG_LEN(mem::size_of::<libc::c_int>() as libc::c_uint) as usize
            {
                let value = ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>());
                size = usize::try_from(value).ok();
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    size
}

/// `sendmmsg(fd, .., min(count, MAX_BATCH), MSG_NOSIGNAL | MSG_DONTWAIT)`: sends datagram `i`
/// with payload and destination `msg(i)` (no destination: the connected peer). Returns how
/// many were sent, from the first; the rest were not.
///
/// `count == 0` makes no syscall and returns 0.
///
/// # Errors
///
/// The OS error of `sendmmsg`, which the kernel reports only when not even the first
/// datagram was sent (`WouldBlock` when the send buffer is full).
#[doc(alias = "sendmmsg")]
#[cfg(target_os = "linux")]
pub(crate) fn send_many<'a>(
    fd: RawFd,
    count: usize,
    msg: impl Fn(usize) -> (&'a [u8], Option<SocketAddr>),
) -> io::Result<usize> {
    let count = count.min(MAX_BATCH);
    if count == 0 {
        return Ok(0);
    }
    let mut iovs = [libc::iovec {
        iov_base: ptr::null_mut(),
        iov_len: 0,
    }; MAX_BATCH];
    let mut addrs = [RawAddr::ZERO; MAX_BATCH];
    // SAFETY: an all-zero mmsghdr is a valid empty message (null pointers, zero lengths).
    let mut hdrs: [libc::mmsghdr; MAX_BATCH] = unsafe { mem::zeroed() };
    for i in 0..count {
        let (buf, target) = msg(i);
        // The kernel only reads through this pointer; `*mut` is just iovec's type.
        iovs[i].iov_base = buf.as_ptr() as *mut libc::c_void;
        iovs[i].iov_len = buf.len();
        let hdr = &mut hdrs[i].msg_hdr;
        if let Some(target) = target {
            let (raw, len) = RawAddr::encode(&target);
            addrs[i] = raw;
            hdr.msg_name = ptr::addr_of_mut!(addrs[i]).cast();
            hdr.msg_namelen = len;
        }
        hdr.msg_iov = ptr::addr_of_mut!(iovs[i]);
        hdr.msg_iovlen = 1;
    }
    // SAFETY: hdrs[..count] each point at one iovec describing a readable payload borrowed
    // from the caller for 'a (which outlives this call) and, if addressed, at an encoded
    // address of msg_namelen bytes on this stack frame. The kernel only reads them and
    // writes msg_len. The flags type differs between libcs, hence `as _`.
    let sent = unsafe {
        syscall!(sendmmsg(
            fd,
            hdrs.as_mut_ptr(),
            count as libc::c_uint,
            FLAGS as _
        ))
    }?;
    Ok(sent as usize)
}

/// `sendmsg(fd, [buf], UDP_SEGMENT(segment_size), MSG_NOSIGNAL | MSG_DONTWAIT)`: sends `buf`
/// as consecutive datagrams of `segment_size` bytes (the last may be shorter) in one call.
/// Returns the bytes sent, always `buf.len()`.
///
/// # Errors
///
/// The OS error of `sendmsg`: `WouldBlock`; `EINVAL` for a zero segment size, too many
/// segments or a segment larger than the route's MTU; `EIO` if the outgoing device cannot
/// checksum segmented packets; `ENOPROTOOPT`/`EINVAL` on kernels without `UDP_SEGMENT`.
#[doc(alias = "sendmsg")]
#[doc(alias = "UDP_SEGMENT")]
#[cfg(target_os = "linux")]
pub(crate) fn send_segmented(
    fd: RawFd,
    buf: &[u8],
    segment_size: u16,
    target: Option<&SocketAddr>,
) -> io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: buf.as_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is a valid empty message.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    let mut addr = target.map(RawAddr::encode);
    if let Some((raw, len)) = &mut addr {
        msg.msg_name = ptr::addr_of_mut!(*raw).cast();
        msg.msg_namelen = *len;
    }
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    let mut control = Control([0u8; GSO_CONTROL_LEN]);
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = GSO_CONTROL_LEN as _;
    // SAFETY: msg_control points at GSO_CONTROL_LEN = CMSG_SPACE(2) zeroed, cmsghdr-aligned
    // bytes, so CMSG_FIRSTHDR returns a non-null header inside them with room for the
    // header and a u16 of data, which we fill in (unaligned write: CMSG_DATA promises no
    // alignment).
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_UDP;
        (*cmsg).cmsg_type = UDP_SEGMENT;
        (*cmsg).cmsg_len = libc::CMSG_LEN(mem::size_of::<u16>() as libc::c_uint) as _;
        ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<u16>(), segment_size);
    }
    // SAFETY: msg points at `iov` (describing `buf`, only read by the kernel), at `addr`
    // (msg_namelen bytes) and at `control`; all outlive the call.
    unsafe { syscall!(sendmsg(fd, &msg, FLAGS)) }.map(|n| n as usize)
}

/// `setsockopt(fd, SOL_UDP, UDP_SEGMENT, size)`: the default GSO segment size of every send
/// (0: off). Used to probe for GSO support.
#[doc(alias = "UDP_SEGMENT")]
#[cfg(target_os = "linux")]
pub(crate) fn set_segment_size(fd: RawFd, size: u16) -> io::Result<()> {
    set_udp_option(fd, UDP_SEGMENT, libc::c_int::from(size))
}

/// `setsockopt(fd, SOL_UDP, UDP_GRO, on)`.
#[doc(alias = "UDP_GRO")]
#[cfg(target_os = "linux")]
pub(crate) fn set_gro(fd: RawFd, on: bool) -> io::Result<()> {
    set_udp_option(fd, UDP_GRO, libc::c_int::from(on))
}

#[cfg(target_os = "linux")]
fn set_udp_option(fd: RawFd, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: passes a pointer to a live c_int and its exact size.
    unsafe {
        syscall!(setsockopt(
            fd,
            libc::SOL_UDP,
            name,
            ptr::addr_of!(value).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t
        ))
    }
    .map(drop)
}

/// The error of the segmentation-offload calls where the OS has none.
#[cfg(not(target_os = "linux"))]
fn no_offload(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("UDP {what} offload is Linux-only; send and receive the datagrams one by one"),
    )
}

/// Where `recvmmsg` is not used: up to `min(bufs.len(), MAX_BATCH)` single `recvmsg` calls,
/// stopping at the first that fails (see the module docs); the same results as the Linux
/// version otherwise.
#[cfg(not(target_os = "linux"))]
pub(crate) fn recv_many<B: AsMut<[u8]>>(
    fd: RawFd,
    bufs: &mut [B],
    mut each: impl FnMut(usize, Received),
) -> io::Result<usize> {
    let count = bufs.len().min(MAX_BATCH);
    let mut received = 0;
    let mut bad_addr = false;
    for buf in bufs[..count].iter_mut() {
        let buf = buf.as_mut();
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut addr = RawAddr::ZERO;
        // SAFETY: an all-zero msghdr is a valid empty message.
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        msg.msg_name = ptr::addr_of_mut!(addr).cast();
        msg.msg_namelen = mem::size_of::<RawAddr>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        // SAFETY: msg points at `iov` (describing the writable `buf`, exclusively borrowed)
        // and at `addr` (size_of::<RawAddr>() bytes), both live across the call.
        let res = unsafe { syscall!(recvmsg(fd, &mut msg, FLAGS)) };
        let len = match res {
            Ok(n) => n as usize,
            Err(e) if received == 0 => return Err(e),
            Err(_) => break,
        };
        match addr.decode(msg.msg_namelen) {
            Some(addr) => each(
                received,
                Received {
                    len,
                    addr,
                    truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
                    segment_size: None,
                },
            ),
            None => bad_addr = true,
        }
        received += 1;
    }
    if bad_addr {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "recvmsg reported a sender that is not an IPv4 or IPv6 address",
        ));
    }
    Ok(received)
}

/// Where `sendmmsg` is not used: up to `min(count, MAX_BATCH)` single `sendmsg` calls,
/// stopping at the first that fails; the first call's error if none was sent.
#[cfg(not(target_os = "linux"))]
pub(crate) fn send_many<'a>(
    fd: RawFd,
    count: usize,
    msg: impl Fn(usize) -> (&'a [u8], Option<SocketAddr>),
) -> io::Result<usize> {
    let count = count.min(MAX_BATCH);
    for i in 0..count {
        let (buf, target) = msg(i);
        let mut iov = libc::iovec {
            iov_base: buf.as_ptr() as *mut libc::c_void,
            iov_len: buf.len(),
        };
        // SAFETY: an all-zero msghdr is a valid empty message.
        let mut hdr: libc::msghdr = unsafe { mem::zeroed() };
        let mut addr = target.as_ref().map(RawAddr::encode);
        if let Some((raw, len)) = &mut addr {
            hdr.msg_name = ptr::addr_of_mut!(*raw).cast();
            hdr.msg_namelen = *len;
        }
        hdr.msg_iov = &mut iov;
        hdr.msg_iovlen = 1;
        // SAFETY: hdr points at `iov` (describing `buf`, only read by the kernel) and at
        // `addr` (msg_namelen bytes), both live across the call.
        match unsafe { syscall!(sendmsg(fd, &hdr, FLAGS)) } {
            Ok(_) => {}
            Err(e) if i == 0 => return Err(e),
            Err(_) => return Ok(i),
        }
    }
    Ok(count)
}

/// Segmentation offload is Linux-only: `Unsupported`.
#[cfg(not(target_os = "linux"))]
pub(crate) fn send_segmented(
    _fd: RawFd,
    _buf: &[u8],
    _segment_size: u16,
    _target: Option<&SocketAddr>,
) -> io::Result<usize> {
    Err(no_offload("segmentation (GSO)"))
}

/// Segmentation offload is Linux-only: `Unsupported`.
#[cfg(not(target_os = "linux"))]
pub(crate) fn set_segment_size(_fd: RawFd, _size: u16) -> io::Result<()> {
    Err(no_offload("segmentation (GSO)"))
}

/// Receive offload is Linux-only: `Unsupported`.
#[cfg(not(target_os = "linux"))]
pub(crate) fn set_gro(_fd: RawFd, _on: bool) -> io::Result<()> {
    Err(no_offload("receive (GRO)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_addr_is_a_sockaddr_in6() {
        assert_eq!(
            mem::size_of::<RawAddr>(),
            mem::size_of::<libc::sockaddr_in6>()
        );
        assert!(mem::align_of::<RawAddr>() >= mem::align_of::<libc::sockaddr_in6>());
    }

    #[test]
    fn addresses_round_trip() {
        let addrs: [SocketAddr; 4] = [
            "127.0.0.1:9".parse().unwrap(),
            "255.1.2.3:65535".parse().unwrap(),
            "[::1]:443".parse().unwrap(),
            SocketAddrV6::new("fe80::1".parse().unwrap(), 7, 0x12345, 3).into(),
        ];
        for addr in addrs {
            let (raw, len) = RawAddr::encode(&addr);
            assert_eq!(raw.decode(len), Some(addr));
        }
    }

    #[test]
    fn decode_rejects_short_or_foreign_addresses() {
        let (raw, len) = RawAddr::encode(&"[::1]:1".parse().unwrap());
        assert_eq!(raw.decode(len - 1), None);
        assert_eq!(RawAddr::ZERO.decode(28), None);
    }
}
