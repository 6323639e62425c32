//! UDP source: [`UdpSocket`] and the option builder [`UdpBuilder`], with batched IO ([`UdpSocket::recv_many`],
//! [`UdpSocket::send_many`]) and segmentation offload ([`UdpSocket::send_gso`],
//! [`UdpSocket::set_gro`]).

use std::fmt;
use std::io;
use std::net::{self, IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use crate::convert::{new_io, SourceIo};
#[cfg(windows)]
use crate::sys::{self, windows::Datagram};
use crate::try_io::would_block;

#[cfg(unix)]
mod batch;

#[cfg(unix)]
pub use batch::{RecvMeta, Segments, MAX_BATCH};

/// A non-blocking UDP socket.
///
/// `send_to`/`recv_from`/`send`/`recv` return `Ok(None)` when the operation would block.
/// An empty datagram is a real datagram: `recv_from` returns `Some((0, addr))` for it.
///
/// # Examples
///
/// ```
/// use ferrio::udp::UdpSocket;
///
/// let a = UdpSocket::bound(&"127.0.0.1:0".parse().unwrap())?;
/// let b = UdpSocket::bound(&"127.0.0.1:0".parse().unwrap())?;
/// assert_eq!(a.send_to(b"ping", &b.local_addr()?)?, Some(4));
/// let mut buf = [0u8; 16];
/// // Loopback delivery is immediate, but in general wait for a readable event first.
/// let (n, from) = loop {
///     if let Some(got) = b.recv_from(&mut buf)? { break got; }
/// };
/// assert_eq!(&buf[..n], b"ping");
/// assert_eq!(from, a.local_addr()?);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    io: SourceIo<net::UdpSocket>,
}

impl_evented_via_io_source!(UdpSocket);
impl_fd_conversions!(UdpSocket, net::UdpSocket);
impl_socket_conversions!(UdpSocket, net::UdpSocket);
impl_std_conversions!(UdpSocket, net::UdpSocket);

#[cfg(unix)]
fn new_socket(domain: Domain) -> io::Result<Socket> {
    crate::sys::fd::socket(domain, Type::DGRAM, Some(Protocol::UDP))
}

/// Windows: socket2 creates it non-inheritable; non-blocking takes one more call.
#[cfg(windows)]
fn new_socket(domain: Domain) -> io::Result<Socket> {
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

impl UdpSocket {
    /// An unbound IPv4 socket (bind it with [`bind`](Self::bind), or let the first send
    /// pick an ephemeral port).
    ///
    /// # Errors
    ///
    /// The OS error of `socket`.
    pub fn v4() -> io::Result<UdpSocket> {
        Ok(UdpSocket::wrap(new_socket(Domain::IPV4)?.into()))
    }

    /// An unbound IPv6 socket.
    ///
    /// # Errors
    ///
    /// The OS error of `socket`.
    pub fn v6() -> io::Result<UdpSocket> {
        Ok(UdpSocket::wrap(new_socket(Domain::IPV6)?.into()))
    }

    /// A socket bound to `addr` (port 0 picks a free port).
    ///
    /// Binds as std's `UdpSocket::bind` does: no `SO_REUSEADDR`, so a port in use is an
    /// `AddrInUse` error. To share a port, set the option first with [`UdpBuilder`].
    ///
    /// # Errors
    ///
    /// `AddrInUse`, `AddrNotAvailable`, or another OS error.
    pub fn bound(addr: &SocketAddr) -> io::Result<UdpSocket> {
        let socket = new_socket(Domain::for_address(*addr))?;
        socket.bind(&(*addr).into())?;
        Ok(UdpSocket::wrap(socket.into()))
    }

    /// Wraps a std socket, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// The OS error of setting `O_NONBLOCK`.
    pub fn from_std(socket: net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket::wrap(socket))
    }

    fn wrap(socket: net::UdpSocket) -> UdpSocket {
        UdpSocket { io: new_io(socket) }
    }

    fn sock(&self) -> SockRef<'_> {
        SockRef::from(self.io.inner())
    }

    /// Binds an unbound socket to `addr`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if it is already bound, `AddrInUse`, or another OS error.
    pub fn bind(&self, addr: &SocketAddr) -> io::Result<()> {
        self.sock().bind(&(*addr).into())
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner().local_addr()
    }

    /// The address given to [`connect`](Self::connect).
    ///
    /// # Errors
    ///
    /// `NotConnected` if the socket is not connected.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.inner().peer_addr()
    }

    /// A new, unregistered handle to the same socket.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        self.io
            .try_clone_with(|inner| inner.try_clone().map(crate::sys::detach::Detachable::new))
            .map(|io| UdpSocket { io })
    }

    /// Sends one datagram to `target`: `Ok(Some(n))` with `n == buf.len()`, or `Ok(None)` if
    /// the send buffer is full. Never sends a partial datagram.
    ///
    /// # Errors
    ///
    /// `EMSGSIZE` for a datagram too large, `ECONNREFUSED` reported from an earlier
    /// datagram's ICMP error, or another OS error.
    pub fn send_to(&self, buf: &[u8], target: &SocketAddr) -> io::Result<Option<usize>> {
        would_block(|| self.io.do_write(|s| s.send_to(buf, target)))
    }

    /// Receives one datagram: `Ok(Some((n, from)))`, or `Ok(None)` if none is queued. A
    /// datagram longer than `buf` is truncated to `buf.len()` (the rest is discarded).
    ///
    /// # Errors
    ///
    /// The OS error (for example `ECONNREFUSED` from an earlier send).
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<Option<(usize, SocketAddr)>> {
        #[cfg(unix)]
        return would_block(|| self.io.do_read(|s| s.recv_from(buf)));
        #[cfg(windows)]
        return would_block(|| {
            self.io
                .do_read(|_| sys::windows::recv_from(self.io.raw_fd(), buf, Datagram::Take))
        });
    }

    /// Sets the default destination and filters received datagrams to that peer.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn connect(&self, addr: &SocketAddr) -> io::Result<()> {
        self.io.inner().connect(addr)
    }

    /// Sends one datagram to the connected peer; `Ok(None)` if it would block.
    ///
    /// # Errors
    ///
    /// `NotConnected` (as `EDESTADDRREQ`) if not connected, or another OS error.
    pub fn send(&self, buf: &[u8]) -> io::Result<Option<usize>> {
        would_block(|| self.io.do_write(|s| s.send(buf)))
    }

    /// Receives one datagram from the connected peer; `Ok(None)` if none is queued.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        #[cfg(unix)]
        return would_block(|| self.io.do_read(|s| s.recv(buf)));
        #[cfg(windows)]
        return would_block(|| {
            self.io
                .do_read(|_| sys::windows::recv_datagram(self.io.raw_fd(), buf))
        });
    }

    /// Reads the next datagram without removing it; `Ok(None)` if none is queued.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<Option<(usize, SocketAddr)>> {
        #[cfg(unix)]
        return would_block(|| self.io.do_read(|s| s.peek_from(buf)));
        #[cfg(windows)]
        return would_block(|| {
            self.io
                .do_read(|_| sys::windows::recv_from(self.io.raw_fd(), buf, Datagram::Peek))
        });
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.inner().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.inner().broadcast()
    }

    /// Sets the unicast IP time-to-live.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.inner().set_ttl(ttl)
    }

    /// The unicast IP time-to-live.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.inner().ttl()
    }

    /// Joins the multicast group `multi` on the interface the kernel chooses (mio 0.5's
    /// signature): for IPv4, [`join_multicast_v4`](Self::join_multicast_v4) with
    /// `Ipv4Addr::UNSPECIFIED`; for IPv6, [`join_multicast_v6`](Self::join_multicast_v6) with
    /// interface 0.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an address that is not multicast, an error if the group's family
    /// is not the socket's (for example an IPv6 group on an IPv4 socket), `ENODEV` if no
    /// interface can carry it, or another OS error.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::udp::UdpSocket;
    /// use std::net::{IpAddr, Ipv4Addr};
    ///
    /// let socket = UdpSocket::bound(&"0.0.0.0:0".parse().unwrap())?;
    /// let group = IpAddr::V4(Ipv4Addr::new(239, 255, 0, 1));
    /// socket.join_multicast(&group)?;
    /// socket.leave_multicast(&group)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn join_multicast(&self, multi: &IpAddr) -> io::Result<()> {
        match multi {
            IpAddr::V4(group) => self.join_multicast_v4(group, &Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(group) => self.join_multicast_v6(group, 0),
        }
    }

    /// Leaves a multicast group joined with [`join_multicast`](Self::join_multicast).
    ///
    /// # Errors
    ///
    /// `AddrNotAvailable` if the group was not joined, or another OS error.
    pub fn leave_multicast(&self, multi: &IpAddr) -> io::Result<()> {
        match multi {
            IpAddr::V4(group) => self.leave_multicast_v4(group, &Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(group) => self.leave_multicast_v6(group, 0),
        }
    }

    /// Sets whether multicast sent by this socket loops back to local receivers, for the
    /// socket's family (mio 0.5's signature; `set_multicast_loop_v4`/`_v6` name it).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_multicast_loop(&self, on: bool) -> io::Result<()> {
        if self.is_ipv4()? {
            self.set_multicast_loop_v4(on)
        } else {
            self.set_multicast_loop_v6(on)
        }
    }

    /// Sets the multicast time-to-live (IPv4) or hop limit (IPv6) for the socket's family
    /// (mio 0.5's signature).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a negative `ttl` or one above 255, or another OS error.
    pub fn set_multicast_time_to_live(&self, ttl: i32) -> io::Result<()> {
        let ttl = u32::try_from(ttl)
            .ok()
            .filter(|&ttl| ttl <= 255)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a multicast time-to-live must be between 0 and 255",
                )
            })?;
        if self.is_ipv4()? {
            self.set_multicast_ttl_v4(ttl)
        } else {
            self.set_multicast_hops_v6(ttl)
        }
    }

    fn is_ipv4(&self) -> io::Result<bool> {
        // SO_DOMAIN where the OS has it; elsewhere the family of the (possibly unbound,
        // then all-zero) local address.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        return Ok(self.sock().domain()? == Domain::IPV4);
        #[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
        return Ok(self.sock().local_addr()?.is_ipv4());
        #[cfg(windows)]
        return sys::windows::is_ipv4(self.io.raw_fd());
    }

    /// Joins an IPv4 multicast group on the interface with address `interface`
    /// (`Ipv4Addr::UNSPECIFIED` lets the kernel choose).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a non-multicast group, or another OS error.
    pub fn join_multicast_v4(&self, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.io.inner().join_multicast_v4(group, interface)
    }

    /// Leaves an IPv4 multicast group.
    ///
    /// # Errors
    ///
    /// The OS error (for example if the group was not joined).
    pub fn leave_multicast_v4(&self, group: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.io.inner().leave_multicast_v4(group, interface)
    }

    /// Joins an IPv6 multicast group on interface index `interface` (0: any).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn join_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.inner().join_multicast_v6(group, interface)
    }

    /// Leaves an IPv6 multicast group.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn leave_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.inner().leave_multicast_v6(group, interface)
    }

    /// Sets whether IPv4 multicast sent by this socket loops back to local receivers.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.inner().set_multicast_loop_v4(on)
    }

    /// Whether IPv4 multicast loops back.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.inner().multicast_loop_v4()
    }

    /// Sets the IPv4 multicast time-to-live (1: stay on the local network).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.inner().set_multicast_ttl_v4(ttl)
    }

    /// The IPv4 multicast time-to-live.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.io.inner().multicast_ttl_v4()
    }

    /// Sets whether IPv6 multicast loops back to local receivers.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.inner().set_multicast_loop_v6(on)
    }

    /// Whether IPv6 multicast loops back.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.io.inner().multicast_loop_v6()
    }

    /// Sets the IPv6 multicast hop limit.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_multicast_hops_v6(&self, hops: u32) -> io::Result<()> {
        self.sock().set_multicast_hops_v6(hops)
    }

    /// The IPv6 multicast hop limit.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn multicast_hops_v6(&self) -> io::Result<u32> {
        self.sock().multicast_hops_v6()
    }

    /// Sets `IPV6_V6ONLY` (before binding).
    ///
    /// # Errors
    ///
    /// The OS error, for example on an IPv4 socket.
    pub fn set_only_v6(&self, only_v6: bool) -> io::Result<()> {
        self.sock().set_only_v6(only_v6)
    }

    /// Sets `SO_RCVBUF`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        self.sock().set_recv_buffer_size(size)
    }

    /// Sets `SO_SNDBUF`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        self.sock().set_send_buffer_size(size)
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

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.inner().fmt(f)
    }
}

/// Sets socket options before `bind`, for what [`UdpSocket::bound`] does not set: address or
/// port reuse, `IPV6_V6ONLY`, buffer sizes, broadcast.
///
/// Each method consumes the builder and returns it, so calls chain with `?`; [`bind`](Self::bind)
/// makes the socket.
///
/// # Examples
///
/// Two sockets on one port (`SO_REUSEADDR` on both; without it the second bind fails with
/// `AddrInUse`):
///
/// ```
/// use ferrio::udp::UdpBuilder;
///
/// let addr = "127.0.0.1:0".parse().unwrap();
/// let first = UdpBuilder::for_addr(&addr)?.reuse_address(true)?.bind(&addr)?;
/// let port = first.local_addr()?;
/// let second = UdpBuilder::for_addr(&port)?.reuse_address(true)?.bind(&port)?;
/// assert_eq!(second.local_addr()?, port);
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "a builder only holds an unbound socket; call `bind` to make the UdpSocket"]
#[derive(Debug)]
pub struct UdpBuilder {
    socket: Socket,
}

impl UdpBuilder {
    /// A builder for an IPv4 socket.
    ///
    /// # Errors
    ///
    /// The OS error of `socket`.
    pub fn v4() -> io::Result<UdpBuilder> {
        Ok(UdpBuilder {
            socket: new_socket(Domain::IPV4)?,
        })
    }

    /// A builder for an IPv6 socket.
    ///
    /// # Errors
    ///
    /// The OS error of `socket`.
    pub fn v6() -> io::Result<UdpBuilder> {
        Ok(UdpBuilder {
            socket: new_socket(Domain::IPV6)?,
        })
    }

    /// A builder for a socket of `addr`'s family.
    ///
    /// # Errors
    ///
    /// The OS error of `socket`.
    pub fn for_addr(addr: &SocketAddr) -> io::Result<UdpBuilder> {
        Ok(UdpBuilder {
            socket: new_socket(Domain::for_address(*addr))?,
        })
    }

    /// Sets `SO_REUSEADDR`: several sockets that all set it may bind the same port.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn reuse_address(self, reuse: bool) -> io::Result<UdpBuilder> {
        self.socket.set_reuse_address(reuse)?;
        Ok(self)
    }

    /// Sets `SO_REUSEPORT`: several sockets bind the same port and the kernel spreads the
    /// datagrams among them. Unix only: Windows has no such option.
    ///
    /// # Errors
    ///
    /// The OS error.
    #[cfg(unix)]
    pub fn reuse_port(self, reuse: bool) -> io::Result<UdpBuilder> {
        self.socket.set_reuse_port(reuse)?;
        Ok(self)
    }

    /// Sets `IPV6_V6ONLY` (IPv6 sockets only).
    ///
    /// # Errors
    ///
    /// The OS error, for example on an IPv4 socket.
    pub fn only_v6(self, only_v6: bool) -> io::Result<UdpBuilder> {
        self.socket.set_only_v6(only_v6)?;
        Ok(self)
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn broadcast(self, on: bool) -> io::Result<UdpBuilder> {
        self.socket.set_broadcast(on)?;
        Ok(self)
    }

    /// Sets `SO_SNDBUF` (the kernel doubles it and applies its limits).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn send_buffer_size(self, size: usize) -> io::Result<UdpBuilder> {
        self.socket.set_send_buffer_size(size)?;
        Ok(self)
    }

    /// Sets `SO_RCVBUF` (the kernel doubles it and applies its limits).
    ///
    /// # Errors
    ///
    /// The OS error.
    pub fn recv_buffer_size(self, size: usize) -> io::Result<UdpBuilder> {
        self.socket.set_recv_buffer_size(size)?;
        Ok(self)
    }

    /// Binds to `addr` and returns the socket.
    ///
    /// # Errors
    ///
    /// `AddrInUse` (unless every socket on the port set a reuse option), `AddrNotAvailable`,
    /// or another OS error.
    pub fn bind(self, addr: &SocketAddr) -> io::Result<UdpSocket> {
        self.socket.bind(&(*addr).into())?;
        Ok(UdpSocket::wrap(self.socket.into()))
    }
}
