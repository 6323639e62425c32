//! Windows sources: the raw-socket adapter [`EventedSocket`], in place of Unix's `EventedFd`.
//!
//! ferrio's own sockets ([`TcpListener`](crate::tcp::TcpListener),
//! [`TcpStream`](crate::tcp::TcpStream), [`UdpSocket`](crate::udp::UdpSocket)) implement
//! `AsRawSocket`, `AsSocket`, `FromRawSocket` and `IntoRawSocket` on Windows.

use std::io;
use std::os::windows::io::RawSocket;

use crate::event_set::EventSet;
use crate::evented::Evented;
use crate::poll::Registry;
use crate::poll_opt::PollOpt;
use crate::token::Token;

/// Adapts a raw `SOCKET` to [`Evented`], for sockets ferrio does not wrap (one from another
/// library, a socket type ferrio has no source for).
///
/// It holds no state: it does not own the socket and does not track the registration. So,
/// unlike ferrio's own sources, registering it with two different `Poll`s is not detected, and
/// closing the socket is the caller's job (deregister it first).
///
/// ferrio cannot see the IO done on a raw socket, so it cannot re-arm an edge-triggered
/// registration after it (see [`Backend::Iocp`](crate::Backend::Iocp)): an edge-triggered
/// registration through `EventedSocket` is polled level-triggered instead, which gives
/// spurious events (allowed by the contract), never a missed one. Register level-triggered,
/// or drain the socket on every event.
///
/// Only sockets can be registered on Windows (the IOCP backend polls through the socket
/// driver); anything else is an error (`WSAENOTSOCK`).
///
/// # Examples
///
/// ```no_run
/// use ferrio::{Events, EventSet, Poll, PollOpt, Token};
/// use ferrio::windows::EventedSocket;
/// use std::os::windows::io::AsRawSocket;
///
/// let a = std::net::UdpSocket::bind("127.0.0.1:0")?;
/// let b = std::net::UdpSocket::bind("127.0.0.1:0")?;
/// a.set_nonblocking(true)?;
/// let mut poll = Poll::new()?;
/// let socket = a.as_raw_socket();
/// poll.register(&EventedSocket(&socket), Token(0), EventSet::readable(), PollOpt::level())?;
/// b.send_to(b"x", a.local_addr()?)?;
/// let mut events = Events::with_capacity(4);
/// poll.poll(&mut events, None)?;
/// assert_eq!(events.get(0).unwrap().token(), Token(0));
/// poll.deregister(&EventedSocket(&socket))?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct EventedSocket<'a>(pub &'a RawSocket);

/// Edge becomes level: ferrio sees no IO on a raw socket to re-arm an edge after.
fn raw_opts(mut opts: PollOpt) -> PollOpt {
    // Level wins over edge.
    opts.insert(PollOpt::level());
    opts
}

impl Evented for EventedSocket<'_> {
    fn register(
        &self,
        registry: &Registry,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        registry.register_fd(*self.0, token, interest, raw_opts(opts))
    }

    fn reregister(
        &self,
        registry: &Registry,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        registry.reregister_fd(*self.0, token, interest, raw_opts(opts))
    }

    fn deregister(&self, registry: &Registry) -> io::Result<()> {
        registry.deregister_fd(*self.0)
    }
}
