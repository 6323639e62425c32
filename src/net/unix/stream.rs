//! [`UnixStream`]: a non-blocking, connected Unix-domain stream socket.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::net;
use std::path::Path;

use socket2::Type;

use super::{new_pair, new_socket, path_addr, SocketAddr};
use crate::convert::{new_io, SourceIo};
use crate::sys;
use crate::try_io::would_block;

use bytes::{Buf, BufMut};

/// A non-blocking Unix-domain stream socket.
///
/// Reads and writes never block: they return `WouldBlock` (or `Ok(None)` through
/// [`TryRead`](crate::TryRead)/[`TryWrite`](crate::TryWrite)) when the socket is not ready.
/// Writes use `send(.., MSG_NOSIGNAL)`, so a closed peer gives `BrokenPipe` and never raises
/// `SIGPIPE` (std's `UnixStream::write` uses `write(2)`, which does).
///
/// The stream can pass file descriptors to its peer: see [`send_with_fds`](Self::send_with_fds)
/// and [`recv_with_fds`](Self::recv_with_fds).
///
/// # Examples
///
/// ```
/// use ferrio::{Events, EventSet, Poll, PollOpt, Token, TryRead, TryWrite};
/// use ferrio::unix::UnixStream;
/// use std::time::Duration;
///
/// let (mut a, mut b) = UnixStream::pair()?;
/// let mut poll = Poll::new()?;
/// poll.register(&b, Token(1), EventSet::readable(), PollOpt::edge())?;
/// assert_eq!(a.try_write(b"ping")?, Some(4));
///
/// let mut events = Events::with_capacity(4);
/// poll.poll(&mut events, Some(Duration::from_secs(5)))?;
/// assert_eq!(events.get(0).unwrap().token(), Token(1));
/// let mut buf = [0u8; 16];
/// assert_eq!(b.try_read(&mut buf)?, Some(4));
/// assert_eq!(&buf[..4], b"ping");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixStream {
    io: SourceIo<net::UnixStream>,
}

impl_evented_via_io_source!(UnixStream);
impl_fd_conversions!(UnixStream, net::UnixStream);
impl_std_conversions!(UnixStream, net::UnixStream);
impl_source_read!(UnixStream, sys::fd::recv);
impl_source_write!(UnixStream, sys::fd::send, sys::fd::send_vectored);

impl UnixStream {
    /// Starts connecting to the socket bound at `path` without blocking.
    ///
    /// On Linux a Unix connect completes at once or fails at once; on other systems it may
    /// complete later. Either way, register for writable: the event means the connect finished,
    /// and [`take_error`](Self::take_error) returning `None` means it succeeded.
    ///
    /// # Errors
    ///
    /// * `InvalidInput` if `path` does not fit in `sockaddr_un` (107 bytes on Linux, 103 on macOS and the BSDs), is empty
    ///   or contains a NUL byte.
    /// * `WouldBlock` if the listener's accept backlog is full (`EAGAIN`): unlike TCP, the
    ///   connect is then *not* in progress; drop this attempt and retry later.
    /// * `NotFound` if nothing is bound at `path`, `ConnectionRefused` if the socket there
    ///   is not listening, or another OS error.
    pub fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let addr = path_addr(path.as_ref())?;
        let socket = new_socket(Type::STREAM)?;
        match socket.connect(&addr) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "the Unix listener's accept backlog is full (EAGAIN); \
                     the socket is not connected, retry later",
                ))
            }
            Err(e) => return Err(e),
        }
        Ok(UnixStream::wrap(socket.into()))
    }

    /// A connected pair of streams (`socketpair(2)`), both non-blocking and close-on-exec.
    ///
    /// # Errors
    ///
    /// The OS error (for example `EMFILE`).
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = new_pair(Type::STREAM)?;
        Ok((UnixStream::wrap(a.into()), UnixStream::wrap(b.into())))
    }

    /// Wraps a connected std stream, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// The OS error of setting `O_NONBLOCK`.
    pub fn from_std(stream: net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Ok(UnixStream::wrap(stream))
    }

    pub(crate) fn wrap(stream: net::UnixStream) -> UnixStream {
        UnixStream { io: new_io(stream) }
    }

    /// The local address (usually unnamed for a connecting stream).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner().local_addr()
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the socket is not connected, or another OS error.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner().peer_addr()
    }

    /// A new handle to the same socket (a `dup`, close-on-exec). It is not registered; the
    /// two handles share readiness, so register only one of them.
    ///
    /// # Errors
    ///
    /// The OS error (for example `EMFILE`).
    pub fn try_clone(&self) -> io::Result<UnixStream> {
        self.io
            .try_clone_with(|inner| inner.try_clone().map(crate::sys::detach::Detachable::new))
            .map(|io| UnixStream { io })
    }

    /// Shuts down the read side, the write side, or both.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the socket is not connected.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.inner().shutdown(how)
    }

    /// Takes the pending socket error (`SO_ERROR`), clearing it: `Ok(None)` if there is none
    /// (std's `take_error`). After a writable event on a connecting socket, `Ok(None)` means
    /// the connect succeeded.
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

    /// Sends `buf` with the file descriptors `fds` attached (`SCM_RIGHTS`), in one message.
    ///
    /// Returns `Ok(Some(n))` when `n` bytes of `buf` were sent; the fds travel with them and
    /// reach the peer's [`recv_with_fds`](Self::recv_with_fds) together with the first of these
    /// bytes. `n` may be less than `buf.len()`: send the rest with plain writes (not with the
    /// fds again). `Ok(None)` means the socket's buffer is full and *nothing* was sent, fds
    /// included. No allocation: the control message is built on the stack.
    ///
    /// Ownership: the fds are only borrowed. The kernel takes its own references while sending,
    /// so the caller may close its fds as soon as this returns; the peer receives new fds
    /// (different numbers) for the same open files. Until the peer receives them, the message in
    /// flight keeps the files open.
    ///
    /// # Errors
    ///
    /// * `InvalidInput` if `fds` has more than [`MAX_FDS_PER_MESSAGE`](super::MAX_FDS_PER_MESSAGE)
    ///   entries, or if `buf` is empty while `fds` is not (a stream socket needs at least one
    ///   data byte to carry fds).
    /// * `BrokenPipe` if the peer is gone (never `SIGPIPE`), or another OS error.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::unix::{pipe, UnixStream};
    /// use std::io::{Read, Write};
    /// use std::os::fd::{AsFd, OwnedFd};
    ///
    /// let (a, b) = UnixStream::pair()?;
    /// let (mut reader, writer) = pipe()?;
    /// assert_eq!(a.send_with_fds(b"w", &[writer.as_fd()])?, Some(1));
    /// drop(writer); // the message in flight keeps the write end open
    ///
    /// let mut buf = [0u8; 8];
    /// let mut fds: [Option<OwnedFd>; 4] = Default::default();
    /// assert_eq!(b.recv_with_fds(&mut buf, &mut fds)?, Some((1, 1)));
    /// let mut received = std::fs::File::from(fds[0].take().unwrap());
    /// received.write_all(b"hi")?;
    /// let mut got = [0u8; 2];
    /// reader.read_exact(&mut got)?;
    /// assert_eq!(&got, b"hi");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_with_fds(&self, buf: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<Option<usize>> {
        if buf.is_empty() && !fds.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "send_with_fds on a stream needs at least one data byte to carry the fds",
            ));
        }
        would_block(|| {
            self.io
                .do_write(|s| sys::unix_msg::send_with_fds(s.as_raw_fd(), buf, fds))
        })
    }

    /// Receives data into `buf` and any file descriptors passed with it into `fds`.
    ///
    /// Returns `Ok(Some((n, count)))`: `n` data bytes (`0` is end of stream) and `count` fds,
    /// stored in `fds[..count]` (a value already in one of those slots is dropped, closing it;
    /// the other slots are untouched). `Ok(None)` means nothing was available. Pass a
    /// non-empty `buf`: fds arrive with data bytes. At most `fds.len()` fds, and never more than
    /// [`MAX_FDS_PER_MESSAGE`](super::MAX_FDS_PER_MESSAGE), are received per call; a longer
    /// `fds` is fine. No allocation: the control buffer is on the stack.
    ///
    /// Ownership: the received fds are new fds of this process, owned by the returned
    /// `OwnedFd`s; they are close-on-exec (`MSG_CMSG_CLOEXEC`). Their other flags (like
    /// `O_NONBLOCK`) are those of the open file the sender passed. One call returns the fds of
    /// at most one [`send_with_fds`](Self::send_with_fds): the kernel stops reading after the
    /// bytes that carried them (plain bytes written before them may come in the same call).
    ///
    /// # Errors
    ///
    /// * `InvalidData` if the message carried more fds than `fds` (or the limit) had room for
    ///   (`MSG_CTRUNC`). The kernel discards those that did not fit, the others are closed
    ///   (none leaks), and the message's data bytes are consumed: size `fds` for the largest
    ///   message the protocol allows.
    /// * The OS error of `recvmsg`.
    pub fn recv_with_fds(
        &self,
        buf: &mut [u8],
        fds: &mut [Option<OwnedFd>],
    ) -> io::Result<Option<(usize, usize)>> {
        would_block(|| {
            self.io
                .do_read(|s| sys::unix_msg::recv_with_fds(s.as_raw_fd(), buf, fds))
        })
    }
}

/// mio 0.5's fd passing, one fd per message, with raw fds.
///
/// These keep the original's signatures. The fd received by `read_recv_fd` is a raw number
/// the caller owns and must close; [`recv_with_fds`](UnixStream::recv_with_fds) hands out
/// `OwnedFd`s instead, which close themselves, and takes several fds per message.
impl UnixStream {
    /// Reads into `buf` and receives the fd sent with the data, if any: `(bytes, fd)`
    /// (`(0, None)` at end of stream).
    ///
    /// The fd is new in this process (close-on-exec) and **owned by the caller**, who must
    /// close it (for example `OwnedFd::from_raw_fd`). Would-block is an error here
    /// (`WouldBlock`), as in mio 0.5; [`try_read_recv_fd`](Self::try_read_recv_fd) makes it
    /// `Ok(None)`.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if nothing is available; `InvalidData` if the message carried more than
    /// one fd (they are closed, and the data bytes consumed); or the OS error of `recvmsg`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::unix::UnixStream;
    /// use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    ///
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// let file = std::fs::File::open("/dev/null")?;
    /// assert_eq!(a.write_send_fd(b"x", file.as_raw_fd())?, 1);
    /// let mut buf = [0u8; 4];
    /// let (n, fd) = b.read_recv_fd(&mut buf)?;
    /// assert_eq!(n, 1);
    /// // The received fd is ours to close.
    /// let received = unsafe { OwnedFd::from_raw_fd(fd.expect("an fd")) };
    /// drop(received);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_recv_fd(&mut self, buf: &mut [u8]) -> io::Result<(usize, Option<RawFd>)> {
        let mut fds: [Option<OwnedFd>; 1] = [None];
        let (n, _) = self
            .io
            .do_read(|s| sys::unix_msg::recv_with_fds(s.as_raw_fd(), buf, &mut fds))?;
        let [fd] = fds;
        Ok((n, fd.map(IntoRawFd::into_raw_fd)))
    }

    /// [`read_recv_fd`](Self::read_recv_fd) with would-block as `Ok(None)`; retries on
    /// `Interrupted`.
    ///
    /// # Errors
    ///
    /// As `read_recv_fd`, except `WouldBlock`.
    pub fn try_read_recv_fd(
        &mut self,
        buf: &mut [u8],
    ) -> io::Result<Option<(usize, Option<RawFd>)>> {
        would_block(|| self.read_recv_fd(buf))
    }

    /// [`try_read_recv_fd`](Self::try_read_recv_fd) into the spare capacity of a
    /// [`BufMut`], advancing it by the bytes read (without initialising that memory first).
    ///
    /// # Errors
    ///
    /// As `read_recv_fd`, except `WouldBlock`.
    pub fn try_read_buf_recv_fd<B: BufMut>(
        &mut self,
        buf: &mut B,
    ) -> io::Result<Option<(usize, Option<RawFd>)>> {
        let mut fds: [Option<OwnedFd>; 1] = [None];
        let read = would_block(|| {
            self.io
                .do_read(|s| sys::unix_msg::recv_buf_with_fds(s.as_raw_fd(), buf, &mut fds))
        })?;
        let [fd] = fds;
        Ok(read.map(|(n, _)| (n, fd.map(IntoRawFd::into_raw_fd))))
    }

    /// Writes `buf` with the fd `fd` attached (`SCM_RIGHTS`): the number of bytes written.
    ///
    /// The fd is only lent: the kernel takes its own reference, so the caller may close `fd`
    /// once this returns. Any value is sound: a number that is not an open fd is an `EBADF`
    /// error. Would-block is an error here (`WouldBlock`; nothing was sent), as in mio 0.5.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `buf` is empty (a stream needs a data byte to carry the fd),
    /// `WouldBlock`, `EBADF` for an fd that is not open, `BrokenPipe` if the peer is gone
    /// (never `SIGPIPE`), or another OS error.
    pub fn write_send_fd(&mut self, buf: &[u8], fd: RawFd) -> io::Result<usize> {
        if buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "write_send_fd on a stream needs at least one data byte to carry the fd",
            ));
        }
        self.io
            .do_write(|s| sys::unix_msg::send_with_raw_fds(s.as_raw_fd(), buf, &[fd]))
    }

    /// [`write_send_fd`](Self::write_send_fd) with would-block as `Ok(None)`; retries on
    /// `Interrupted`.
    ///
    /// # Errors
    ///
    /// As `write_send_fd`, except `WouldBlock`.
    pub fn try_write_send_fd(&mut self, buf: &[u8], fd: RawFd) -> io::Result<Option<usize>> {
        would_block(|| self.write_send_fd(buf, fd))
    }

    /// [`try_write_send_fd`](Self::try_write_send_fd) from a [`Buf`]'s first chunk,
    /// advancing it by the bytes written.
    ///
    /// # Errors
    ///
    /// As `write_send_fd`, except `WouldBlock`.
    pub fn try_write_buf_send_fd<B: Buf>(
        &mut self,
        buf: &mut B,
        fd: RawFd,
    ) -> io::Result<Option<usize>> {
        let res = self.try_write_send_fd(buf.chunk(), fd);
        if let Ok(Some(n)) = res {
            buf.advance(n);
        }
        res
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.inner().fmt(f)
    }
}
