//! Batched UDP: many datagrams per syscall, and segmentation offload.
//!
//! A server that handles one datagram per `sendto`/`recvfrom` spends most of its time
//! entering and leaving the kernel. [`UdpSocket::recv_many`] and [`UdpSocket::send_many`]
//! move up to [`MAX_BATCH`] datagrams per call (`recvmmsg(2)`/`sendmmsg(2)`).
//!
//! **No allocation.** The caller provides every buffer: one payload buffer per datagram (any
//! `AsMut<[u8]>` to receive into, any `AsRef<[u8]>` to send) and one [`RecvMeta`] slot per
//! datagram for the length, sender and flags of what arrived. The kernel-facing arrays
//! (message headers, `iovec`s, socket addresses, control buffers) are fixed-size arrays on
//! the stack of the call, about 8 KiB, so steady-state batched IO makes no heap allocation.
//!
//! **Segmentation offload** (Linux only; probed at run time there):
//! [`send_gso`](UdpSocket::send_gso) hands the kernel one buffer holding many equal-sized
//! datagrams, which it splits as late as possible (`UDP_SEGMENT`, Linux 4.18+).
//! [`set_gro`](UdpSocket::set_gro) lets the kernel coalesce consecutive datagrams of one
//! flow into a single receive (`UDP_GRO`, Linux 5.0+); [`RecvMeta::segment_size`] then tells
//! where they split, and [`RecvMeta::segments`] splits them.
//!
//! # Portability
//!
//! The same API everywhere. On Linux one call is one `recvmmsg`/`sendmmsg`; elsewhere it is a
//! loop of single `recvmsg`/`sendmsg` calls with the same results (a receive error after
//! some datagrams ends the call, and is consumed by it there), and segmentation offload is
//! `Unsupported` ([`gso_supported`](UdpSocket::gso_supported) is `false`). Batch sizes above
//! [`MAX_BATCH`] are cut to it: call again for the rest.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU8, Ordering};

use socket2::Domain;

use super::{new_socket, UdpSocket};
use crate::sys::mmsg;
use crate::try_io::would_block;

/// The most datagrams one batched call moves: [`recv_many`](UdpSocket::recv_many) and
/// [`send_many`](UdpSocket::send_many) handle at most this many entries per call and leave
/// the rest for the next call.
pub const MAX_BATCH: usize = mmsg::MAX_BATCH;

/// What [`UdpSocket::recv_many`] learned about one received datagram.
///
/// Make an array of empty slots with [`RecvMeta::new`] (or `Default`) once and reuse it.
///
/// # Examples
///
/// ```
/// use ferrio::udp::RecvMeta;
///
/// let meta = [RecvMeta::new(); 32];
/// assert_eq!(meta[0].len, 0);
/// assert!(!meta[0].truncated);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RecvMeta {
    /// Bytes written into the datagram's buffer (0 for an empty datagram). With GRO this
    /// covers all coalesced datagrams.
    pub len: usize,
    /// The sender.
    pub addr: SocketAddr,
    /// The datagram did not fit its buffer (`MSG_TRUNC`): the buffer holds the first `len`
    /// bytes and the rest was discarded.
    pub truncated: bool,
    /// `Some(size)` when GRO ([`UdpSocket::set_gro`]) coalesced several datagrams into this
    /// buffer: each is `size` bytes except possibly the last, which is shorter. `None` for
    /// a single datagram.
    pub segment_size: Option<usize>,
}

impl RecvMeta {
    /// An empty slot: length 0, address `0.0.0.0:0`, not truncated, no segment size.
    pub const fn new() -> RecvMeta {
        RecvMeta {
            len: 0,
            addr: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
            truncated: false,
            segment_size: None,
        }
    }

    /// Splits the received bytes `buf[..self.len]` into the original datagrams: one slice
    /// per GRO segment, or the whole datagram (possibly empty) when there is no segment
    /// size. Pass the buffer this slot was filled for.
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than `self.len` (the buffer is not the one this slot describes).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::udp::RecvMeta;
    ///
    /// let mut meta = RecvMeta::new();
    /// meta.len = 5;
    /// meta.segment_size = Some(2);
    /// let parts: Vec<&[u8]> = meta.segments(b"abcdeXYZ").collect();
    /// assert_eq!(parts, [&b"ab"[..], b"cd", b"e"]);
    /// ```
    pub fn segments<'b>(&self, buf: &'b [u8]) -> Segments<'b> {
        Segments {
            rest: &buf[..self.len],
            size: self.segment_size.unwrap_or(self.len).max(1),
            empty_pending: self.len == 0,
        }
    }
}

impl Default for RecvMeta {
    fn default() -> RecvMeta {
        RecvMeta::new()
    }
}

/// Iterator over the datagrams of one receive; see [`RecvMeta::segments`].
#[derive(Debug, Clone)]
pub struct Segments<'b> {
    rest: &'b [u8],
    size: usize,
    /// An empty datagram is one (empty) segment, yielded once.
    empty_pending: bool,
}

impl<'b> Iterator for Segments<'b> {
    type Item = &'b [u8];

    fn next(&mut self) -> Option<&'b [u8]> {
        if self.empty_pending {
            self.empty_pending = false;
            return Some(self.rest);
        }
        if self.rest.is_empty() {
            return None;
        }
        let (head, tail) = self.rest.split_at(self.size.min(self.rest.len()));
        self.rest = tail;
        Some(head)
    }
}

/// Cached GSO probe result: unknown, unsupported or supported.
static GSO_SUPPORT: AtomicU8 = AtomicU8::new(GSO_UNKNOWN);
const GSO_UNKNOWN: u8 = 0;
const GSO_NO: u8 = 1;
const GSO_YES: u8 = 2;

/// The number of segments every GSO-capable kernel accepts in one send (`UDP_MAX_SEGMENTS`
/// was 64 when `UDP_SEGMENT` appeared; newer kernels may allow more).
const GSO_MAX_SEGMENTS: usize = 64;

impl UdpSocket {
    /// Receives up to `min(bufs.len(), meta.len(), MAX_BATCH)` queued datagrams in one
    /// `recvmmsg` call: datagram `i` goes into `bufs[i]` and its length, sender and flags into
    /// `meta[i]`.
    ///
    /// Returns `Ok(Some(n))` with `1 <= n` datagrams received (`bufs[..n]`/`meta[..n]` are
    /// filled, the rest untouched), `Ok(None)` if none is queued, and `Ok(Some(0))` without a
    /// syscall for an empty batch. A datagram longer than its buffer is cut to the buffer's
    /// length and flagged [`truncated`](RecvMeta::truncated); an empty datagram has `len 0`
    /// and is not truncated. Interrupted calls are retried.
    ///
    /// Like every non-blocking read, drain until `Ok(None)` after an edge-triggered readable
    /// event. With [GRO](Self::set_gro) on, give each buffer room for 64 KiB, or coalesced
    /// datagrams are truncated.
    ///
    /// # Errors
    ///
    /// The OS error of `recvmmsg` (for example `ECONNREFUSED` from an earlier send). If an
    /// error happens after some datagrams were received, those are returned and the kernel
    /// reports the error on the next call. `InvalidData` if the kernel reported a sender that
    /// is not an IP address (cannot happen for a UDP socket).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::udp::{RecvMeta, UdpSocket};
    ///
    /// let a = UdpSocket::bound(&"127.0.0.1:0".parse().unwrap())?;
    /// let b = UdpSocket::bound(&"127.0.0.1:0".parse().unwrap())?;
    /// let to = b.local_addr()?;
    /// assert_eq!(a.send_many(&[(&b"one"[..], to), (b"", to), (b"three", to)])?, Some(3));
    ///
    /// let mut bufs = [[0u8; 4]; 8];
    /// let mut meta = [RecvMeta::new(); 8];
    /// let mut got = 0;
    /// // Loopback delivery is immediate, but in general wait for a readable event first.
    /// while got < 3 {
    ///     got += b.recv_many(&mut bufs[got..], &mut meta[got..])?.unwrap_or(0);
    /// }
    /// assert_eq!(&bufs[0][..meta[0].len], b"one");
    /// assert_eq!((meta[1].len, meta[1].truncated), (0, false));
    /// assert_eq!((&bufs[2][..meta[2].len], meta[2].truncated), (&b"thre"[..], true));
    /// assert_eq!(meta[0].addr, a.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[doc(alias = "recvmmsg")]
    pub fn recv_many<B: AsMut<[u8]>>(
        &self,
        bufs: &mut [B],
        meta: &mut [RecvMeta],
    ) -> io::Result<Option<usize>> {
        let count = bufs.len().min(meta.len());
        if count == 0 {
            return Ok(Some(0));
        }
        let bufs = &mut bufs[..count];
        would_block(|| {
            self.io.do_read(|s| {
                mmsg::recv_many(s.as_raw_fd(), bufs, |i, got| {
                    meta[i] = RecvMeta {
                        len: got.len,
                        addr: got.addr,
                        truncated: got.truncated,
                        segment_size: got.segment_size,
                    };
                })
            })
        })
    }

    /// Sends up to `MAX_BATCH` datagrams, `(payload, destination)` each, in one `sendmmsg`
    /// call.
    ///
    /// Returns `Ok(Some(n))`: the first `n` datagrams were sent, each whole; the rest were
    /// not (a partial batch happens when the send buffer fills up, when `msgs` is longer
    /// than [`MAX_BATCH`], or when datagram `n` failed, in which case sending it again
    /// reports the error). `Ok(None)` if not even the first one fit in the send buffer;
    /// `Ok(Some(0))` without a syscall for an empty batch. Interrupted calls are retried.
    ///
    /// # Errors
    ///
    /// The error of the first datagram when none was sent: `EMSGSIZE` for a datagram too
    /// large, `EINVAL`/`EAFNOSUPPORT` for an IPv6 destination on an IPv4 socket,
    /// `ECONNREFUSED` from an earlier datagram's ICMP error, or another OS error.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::udp::UdpSocket;
    ///
    /// let a = UdpSocket::bound(&"127.0.0.1:0".parse().unwrap())?;
    /// let b = UdpSocket::bound(&"127.0.0.1:0".parse().unwrap())?;
    /// let to = b.local_addr()?;
    /// let payloads: Vec<[u8; 8]> = (0..100u64).map(u64::to_le_bytes).collect();
    /// let msgs: Vec<([u8; 8], _)> = payloads.iter().map(|p| (*p, to)).collect();
    /// let mut sent = 0;
    /// while sent < msgs.len() {
    ///     // A full send buffer (None) would mean: wait for a writable event.
    ///     sent += a.send_many(&msgs[sent..])?.unwrap_or(0);
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[doc(alias = "sendmmsg")]
    pub fn send_many<B: AsRef<[u8]>>(&self, msgs: &[(B, SocketAddr)]) -> io::Result<Option<usize>> {
        if msgs.is_empty() {
            return Ok(Some(0));
        }
        would_block(|| {
            self.io.do_write(|s| {
                mmsg::send_many(s.as_raw_fd(), msgs.len(), |i| {
                    (msgs[i].0.as_ref(), Some(msgs[i].1))
                })
            })
        })
    }

    /// As [`send_many`](Self::send_many), to the [connected](Self::connect) peer: sends up to
    /// `MAX_BATCH` payloads in one `sendmmsg` call.
    ///
    /// # Errors
    ///
    /// As for `send_many`; `EDESTADDRREQ` if the socket is not connected.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::udp::UdpSocket;
    ///
    /// let a = UdpSocket::bound(&"127.0.0.1:0".parse().unwrap())?;
    /// let b = UdpSocket::bound(&"127.0.0.1:0".parse().unwrap())?;
    /// a.connect(&b.local_addr()?)?;
    /// assert_eq!(a.send_many_connected(&[b"x", b"y"])?, Some(2));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[doc(alias = "sendmmsg")]
    pub fn send_many_connected<B: AsRef<[u8]>>(&self, bufs: &[B]) -> io::Result<Option<usize>> {
        if bufs.is_empty() {
            return Ok(Some(0));
        }
        would_block(|| {
            self.io.do_write(|s| {
                mmsg::send_many(s.as_raw_fd(), bufs.len(), |i| (bufs[i].as_ref(), None))
            })
        })
    }

    /// Whether this kernel supports UDP generic segmentation offload (`UDP_SEGMENT`, Linux
    /// 4.18+), needed by [`send_gso`](Self::send_gso).
    ///
    /// The first call probes by setting `UDP_SEGMENT` on a throw-away socket; the answer is
    /// cached for the process (unless the probe socket could not be created, then `false`
    /// is returned and the next call probes again).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::udp::UdpSocket;
    ///
    /// if UdpSocket::gso_supported() {
    ///     assert!(UdpSocket::max_gso_segments() > 1);
    /// } else {
    ///     assert_eq!(UdpSocket::max_gso_segments(), 1);
    /// }
    /// ```
    #[doc(alias = "UDP_SEGMENT")]
    pub fn gso_supported() -> bool {
        match GSO_SUPPORT.load(Ordering::Relaxed) {
            GSO_YES => return true,
            GSO_NO => return false,
            _ => {}
        }
        let Ok(probe) = new_socket(Domain::IPV4) else {
            return false;
        };
        let supported = mmsg::set_segment_size(probe.as_raw_fd(), 1200).is_ok();
        GSO_SUPPORT.store(if supported { GSO_YES } else { GSO_NO }, Ordering::Relaxed);
        supported
    }

    /// How many datagrams one [`send_gso`](Self::send_gso) may carry: 64 (the limit of every
    /// kernel with `UDP_SEGMENT`; newer kernels may accept more) if GSO is supported, else 1.
    pub fn max_gso_segments() -> usize {
        if UdpSocket::gso_supported() {
            GSO_MAX_SEGMENTS
        } else {
            1
        }
    }

    /// Sends `buf` to `target` as consecutive datagrams of `segment_size` bytes each (the
    /// last one may be shorter) in one `sendmsg` call, letting the kernel (or the NIC) do the
    /// splitting (UDP GSO, a `UDP_SEGMENT` control message).
    ///
    /// Returns `Ok(Some(buf.len()))` when all of them were sent, `Ok(None)` if the send
    /// buffer is full (none was sent). A `buf` no longer than `segment_size` is sent as one
    /// ordinary datagram. Interrupted calls are retried.
    ///
    /// A receiver sees separate datagrams, unless it turned on [GRO](Self::set_gro), in which
    /// case it may get them coalesced with [`RecvMeta::segment_size`] set.
    ///
    /// # Errors
    ///
    /// * `Unsupported` if the kernel has no UDP GSO ([`gso_supported`](Self::gso_supported)
    ///   is `false`).
    /// * `InvalidInput` for a `segment_size` of 0.
    /// * `EINVAL` (`InvalidInput`) for more than [`max_gso_segments`](Self::max_gso_segments)
    ///   segments on kernels that allow only that many, for a total over 65,507 bytes, or
    ///   for a segment larger than the route's MTU.
    /// * `EIO` if the outgoing device cannot checksum segmented packets; fall back to
    ///   [`send_many`](Self::send_many) for that destination.
    /// * Any error of [`send_to`](Self::send_to).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::udp::{RecvMeta, UdpSocket};
    ///
    /// let a = UdpSocket::bound(&"127.0.0.1:0".parse().unwrap())?;
    /// let b = UdpSocket::bound(&"127.0.0.1:0".parse().unwrap())?;
    /// if UdpSocket::gso_supported() {
    ///     // Three datagrams: 4, 4 and 2 bytes.
    ///     assert_eq!(a.send_gso(b"aaaabbbbcc", 4, &b.local_addr()?)?, Some(10));
    ///     let mut bufs = [[0u8; 16]; 4];
    ///     let mut meta = [RecvMeta::new(); 4];
    ///     let mut got = 0;
    ///     while got < 3 {
    ///         got += b.recv_many(&mut bufs[got..], &mut meta[got..])?.unwrap_or(0);
    ///     }
    ///     assert_eq!(&bufs[2][..meta[2].len], b"cc");
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[doc(alias = "UDP_SEGMENT")]
    pub fn send_gso(
        &self,
        buf: &[u8],
        segment_size: u16,
        target: &SocketAddr,
    ) -> io::Result<Option<usize>> {
        if !UdpSocket::gso_supported() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "UDP segmentation offload (UDP_SEGMENT) is not supported by this kernel \
                 (it needs Linux 4.18 or later); send the datagrams with send_many instead",
            ));
        }
        if segment_size == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "send_gso needs a segment size of at least 1 byte",
            ));
        }
        would_block(|| {
            self.io
                .do_write(|s| mmsg::send_segmented(s.as_raw_fd(), buf, segment_size, Some(target)))
        })
    }

    /// Turns UDP generic receive offload (`UDP_GRO`) on or off for this socket. While on,
    /// one receive may return several consecutive datagrams of one sender coalesced into one
    /// buffer, with [`RecvMeta::segment_size`] telling their size; split them with
    /// [`RecvMeta::segments`].
    ///
    /// # Errors
    ///
    /// `Unsupported` if the kernel has no `UDP_GRO` (before Linux 5.0), or another OS error.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::udp::UdpSocket;
    ///
    /// let socket = UdpSocket::bound(&"127.0.0.1:0".parse().unwrap())?;
    /// match socket.set_gro(true) {
    ///     Ok(()) => {} // give recv_many 64 KiB buffers from now on
    ///     Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {}
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[doc(alias = "UDP_GRO")]
    pub fn set_gro(&self, on: bool) -> io::Result<()> {
        mmsg::set_gro(self.io.raw_fd(), on).map_err(|e| {
            if e.raw_os_error() == Some(libc::ENOPROTOOPT) {
                io::Error::new(
                    io::ErrorKind::Unsupported,
                    "UDP receive offload (UDP_GRO) is not supported by this kernel \
                     (it needs Linux 5.0 or later)",
                )
            } else {
                e
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(len: usize, segment_size: Option<usize>) -> RecvMeta {
        RecvMeta {
            len,
            segment_size,
            ..RecvMeta::new()
        }
    }

    #[test]
    fn segments_of_single_and_empty_datagrams() {
        let buf = [7u8; 10];
        let one: Vec<&[u8]> = meta(3, None).segments(&buf).collect();
        assert_eq!(one, [&buf[..3]]);
        let empty: Vec<&[u8]> = meta(0, None).segments(&buf).collect();
        assert_eq!(empty, [&buf[..0]]);
    }

    #[test]
    fn segments_split_evenly_and_with_a_short_tail() {
        let buf: Vec<u8> = (0..10).collect();
        let even: Vec<&[u8]> = meta(10, Some(5)).segments(&buf).collect();
        assert_eq!(even, [&buf[..5], &buf[5..]]);
        let tail: Vec<&[u8]> = meta(10, Some(4)).segments(&buf).collect();
        assert_eq!(tail, [&buf[..4], &buf[4..8], &buf[8..]]);
    }

    #[test]
    #[should_panic]
    fn segments_panics_on_a_short_buffer() {
        let _ = meta(10, None).segments(&[0u8; 4]);
    }
}
