//! [`UnixSocket`]: a Unix-domain stream socket before it becomes a listener or a stream
//! (mio 0.5's type).

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::net;
use std::path::Path;

use socket2::{Socket, Type};

use super::{new_socket, path_addr, UnixListener, UnixStream};
use crate::convert::{into_inner, new_io, SourceIo};

/// A new, unbound Unix-domain stream socket, to be bound and turned into a [`UnixListener`]
/// ([`listen`](Self::listen)) or connected into a [`UnixStream`]
/// ([`connect`](Self::connect)). mio 0.5's type, for the programs that build their sockets
/// step by step; [`UnixListener::bind`] and [`UnixStream::connect`] do it in one call.
///
/// The socket is non-blocking and close-on-exec from the start. It can be registered (a
/// registration does not carry over: `listen` and `connect` deregister the socket, register
/// the listener or stream they return).
///
/// # Examples
///
/// ```
/// use ferrio::unix::UnixSocket;
///
/// let path = std::env::temp_dir().join(format!("ferrio-doc-socket-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// let socket = UnixSocket::stream()?;
/// socket.bind(&path)?;
/// let listener = socket.listen(128)?;
///
/// let (stream, connected) = UnixSocket::stream()?.connect(&path)?;
/// assert!(connected); // Linux connects Unix sockets at once
/// assert!(listener.accept()?.is_some());
/// drop(stream);
/// std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixSocket {
    io: SourceIo<Socket>,
}

impl_evented_via_io_source!(UnixSocket);
impl_fd_conversions!(UnixSocket, Socket);

impl UnixSocket {
    /// A new, unbound, non-blocking Unix-domain stream socket (`SOCK_STREAM`).
    ///
    /// # Errors
    ///
    /// The OS error of `socket` (for example `EMFILE`).
    pub fn stream() -> io::Result<UnixSocket> {
        Ok(UnixSocket::wrap(new_socket(Type::STREAM)?))
    }

    fn wrap(socket: Socket) -> UnixSocket {
        UnixSocket { io: new_io(socket) }
    }

    /// Binds the socket to `addr` (creating the socket file).
    ///
    /// # Errors
    ///
    /// * `InvalidInput` if the path does not fit in `sockaddr_un` (107 bytes on Linux), is
    ///   empty or contains a NUL byte.
    /// * `AddrInUse` if the path exists, `InvalidInput` if the socket is bound already, or
    ///   another OS error.
    pub fn bind<P: AsRef<Path> + ?Sized>(&self, addr: &P) -> io::Result<()> {
        let addr = path_addr(addr.as_ref())?;
        self.io.inner().bind(&addr)
    }

    /// Listens for connections and returns the listener. `backlog` is capped at `i32::MAX`
    /// (the kernel caps it further, at `net.core.somaxconn`).
    ///
    /// # Errors
    ///
    /// The OS error of `listen` (for example `EINVAL` on a socket that is already
    /// connected). The socket is closed then.
    pub fn listen(self, backlog: usize) -> io::Result<UnixListener> {
        let socket = into_inner(self.io);
        socket.listen(backlog.min(i32::MAX as usize) as i32)?;
        Ok(UnixListener::wrap(net::UnixListener::from(OwnedFd::from(
            socket,
        ))))
    }

    /// Connects to the socket bound at `addr` without blocking and returns the stream, with
    /// `true` if the connection is complete and `false` if it is in progress (then the stream
    /// reports writable once it completes; check [`UnixStream::take_error`]).
    ///
    /// Linux connects Unix sockets at once, so `false` does not happen there. A full accept
    /// backlog is not "in progress" on Linux (`EAGAIN`: the socket is not connecting): that
    /// is a `WouldBlock` error, where mio 0.5 returned `false` and a stream that never
    /// connected.
    ///
    /// # Errors
    ///
    /// * `InvalidInput` for a path that does not fit (see [`bind`](Self::bind)).
    /// * `WouldBlock` if the listener's backlog is full; `NotFound` if nothing is bound at
    ///   `addr`, `ConnectionRefused` if the socket there is not listening, or another OS
    ///   error. The socket is closed then.
    pub fn connect<P: AsRef<Path> + ?Sized>(self, addr: &P) -> io::Result<(UnixStream, bool)> {
        let addr = path_addr(addr.as_ref())?;
        let socket = into_inner(self.io);
        let complete = match socket.connect(&addr) {
            Ok(()) => true,
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => false,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "the Unix listener's accept backlog is full (EAGAIN); \
                     the socket is not connected, retry later",
                ))
            }
            Err(e) => return Err(e),
        };
        let stream = net::UnixStream::from(OwnedFd::from(socket));
        Ok((UnixStream::wrap(stream), complete))
    }

    /// A new handle to the same socket (a `dup`, close-on-exec), not registered.
    ///
    /// # Errors
    ///
    /// The OS error (for example `EMFILE`).
    pub fn try_clone(&self) -> io::Result<UnixSocket> {
        self.io.inner().try_clone().map(UnixSocket::wrap)
    }
}

impl fmt::Debug for UnixSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixSocket")
            .field("fd", &std::os::fd::AsRawFd::as_raw_fd(self))
            .finish()
    }
}
