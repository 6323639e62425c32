//! [`UnixDatagram`]: a non-blocking Unix-domain datagram socket.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::net;
use std::path::Path;

use socket2::{SockRef, Type};

use super::{new_pair, new_socket, path_addr, SocketAddr};
use crate::convert::{new_io, SourceIo};
use crate::sys;
use crate::try_io::would_block;

/// A non-blocking Unix-domain datagram socket.
///
/// `send_to`/`recv_from`/`send`/`recv` return `Ok(None)` when the operation would block.
/// Datagrams are reliable and ordered on Unix sockets; a full receiver makes the sender block
/// (`Ok(None)`) rather than drop. An empty datagram is a real datagram: `recv` returns
/// `Some(0)` for it. Sends use `MSG_NOSIGNAL`, so they never raise `SIGPIPE`.
///
/// # Examples
///
/// ```
/// use ferrio::unix::UnixDatagram;
///
/// let (a, b) = UnixDatagram::pair()?;
/// assert_eq!(a.send(b"ping")?, Some(4));
/// let mut buf = [0u8; 16];
/// // A pair delivers at once; in general wait for a readable event first.
/// assert_eq!(b.recv(&mut buf)?, Some(4));
/// assert_eq!(&buf[..4], b"ping");
/// assert_eq!(b.recv(&mut buf)?, None); // nothing more: would block
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixDatagram {
    io: SourceIo<net::UnixDatagram>,
}

impl_evented_via_io_source!(UnixDatagram);
impl_fd_conversions!(UnixDatagram, net::UnixDatagram);
impl_std_conversions!(UnixDatagram, net::UnixDatagram);

impl UnixDatagram {
    /// A socket bound to `path` (creating the socket file).
    ///
    /// # Errors
    ///
    /// * `InvalidInput` if `path` does not fit in `sockaddr_un` (107 bytes on Linux, 103 on macOS and the BSDs), is empty
    ///   or contains a NUL byte.
    /// * `AddrInUse` if the path exists, or another OS error.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let addr = path_addr(path.as_ref())?;
        let socket = new_socket(Type::DGRAM)?;
        socket.bind(&addr)?;
        Ok(UnixDatagram::wrap(socket.into()))
    }

    /// A socket bound to no address. It can send (to a path, or after
    /// [`connect`](Self::connect)) and receive replies on a connected pair, but nobody can
    /// address a datagram to it by name.
    ///
    /// # Errors
    ///
    /// The OS error of `socket`.
    pub fn unbound() -> io::Result<UnixDatagram> {
        Ok(UnixDatagram::wrap(new_socket(Type::DGRAM)?.into()))
    }

    /// A connected pair of unnamed sockets (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// The OS error (for example `EMFILE`).
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = new_pair(Type::DGRAM)?;
        Ok((UnixDatagram::wrap(a.into()), UnixDatagram::wrap(b.into())))
    }

    /// Wraps a std socket, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// The OS error of setting `O_NONBLOCK`.
    pub fn from_std(socket: net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        Ok(UnixDatagram::wrap(socket))
    }

    fn wrap(socket: net::UnixDatagram) -> UnixDatagram {
        UnixDatagram { io: new_io(socket) }
    }

    /// Connects the socket to the socket bound at `path`: [`send`](Self::send) then goes there,
    /// and only datagrams from there are received.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a path that does not fit (see [`bind`](Self::bind)), `NotFound` if
    /// nothing is bound there, `ConnectionRefused`, or another OS error.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let addr = path_addr(path.as_ref())?;
        SockRef::from(self.io.inner()).connect(&addr)
    }

    /// Sends one datagram to the socket bound at `path`; `Ok(None)` if it would block (the
    /// receiver's queue is full).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a path that does not fit (see [`bind`](Self::bind)), `NotFound`,
    /// `ConnectionRefused`, or another OS error.
    pub fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<Option<usize>> {
        let addr = path_addr(path.as_ref())?;
        would_block(|| {
            self.io.do_write(|s| {
                SockRef::from(s).send_to_with_flags(buf, &addr, crate::sys::fd::NOSIGNAL)
            })
        })
    }

    /// Receives one datagram: `Ok(Some((len, sender)))`, or `Ok(None)` if none is queued.
    /// A datagram longer than `buf` is truncated to it (the rest is discarded).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<Option<(usize, SocketAddr)>> {
        would_block(|| self.io.do_read(|s| s.recv_from(buf)))
    }

    /// Sends one datagram to the connected peer; `Ok(None)` if it would block.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the socket is not connected, `ConnectionRefused` if the peer is
    /// gone, `BrokenPipe` after `shutdown(Write)` (never `SIGPIPE`), or another OS error.
    pub fn send(&self, buf: &[u8]) -> io::Result<Option<usize>> {
        would_block(|| self.io.do_write(|s| sys::fd::send(s.as_raw_fd(), buf)))
    }

    /// Receives one datagram: `Ok(Some(len))`, or `Ok(None)` if none is queued.
    /// A datagram longer than `buf` is truncated to it.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        would_block(|| self.io.do_read(|s| s.recv(buf)))
    }

    /// The local address (unnamed unless bound).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the socket is not connected, or another OS error.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner().peer_addr()
    }

    /// A new, unregistered handle to the same socket (a `dup`, close-on-exec).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn try_clone(&self) -> io::Result<UnixDatagram> {
        self.io
            .try_clone_with(|inner| inner.try_clone().map(crate::sys::detach::Detachable::new))
            .map(|io| UnixDatagram { io })
    }

    /// Shuts down the read side, the write side, or both.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.inner().shutdown(how)
    }

    /// Takes the pending socket error (`SO_ERROR`), clearing it: `Ok(None)` if there is none
    /// (std's `take_error`).
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt` itself.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.inner().take_error()
    }

    /// Takes the pending socket error, mio 0.5's way: `Err` with the pending error (which it
    /// clears), `Ok(())` if there is none. [`take_error`](Self::take_error) is the same as an
    /// `Option`.
    ///
    /// # Errors
    ///
    /// The pending socket error, or the OS error of `getsockopt` itself.
    pub fn take_socket_error(&self) -> io::Result<()> {
        crate::net::pending_error(self.take_error())
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.inner().fmt(f)
    }
}
