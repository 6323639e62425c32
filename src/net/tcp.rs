//! TCP sources: [`TcpListener`], [`TcpStream`] and the option builder [`TcpBuilder`].

use std::fmt;
use std::io;
use std::net::{self, SocketAddr};
#[cfg(unix)]
use std::os::fd::AsRawFd;
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use crate::convert::{new_io, SourceIo};
use crate::sys;
use crate::try_io::TryAccept;

/// How to shut a stream down (std's type, re-exported as mio 0.5 did).
pub use std::net::Shutdown;

/// The listen backlog `TcpListener::bind` uses (the kernel caps it at `net.core.somaxconn`).
pub const DEFAULT_BACKLOG: i32 = 1024;

#[cfg(unix)]
fn new_socket(addr: &SocketAddr) -> io::Result<Socket> {
    sys::fd::socket(
        Domain::for_address(*addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )
}

/// Windows: socket2 creates it non-inheritable; non-blocking takes one more call.
#[cfg(windows)]
fn new_socket(addr: &SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(*addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// A non-blocking TCP stream.
///
/// Reads and writes never block: they return `WouldBlock` (or `Ok(None)` through
/// [`TryRead`](crate::TryRead)/[`TryWrite`](crate::TryWrite)) when the socket is not ready.
/// Writes never raise `SIGPIPE`: a closed peer gives `BrokenPipe`.
///
/// # Examples
///
/// ```
/// use ferrio::{Events, EventSet, Poll, PollOpt, Token};
/// use ferrio::tcp::{TcpListener, TcpStream};
/// use std::time::Duration;
///
/// let listener = TcpListener::bind(&"127.0.0.1:0".parse().unwrap())?;
/// let stream = TcpStream::connect(&listener.local_addr()?)?;
///
/// let mut poll = Poll::new()?;
/// poll.register(&stream, Token(1), EventSet::writable(), PollOpt::edge())?;
/// let mut events = Events::with_capacity(4);
/// poll.poll(&mut events, Some(Duration::from_secs(5)))?;
/// // A writable event means the connect finished; check it succeeded.
/// assert_eq!(events.get(0).unwrap().token(), Token(1));
/// stream.take_socket_error()?; // Err(e) if the connect failed
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Conversions
///
/// Every source converts to and from `OwnedFd` (and raw fds) and, for sockets, std's type.
/// Adopting an fd switches it to non-blocking mode; converting away deregisters the source if
/// it is registered, and leaves the fd open.
///
/// ```
/// use ferrio::tcp::{TcpListener, TcpStream};
/// use ferrio::{Poll, EventSet, PollOpt, Token};
/// use std::os::fd::{AsRawFd, OwnedFd};
///
/// let listener = TcpListener::bind(&"127.0.0.1:0".parse().unwrap())?;
/// let blocking = std::net::TcpStream::connect(listener.local_addr()?)?;
/// let fd = blocking.as_raw_fd();
/// let stream = TcpStream::from(OwnedFd::from(blocking)); // now non-blocking
/// let poll = Poll::new()?;
/// poll.register(&stream, Token(1), EventSet::readable(), PollOpt::edge())?;
/// let back: std::net::TcpStream = stream.into_std(); // deregistered, still open
/// assert_eq!(back.as_raw_fd(), fd);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpStream {
    io: SourceIo<net::TcpStream>,
}

impl_evented_via_io_source!(TcpStream);
impl_fd_conversions!(TcpStream, net::TcpStream);
impl_socket_conversions!(TcpStream, net::TcpStream);
impl_std_conversions!(TcpStream, net::TcpStream);
#[cfg(unix)]
impl_source_read!(TcpStream, sys::fd::recv);
#[cfg(unix)]
impl_source_write!(TcpStream, sys::fd::send, sys::fd::send_vectored);
#[cfg(windows)]
impl_source_read!(TcpStream, sys::windows::recv);
#[cfg(windows)]
impl_source_write!(TcpStream, sys::windows::send, sys::windows::send_vectored);

impl TcpStream {
    /// Starts connecting to `addr` without blocking.
    ///
    /// The connection completes later: register for writable; when the event comes, check
    /// [`take_error`](Self::take_error) (`None` means connected). A refused or
    /// failed connect shows up as error/hup readiness.
    ///
    /// # Errors
    ///
    /// Errors that happen at once (no route, bad address family, out of fds).
    pub fn connect(addr: &SocketAddr) -> io::Result<TcpStream> {
        let socket = new_socket(addr)?;
        start_connect(&socket, addr)?;
        Ok(TcpStream::wrap(socket.into()))
    }

    /// Connects an unconnected, already configured std socket to `addr` without blocking
    /// (sets it non-blocking first).
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub fn connect_stream(stream: net::TcpStream, addr: &SocketAddr) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        start_connect(&SockRef::from(&stream), addr)?;
        Ok(TcpStream::wrap(stream))
    }

    /// Wraps a connected std stream, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// The OS error of setting `O_NONBLOCK`.
    pub fn from_std(stream: net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Ok(TcpStream::wrap(stream))
    }

    pub(crate) fn wrap(stream: net::TcpStream) -> TcpStream {
        TcpStream { io: new_io(stream) }
    }

    fn sock(&self) -> SockRef<'_> {
        SockRef::from(self.io.inner())
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// `NotConnected` while a connect is still in progress or after it failed.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner().peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner().local_addr()
    }

    /// A new handle to the same socket (a `dup`, close-on-exec). It is not registered; the
    /// two handles share readiness, so register only one of them.
    ///
    /// # Errors
    ///
    /// The OS error (for example `EMFILE`).
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        self.io
            .try_clone_with(|inner| inner.try_clone().map(crate::sys::detach::Detachable::new))
            .map(|io| TcpStream { io })
    }

    /// Shuts down the read side, the write side, or both.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the socket is not connected.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.inner().shutdown(how)
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.inner().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.inner().nodelay()
    }

    /// Enables keep-alive probes after `seconds` without traffic, or disables them (`None`):
    /// mio 0.5's signature. [`set_keepalive_time`](Self::set_keepalive_time) takes a
    /// `Duration` (and says what differs between platforms).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `Some(0)` or more than the kernel allows (32767 s on Linux), or
    /// another OS error; `Unsupported` for `Some(_)` on OpenBSD.
    pub fn set_keepalive(&self, seconds: Option<u32>) -> io::Result<()> {
        self.set_keepalive_time(seconds.map(|s| Duration::from_secs(u64::from(s))))
    }

    /// Enables keep-alive probes after `idle` without traffic (whole seconds, as the kernel
    /// counts them: `TCP_KEEPIDLE`), or disables them (`None`).
    ///
    /// # Portability
    ///
    /// The idle time is per socket on Linux, macOS, FreeBSD, NetBSD, DragonFly and Windows.
    /// OpenBSD has no per-socket idle time (it is the system-wide `net.inet.tcp.keepidle`):
    /// there `Some(idle)` is an `Unsupported` error and changes nothing; turn keep-alive on
    /// with `socket2::SockRef::from(&stream).set_keepalive(true)` to use the system's time.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an `idle` under one second or more than the kernel allows (32767 s
    /// on Linux), or another OS error; `Unsupported` for `Some(_)` on OpenBSD.
    pub fn set_keepalive_time(&self, idle: Option<Duration>) -> io::Result<()> {
        let sock = self.sock();
        match idle {
            None => sock.set_keepalive(false),
            Some(idle) if idle.as_secs() == 0 => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the keep-alive idle time must be at least one second",
            )),
            // Winsock takes the time in milliseconds as a u32 (SIO_KEEPALIVE_VALS): refuse what
            // would be cut, as Linux refuses what exceeds its limit.
            #[cfg(windows)]
            Some(idle) if idle.as_millis() > u128::from(u32::MAX) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the keep-alive idle time must be at most u32::MAX milliseconds on Windows",
            )),
            #[cfg(target_os = "openbsd")]
            Some(_) => Err(no_keepalive_time()),
            #[cfg(not(target_os = "openbsd"))]
            Some(idle) => {
                sock.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(idle))?;
                sock.set_keepalive(true)
            }
        }
    }

    /// The keep-alive idle time, or `None` if keep-alive is off.
    ///
    /// # Errors
    ///
    /// The OS error; on OpenBSD, `Unsupported` if keep-alive is on (its time is the
    /// system's; see [`set_keepalive_time`](Self::set_keepalive_time)).
    pub fn keepalive(&self) -> io::Result<Option<Duration>> {
        let sock = self.sock();
        if !sock.keepalive()? {
            return Ok(None);
        }
        #[cfg(target_os = "openbsd")]
        return Err(no_keepalive_time());
        #[cfg(all(unix, not(target_os = "openbsd")))]
        return sock.tcp_keepalive_time().map(Some);
        #[cfg(windows)]
        return sys::windows::tcp_keepalive_idle(self.io.raw_fd()).map(Some);
    }

    /// Sets the IP time-to-live.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.inner().set_ttl(ttl)
    }

    /// The IP time-to-live.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.inner().ttl()
    }

    /// Sets `SO_LINGER`; `Some(Duration::ZERO)` makes `close` send a reset (RST).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.sock().set_linger(linger)
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

    /// Reads without removing the data from the receive queue.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if no data is there, or the OS error.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.do_read(|s| s.peek(buf))
    }
}

fn start_connect(socket: &Socket, addr: &SocketAddr) -> io::Result<()> {
    match socket.connect(&(*addr).into()) {
        Ok(()) => Ok(()),
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(()),
        // Winsock says a connect in progress with WSAEWOULDBLOCK.
        #[cfg(windows)]
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
        Err(e) => Err(e),
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.inner().fmt(f)
    }
}

/// A non-blocking TCP listener.
///
/// [`bind`](Self::bind) sets `SO_REUSEADDR` (on Unix; on Windows that option would let another
/// socket bind the same port, so it is left off) and listens with a backlog of
/// [`DEFAULT_BACKLOG`]; use [`TcpBuilder`] for other options (reuseport, backlog, ...).
/// Accepted streams are non-blocking and close-on-exec.
///
/// # Examples
///
/// ```
/// use ferrio::tcp::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind(&"127.0.0.1:0".parse().unwrap())?;
/// assert!(listener.accept()?.is_none()); // nobody connected yet: would block
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    io: SourceIo<net::TcpListener>,
}

impl_evented_via_io_source!(TcpListener);
impl_fd_conversions!(TcpListener, net::TcpListener);
impl_socket_conversions!(TcpListener, net::TcpListener);
impl_std_conversions!(TcpListener, net::TcpListener);

impl TcpListener {
    /// Binds to `addr` (port 0 picks a free port) and listens.
    ///
    /// # Errors
    ///
    /// `AddrInUse`, `AddrNotAvailable`, `PermissionDenied`, or another OS error.
    pub fn bind(addr: &SocketAddr) -> io::Result<TcpListener> {
        let socket = new_socket(addr)?;
        // On Windows SO_REUSEADDR would let another socket take the port while we listen
        // (and Windows has no TIME_WAIT problem for listeners to solve).
        #[cfg(unix)]
        socket.set_reuse_address(true)?;
        socket.bind(&(*addr).into())?;
        socket.listen(DEFAULT_BACKLOG)?;
        Ok(TcpListener::wrap(socket.into()))
    }

    /// Wraps a listening std listener, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// The OS error of setting `O_NONBLOCK`.
    pub fn from_std(listener: net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener::wrap(listener))
    }

    /// The name the original mio used for [`from_std`](Self::from_std); `_addr` is ignored
    /// (the listener knows its address).
    ///
    /// # Errors
    ///
    /// As `from_std`.
    pub fn from_listener(
        listener: net::TcpListener,
        _addr: &SocketAddr,
    ) -> io::Result<TcpListener> {
        TcpListener::from_std(listener)
    }

    fn wrap(listener: net::TcpListener) -> TcpListener {
        TcpListener {
            io: new_io(listener),
        }
    }

    /// Accepts one pending connection with its peer's address: `Ok(None)` if none is pending
    /// (mio 0.5's signature; [`TryAccept::accept`] gives the stream alone).
    ///
    /// Under edge-triggered registration call it until it returns `Ok(None)`. A connection
    /// that was reset before it was accepted (`ECONNABORTED`) is skipped. The stream is
    /// non-blocking and close-on-exec (`accept4`).
    ///
    /// # Errors
    ///
    /// The OS error, notably `EMFILE`/`ENFILE` when out of file descriptors: the pending
    /// connection then stays in the backlog and the listener stays readable (a
    /// level-triggered loop would spin). Use [`accept_or_shed`](Self::accept_or_shed), or
    /// deregister the listener until fds are free.
    #[cfg(unix)]
    pub fn accept(&self) -> io::Result<Option<(TcpStream, SocketAddr)>> {
        let accepted = self
            .io
            .do_read(|l| sys::fd::accept_pending(l.as_raw_fd()))?;
        match accepted {
            Some((fd, addr)) => {
                let stream = TcpStream::wrap(net::TcpStream::from(fd));
                Ok(Some((stream, sys::fd::to_socket_addr(&addr)?)))
            }
            None => Ok(None),
        }
    }

    /// Accepts one pending connection: `Ok(None)` if none is pending.
    ///
    /// Under edge-triggered registration call it until it returns `Ok(None)`. A connection
    /// that was reset before it was accepted (`WSAECONNRESET`) is skipped. The accepted socket
    /// is made non-inheritable and non-blocking (two calls after `accept`).
    ///
    /// # Errors
    ///
    /// The OS error, notably `WSAEMFILE`/`WSAENOBUFS` when out of sockets: see
    /// [`accept_or_shed`](Self::accept_or_shed).
    #[cfg(windows)]
    pub fn accept(&self) -> io::Result<Option<(TcpStream, SocketAddr)>> {
        let accepted = self.io.do_read(|l| sys::windows::accept_pending(l))?;
        Ok(accepted.map(|(stream, addr)| (TcpStream::wrap(stream), addr)))
    }

    /// Accepts like [`accept`](Self::accept), but when the process (`EMFILE`) or the system
    /// (`ENFILE`) is out of file descriptors it sheds the pending connections instead of
    /// leaving them in the backlog.
    ///
    /// Out of fds, a plain `accept` cannot take the pending connection, so the listener stays
    /// readable: a level-triggered loop wakes up again at once and spins, an edge-triggered
    /// one stalls until the next connection arrives. This method frees `reserve`'s spare fd,
    /// accepts one connection with it and closes it at once (the peer sees the connection
    /// closed), takes the spare fd again, and repeats until the backlog is empty. Then it
    /// returns the original `EMFILE`/`ENFILE` error, so the caller can log it or back off;
    /// the listener is no longer readable, so the loop sleeps until a new connection comes.
    /// Once fds are free again, accepting works as usual. [`FdReserve::shed_count`] counts
    /// the shed connections.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept): `EMFILE`/`ENFILE` after shedding, or another OS error.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::tcp::{FdReserve, TcpListener};
    ///
    /// let listener = TcpListener::bind(&"127.0.0.1:0".parse().unwrap())?;
    /// let mut reserve = FdReserve::new()?;
    /// let _client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let (_stream, _peer) = loop {
    ///     if let Some(accepted) = listener.accept_or_shed(&mut reserve)? {
    ///         break accepted;
    ///     }
    /// };
    /// assert_eq!(reserve.shed_count(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept_or_shed(
        &self,
        reserve: &mut FdReserve,
    ) -> io::Result<Option<(TcpStream, SocketAddr)>> {
        if !reserve.is_armed() {
            // Best effort: a reserve that could not be re-taken last time tries again.
            let _ = reserve.rearm();
        }
        let err = match self.accept() {
            Err(e) if is_out_of_fds(&e) => e,
            other => return other,
        };
        while reserve.release() {
            let accepted = self.accept();
            // Re-take the spare fd before anything else can grab the one we free next.
            let closed = matches!(accepted, Ok(Some(_)));
            drop(accepted);
            let rearmed = reserve.rearm().is_ok();
            if !closed || !rearmed {
                break;
            }
            reserve.shed += 1;
        }
        Err(err)
    }

    /// The local address (with the real port after binding port 0).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner().local_addr()
    }

    /// A new, unregistered handle to the same listening socket.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        self.io
            .try_clone_with(|inner| inner.try_clone().map(crate::sys::detach::Detachable::new))
            .map(|io| TcpListener { io })
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

    /// Sets the IP time-to-live of accepted sockets.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.inner().set_ttl(ttl)
    }

    /// The IP time-to-live.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.inner().ttl()
    }
}

#[cfg(unix)]
fn is_out_of_fds(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE))
}

#[cfg(windows)]
fn is_out_of_fds(err: &io::Error) -> bool {
    sys::windows::is_out_of_sockets(err)
}

/// What the spare handle of an [`FdReserve`] opens.
#[cfg(unix)]
const SPARE_FILE: &str = "/dev/null";
#[cfg(windows)]
const SPARE_FILE: &str = "NUL";

/// OpenBSD has no per-socket keep-alive idle time.
#[cfg(target_os = "openbsd")]
fn no_keepalive_time() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "OpenBSD has no per-socket TCP keep-alive idle time (it is the system-wide sysctl \
         net.inet.tcp.keepidle); enable keep-alive with SO_KEEPALIVE to use it",
    )
}

/// One spare file descriptor (an open `/dev/null`) that
/// [`TcpListener::accept_or_shed`] spends to shed connections when the process is out of
/// file descriptors.
///
/// Create one per thread that accepts (it is `&mut` in use), before fds run out. It costs
/// one fd while armed.
///
/// # Examples
///
/// ```
/// use ferrio::tcp::FdReserve;
///
/// let reserve = FdReserve::new()?;
/// assert!(reserve.is_armed());
/// assert_eq!(reserve.shed_count(), 0);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct FdReserve {
    spare: Option<std::fs::File>,
    shed: u64,
}

impl FdReserve {
    /// Takes the spare fd (opens `/dev/null` read-only, close-on-exec).
    ///
    /// # Errors
    ///
    /// The OS error of `open`, for example `EMFILE` if fds are already exhausted.
    pub fn new() -> io::Result<FdReserve> {
        let mut reserve = FdReserve {
            spare: None,
            shed: 0,
        };
        reserve.rearm()?;
        Ok(reserve)
    }

    /// Whether the spare fd is held (it is, except briefly while shedding or if it could not
    /// be re-taken; the next `accept_or_shed` retries).
    pub fn is_armed(&self) -> bool {
        self.spare.is_some()
    }

    /// How many connections were accepted and closed at once for lack of fds.
    pub fn shed_count(&self) -> u64 {
        self.shed
    }

    /// Closes the spare fd; returns whether there was one.
    fn release(&mut self) -> bool {
        self.spare.take().is_some()
    }

    fn rearm(&mut self) -> io::Result<()> {
        if self.spare.is_none() {
            self.spare = Some(std::fs::File::open(SPARE_FILE)?);
        }
        Ok(())
    }
}

/// mio 0.5's `TryAccept` for TCP: the accepted stream, without the peer's address (which
/// [`TcpListener::accept`] returns too).
impl TryAccept for TcpListener {
    type Output = TcpStream;

    fn accept(&self) -> io::Result<Option<TcpStream>> {
        TcpListener::accept(self).map(|accepted| accepted.map(|(stream, _)| stream))
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.inner().fmt(f)
    }
}

/// Sets socket options before `bind`/`listen`/`connect`.
///
/// Each method consumes the builder and returns it, so calls chain with `?`.
///
/// # Examples
///
/// One listener per core on one port (each would run its own loop):
///
/// ```
/// use ferrio::tcp::TcpBuilder;
///
/// let addr = "127.0.0.1:0".parse().unwrap();
/// let first = TcpBuilder::for_addr(&addr)?.reuse_port(true)?.bind(&addr)?.listen(4096)?;
/// let port_addr = first.local_addr()?;
/// let second = TcpBuilder::for_addr(&port_addr)?.reuse_port(true)?.bind(&port_addr)?.listen(4096)?;
/// assert_eq!(second.local_addr()?, port_addr);
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "a builder only holds an unconnected socket; call `listen` or `connect` to use it"]
#[derive(Debug)]
pub struct TcpBuilder {
    socket: Socket,
}

impl TcpBuilder {
    /// A builder for an IPv4 socket.
    ///
    /// # Errors
    ///
    /// The OS error of `socket`.
    pub fn v4() -> io::Result<TcpBuilder> {
        TcpBuilder::for_addr(&SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// A builder for an IPv6 socket.
    ///
    /// # Errors
    ///
    /// The OS error of `socket`.
    pub fn v6() -> io::Result<TcpBuilder> {
        TcpBuilder::for_addr(&SocketAddr::from(([0u16; 8], 0)))
    }

    /// A builder for a socket of `addr`'s family.
    ///
    /// # Errors
    ///
    /// The OS error of `socket`.
    pub fn for_addr(addr: &SocketAddr) -> io::Result<TcpBuilder> {
        Ok(TcpBuilder {
            socket: new_socket(addr)?,
        })
    }

    /// Sets `SO_REUSEADDR`. On Windows this lets other sockets bind the same address while
    /// this one uses it (there it means what `SO_REUSEPORT` means elsewhere, without the load
    /// balancing); leave it off there unless that is what you want.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn reuse_address(self, reuse: bool) -> io::Result<TcpBuilder> {
        self.socket.set_reuse_address(reuse)?;
        Ok(self)
    }

    /// Sets `SO_REUSEPORT`: several sockets bind the same port and the kernel spreads
    /// connections among them. Unix only: Windows has no such option.
    ///
    /// # Portability
    ///
    /// Linux and DragonFly spread connections among the sockets. On FreeBSD this also sets
    /// `SO_REUSEPORT_LB` (FreeBSD 12+), which is what spreads them there. macOS, NetBSD and
    /// OpenBSD allow the shared binding but do not balance: one socket receives the
    /// connections.
    ///
    /// # Errors
    ///
    /// The OS error.
    #[cfg(unix)]
    pub fn reuse_port(self, reuse: bool) -> io::Result<TcpBuilder> {
        self.socket.set_reuse_port(reuse)?;
        #[cfg(target_os = "freebsd")]
        self.socket.set_reuse_port_lb(reuse)?;
        Ok(self)
    }

    /// Sets `SO_SNDBUF` (the kernel doubles it and applies its limits).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn send_buffer_size(self, size: usize) -> io::Result<TcpBuilder> {
        self.socket.set_send_buffer_size(size)?;
        Ok(self)
    }

    /// Sets `SO_RCVBUF` (the kernel doubles it and applies its limits).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn recv_buffer_size(self, size: usize) -> io::Result<TcpBuilder> {
        self.socket.set_recv_buffer_size(size)?;
        Ok(self)
    }

    /// Sets `IPV6_V6ONLY` (IPv6 sockets only).
    ///
    /// # Errors
    ///
    /// The OS error, for example on an IPv4 socket.
    pub fn only_v6(self, only_v6: bool) -> io::Result<TcpBuilder> {
        self.socket.set_only_v6(only_v6)?;
        Ok(self)
    }

    /// Sets `TCP_NODELAY` on the socket (inherited by a stream made with `connect`).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn nodelay(self, nodelay: bool) -> io::Result<TcpBuilder> {
        self.socket.set_tcp_nodelay(nodelay)?;
        Ok(self)
    }

    /// Binds to `addr`.
    ///
    /// # Errors
    ///
    /// `AddrInUse`, `AddrNotAvailable`, or another OS error.
    pub fn bind(self, addr: &SocketAddr) -> io::Result<TcpBuilder> {
        self.socket.bind(&(*addr).into())?;
        Ok(self)
    }

    /// Listens with the given backlog and returns the listener.
    ///
    /// # Errors
    ///
    /// The OS error (for example if the socket is not bound and the port is taken).
    pub fn listen(self, backlog: i32) -> io::Result<TcpListener> {
        self.socket.listen(backlog)?;
        Ok(TcpListener::wrap(self.socket.into()))
    }

    /// Starts a non-blocking connect to `addr` and returns the stream.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::connect`].
    pub fn connect(self, addr: &SocketAddr) -> io::Result<TcpStream> {
        start_connect(&self.socket, addr)?;
        Ok(TcpStream::wrap(self.socket.into()))
    }
}
