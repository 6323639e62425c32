//! [`UnixListener`]: a non-blocking Unix-domain listening socket.

use std::fmt;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net;
use std::path::Path;

use socket2::Type;

use super::{new_socket, path_addr, to_std_addr, SocketAddr, UnixStream};
use crate::convert::{new_io, SourceIo};
use crate::sys;
use crate::try_io::TryAccept;

/// The listen backlog [`UnixListener::bind`] uses (the kernel caps it at `net.core.somaxconn`).
const DEFAULT_BACKLOG: i32 = 1024;

/// A non-blocking Unix-domain listener.
///
/// Accepted streams are non-blocking and close-on-exec (`accept4` with `SOCK_NONBLOCK |
/// SOCK_CLOEXEC`). Dropping the listener does not remove its socket file: remove the path
/// yourself (binding to an existing path fails with `AddrInUse`).
///
/// # Examples
///
/// ```
/// use ferrio::{Events, EventSet, Poll, PollOpt, Token};
/// use ferrio::unix::{UnixListener, UnixStream};
/// use std::time::Duration;
///
/// let path = std::env::temp_dir().join(format!("ferrio-doc-listener-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// let listener = UnixListener::bind(&path)?;
/// assert!(listener.accept()?.is_none()); // nobody connected yet: would block
///
/// let mut poll = Poll::new()?;
/// poll.register(&listener, Token(0), EventSet::readable(), PollOpt::edge())?;
/// let _client = UnixStream::connect(&path)?;
/// let mut events = Events::with_capacity(4);
/// poll.poll(&mut events, Some(Duration::from_secs(5)))?;
/// let stream = listener.accept()?.expect("a pending connection");
/// assert_eq!(stream.local_addr()?.as_pathname(), Some(path.as_path()));
/// std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixListener {
    io: SourceIo<net::UnixListener>,
}

impl_evented_via_io_source!(UnixListener);
impl_fd_conversions!(UnixListener, net::UnixListener);
impl_std_conversions!(UnixListener, net::UnixListener);

impl UnixListener {
    /// Binds a new socket to `path` (creating the socket file) and listens.
    ///
    /// # Errors
    ///
    /// * `InvalidInput` if `path` does not fit in `sockaddr_un` (107 bytes on Linux, 103 on macOS and the BSDs), is empty
    ///   or contains a NUL byte.
    /// * `AddrInUse` if the path exists (even a stale socket file), `PermissionDenied`,
    ///   `NotFound` (missing directory), or another OS error.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let addr = path_addr(path.as_ref())?;
        let socket = new_socket(Type::STREAM)?;
        socket.bind(&addr)?;
        socket.listen(DEFAULT_BACKLOG)?;
        Ok(UnixListener::wrap(socket.into()))
    }

    /// Wraps a listening std listener, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// The OS error of setting `O_NONBLOCK`.
    pub fn from_std(listener: net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener::wrap(listener))
    }

    pub(super) fn wrap(listener: net::UnixListener) -> UnixListener {
        UnixListener {
            io: new_io(listener),
        }
    }

    /// Accepts one pending connection: `Ok(None)` if none is pending (mio 0.5's signature;
    /// [`accept_with_addr`](Self::accept_with_addr) also gives the client's address).
    ///
    /// Under edge-triggered registration call this until it returns `Ok(None)`. A connection
    /// aborted before it was accepted (`ECONNABORTED`) is skipped. The stream is non-blocking
    /// and close-on-exec (`accept4`).
    ///
    /// # Errors
    ///
    /// The OS error, notably `EMFILE`/`ENFILE` when out of file descriptors: the pending
    /// connection then stays in the backlog, so stop accepting until fds are free.
    pub fn accept(&self) -> io::Result<Option<UnixStream>> {
        let accepted = self
            .io
            .do_read(|l| sys::fd::accept_pending(l.as_raw_fd()))?;
        Ok(accepted.map(|(fd, _)| UnixStream::wrap(net::UnixStream::from(fd))))
    }

    /// Accepts like [`accept`](Self::accept), and returns the client's address too (usually
    /// unnamed: a connecting socket rarely binds a path).
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    pub fn accept_with_addr(&self) -> io::Result<Option<(UnixStream, SocketAddr)>> {
        let accepted = self
            .io
            .do_read(|l| sys::fd::accept_pending(l.as_raw_fd()))?;
        let Some((fd, addr)) = accepted else {
            return Ok(None);
        };
        let stream = net::UnixStream::from(fd);
        let addr = match to_std_addr(&addr) {
            Some(addr) => addr,
            None => stream.peer_addr()?,
        };
        Ok(Some((UnixStream::wrap(stream), addr)))
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner().local_addr()
    }

    /// A new, unregistered handle to the same listening socket (a `dup`, close-on-exec).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn try_clone(&self) -> io::Result<UnixListener> {
        self.io
            .try_clone_with(|inner| inner.try_clone().map(crate::sys::detach::Detachable::new))
            .map(|io| UnixListener { io })
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

/// mio 0.5's `TryAccept` for Unix sockets: the accepted stream.
impl TryAccept for UnixListener {
    type Output = UnixStream;

    fn accept(&self) -> io::Result<Option<UnixStream>> {
        UnixListener::accept(self)
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.inner().fmt(f)
    }
}
