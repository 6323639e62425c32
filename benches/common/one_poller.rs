//! Ping-pong with both ends of a loopback TCP connection on one poller in one thread.
//!
//! A round trip is: the client sends one byte; poll until the server end is readable; the
//! server reads it and sends it back; poll until the client end is readable; the client reads
//! it. Every implementation makes the same syscalls (send, epoll_wait, recv per half), so the
//! differences are the libraries' own user-space work. Sources are edge-triggered and each
//! read takes exactly the one byte in flight, which drains the socket.
//!
//! Shared (with `#[path]`) by the suite and by the callgrind binary.

#![allow(dead_code)] // each bench binary uses a different subset

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};

use crate::raw;

const CLIENT: usize = 0;
const SERVER: usize = 1;

/// Both ends of one connection registered with one poller.
pub trait OnePoller: Sized {
    /// Registers both ends; the streams are connected, non-blocking and `TCP_NODELAY`.
    fn new(client: TcpStream, server: TcpStream) -> io::Result<Self>;
    /// One round trip carrying `byte`.
    fn round_trip(&mut self, byte: u8);
}

fn check_echo(sent: u8, got: u8) {
    assert_eq!(sent, got, "ping-pong: wrong byte came back");
}

// ---------------------------------------------------------------------------------------------
// ferrio

/// Which calls a ferrio implementation reads and writes with.
pub type IoPath = bool;
/// ferrio's own `TryRead::try_read` / `TryWrite::try_write` (`WouldBlock` as `None`).
pub const TRY: IoPath = false;
/// std's `Read::read` / `Write::write` on `&TcpStream` (`WouldBlock` as an error), as mio
/// users write it.
pub const STD: IoPath = true;

/// Reads from a ferrio stream on the chosen path: `Some(n)`, or `None` if it would block.
#[inline(always)]
fn ferrio_read<const PATH: IoPath>(
    stream: &mut ferrio::tcp::TcpStream,
    buf: &mut [u8],
) -> Option<usize> {
    if PATH == STD {
        match (&*stream).read(buf) {
            Ok(n) => Some(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
            Err(e) => panic!("ferrio read: {e}"),
        }
    } else {
        use ferrio::TryRead;
        stream.try_read(buf).expect("ferrio read")
    }
}

/// Writes to a ferrio stream on the chosen path; the one byte always fits.
#[inline(always)]
fn ferrio_write<const PATH: IoPath>(stream: &mut ferrio::tcp::TcpStream, buf: &[u8]) {
    if PATH == STD {
        assert_eq!((&*stream).write(buf).expect("ferrio write"), buf.len());
    } else {
        use ferrio::TryWrite;
        assert_eq!(
            stream.try_write(buf).expect("ferrio write"),
            Some(buf.len())
        );
    }
}

/// ferrio `Poll` with both ends edge-triggered; `PATH` is [`TRY`] or [`STD`].
pub struct FerrioOnePoller<const PATH: IoPath = TRY> {
    poll: ferrio::Poll,
    events: ferrio::Events,
    ends: [ferrio::tcp::TcpStream; 2],
}

impl<const PATH: IoPath> FerrioOnePoller<PATH> {
    /// Polls until `end` is readable, then reads its one byte.
    #[inline]
    fn read_when_ready(&mut self, end: usize) -> u8 {
        let mut buf = [0u8; 1];
        loop {
            self.poll.poll(&mut self.events, None).expect("ferrio poll");
            for event in &self.events {
                if event.token() == ferrio::Token(end) && event.kind().is_readable() {
                    if let Some(n) = ferrio_read::<PATH>(&mut self.ends[end], &mut buf) {
                        assert_eq!(n, 1, "ping-pong: peer closed");
                        return buf[0];
                    }
                }
            }
        }
    }
}

impl<const PATH: IoPath> OnePoller for FerrioOnePoller<PATH> {
    fn new(client: TcpStream, server: TcpStream) -> io::Result<Self> {
        let poll = ferrio::Poll::new()?;
        let ends = [
            ferrio::tcp::TcpStream::from_std(client)?,
            ferrio::tcp::TcpStream::from_std(server)?,
        ];
        for (i, end) in ends.iter().enumerate() {
            poll.register(
                end,
                ferrio::Token(i),
                ferrio::EventSet::readable(),
                ferrio::PollOpt::edge(),
            )?;
        }
        Ok(FerrioOnePoller {
            poll,
            events: ferrio::Events::with_capacity(8),
            ends,
        })
    }

    #[inline]
    fn round_trip(&mut self, byte: u8) {
        ferrio_write::<PATH>(&mut self.ends[CLIENT], &[byte]);
        let b = self.read_when_ready(SERVER);
        ferrio_write::<PATH>(&mut self.ends[SERVER], &[b]);
        check_echo(byte, self.read_when_ready(CLIENT));
    }
}

// ---------------------------------------------------------------------------------------------
// raw epoll

/// Hand-written epoll with both ends edge-triggered.
pub struct EpollOnePoller {
    epoll: raw::Epoll,
    events: [libc::epoll_event; 8],
    ends: [TcpStream; 2],
    fds: [RawFd; 2],
}

impl EpollOnePoller {
    #[inline]
    fn read_when_ready(&mut self, end: usize) -> u8 {
        let mut buf = [0u8; 1];
        loop {
            let n = self.epoll.wait(&mut self.events, -1).expect("epoll_wait");
            for ev in &self.events[..n] {
                let (data, bits) = (ev.u64, ev.events);
                if data == end as u64 && bits & libc::EPOLLIN as u32 != 0 {
                    if let Some(n) = raw::recv(self.fds[end], &mut buf).expect("recv") {
                        assert_eq!(n, 1, "ping-pong: peer closed");
                        return buf[0];
                    }
                }
            }
        }
    }
}

impl OnePoller for EpollOnePoller {
    fn new(client: TcpStream, server: TcpStream) -> io::Result<Self> {
        let epoll = raw::Epoll::new()?;
        let fds = [client.as_raw_fd(), server.as_raw_fd()];
        for (i, &fd) in fds.iter().enumerate() {
            epoll.add(
                fd,
                libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET,
                i as u64,
            )?;
        }
        Ok(EpollOnePoller {
            epoll,
            events: [raw::EMPTY_EVENT; 8],
            ends: [client, server],
            fds,
        })
    }

    #[inline]
    fn round_trip(&mut self, byte: u8) {
        assert_eq!(raw::send(self.fds[CLIENT], &[byte]).expect("send"), Some(1));
        let b = self.read_when_ready(SERVER);
        assert_eq!(raw::send(self.fds[SERVER], &[b]).expect("send"), Some(1));
        check_echo(byte, self.read_when_ready(CLIENT));
    }
}

// ---------------------------------------------------------------------------------------------
// mio

/// mio `Poll` (always edge-triggered).
pub struct MioOnePoller {
    poll: mio::Poll,
    events: mio::Events,
    ends: [mio::net::TcpStream; 2],
}

impl MioOnePoller {
    #[inline]
    fn read_when_ready(&mut self, end: usize) -> u8 {
        let mut buf = [0u8; 1];
        loop {
            self.poll.poll(&mut self.events, None).expect("mio poll");
            for event in self.events.iter() {
                if event.token() == mio::Token(end) && event.is_readable() {
                    match (&self.ends[end]).read(&mut buf) {
                        Ok(n) => {
                            assert_eq!(n, 1, "ping-pong: peer closed");
                            return buf[0];
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => panic!("mio read: {e}"),
                    }
                }
            }
        }
    }
}

impl OnePoller for MioOnePoller {
    fn new(client: TcpStream, server: TcpStream) -> io::Result<Self> {
        let poll = mio::Poll::new()?;
        let mut ends = [
            mio::net::TcpStream::from_std(client),
            mio::net::TcpStream::from_std(server),
        ];
        for (i, end) in ends.iter_mut().enumerate() {
            poll.registry()
                .register(end, mio::Token(i), mio::Interest::READABLE)?;
        }
        Ok(MioOnePoller {
            poll,
            events: mio::Events::with_capacity(8),
            ends,
        })
    }

    #[inline]
    fn round_trip(&mut self, byte: u8) {
        assert_eq!((&self.ends[CLIENT]).write(&[byte]).expect("mio write"), 1);
        let b = self.read_when_ready(SERVER);
        assert_eq!((&self.ends[SERVER]).write(&[b]).expect("mio write"), 1);
        check_echo(byte, self.read_when_ready(CLIENT));
    }
}

// ---------------------------------------------------------------------------------------------
// polling

/// smol's `polling::Poller` with both ends in edge mode (re-armed by the kernel, like epoll ET).
pub struct PollingOnePoller {
    poller: polling::Poller,
    events: polling::Events,
    ends: [TcpStream; 2],
}

impl PollingOnePoller {
    #[inline]
    fn read_when_ready(&mut self, end: usize) -> u8 {
        let mut buf = [0u8; 1];
        loop {
            self.events.clear();
            self.poller
                .wait(&mut self.events, None)
                .expect("polling wait");
            for event in self.events.iter() {
                if event.key == end && event.readable {
                    match (&self.ends[end]).read(&mut buf) {
                        Ok(n) => {
                            assert_eq!(n, 1, "ping-pong: peer closed");
                            return buf[0];
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => panic!("polling read: {e}"),
                    }
                }
            }
        }
    }
}

impl OnePoller for PollingOnePoller {
    fn new(client: TcpStream, server: TcpStream) -> io::Result<Self> {
        let poller = polling::Poller::new()?;
        let ends = [client, server];
        for (i, end) in ends.iter().enumerate() {
            // SAFETY: `Drop` deletes both ends from the poller before the streams close.
            unsafe {
                poller.add_with_mode(end, polling::Event::readable(i), polling::PollMode::Edge)?
            };
        }
        Ok(PollingOnePoller {
            poller,
            events: polling::Events::new(),
            ends,
        })
    }

    #[inline]
    fn round_trip(&mut self, byte: u8) {
        assert_eq!((&self.ends[CLIENT]).write(&[byte]).expect("write"), 1);
        let b = self.read_when_ready(SERVER);
        assert_eq!((&self.ends[SERVER]).write(&[b]).expect("write"), 1);
        check_echo(byte, self.read_when_ready(CLIENT));
    }
}

impl Drop for PollingOnePoller {
    fn drop(&mut self) {
        for end in &self.ends {
            let _ = self.poller.delete(end);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ferrio EventLoop

/// What an [`EventLoopOnePoller`] keeps in use besides the connection: nothing.
pub const PLAIN: u8 = 0;
/// One pending timeout an hour away, so every iteration consults the timer (and the clock).
pub const TIMER: u8 = 1;
/// The loop's channel created and a `Sender` alive but idle, so every iteration runs the
/// channel's sleep/wake handshake.
pub const CHANNEL: u8 = 2;

/// ferrio's `EventLoop` with both ends edge-triggered; a [`PingPongHandler`] reads and echoes.
///
/// A round trip writes the client's byte, then calls `run_once` until the handler has read
/// the echo (two iterations: server end readable, client end readable). `EXTRAS` is
/// [`PLAIN`], [`TIMER`] or [`CHANNEL`]; `PATH` is [`TRY`] or [`STD`].
pub struct EventLoopOnePoller<const EXTRAS: u8, const PATH: IoPath = TRY> {
    event_loop: ferrio::EventLoop<PingPongHandler<PATH>>,
    handler: PingPongHandler<PATH>,
    /// Keeps the channel's sending side alive ([`CHANNEL`]).
    _sender: Option<ferrio::Sender<()>>,
}

/// The loop's handler: the server end echoes each byte, the client end keeps it.
pub struct PingPongHandler<const PATH: IoPath> {
    ends: [ferrio::tcp::TcpStream; 2],
    /// The byte the client end read back, taken by `round_trip`.
    echoed: Option<u8>,
}

impl<const PATH: IoPath> ferrio::Handler for PingPongHandler<PATH> {
    type Timeout = ();
    type Message = ();

    #[inline]
    fn ready(
        &mut self,
        _event_loop: &mut ferrio::EventLoop<Self>,
        token: ferrio::Token,
        events: ferrio::EventSet,
    ) {
        if !events.is_readable() {
            return;
        }
        let end = token.0;
        let mut buf = [0u8; 1];
        if let Some(n) = ferrio_read::<PATH>(&mut self.ends[end], &mut buf) {
            assert_eq!(n, 1, "ping-pong: peer closed");
            if end == SERVER {
                ferrio_write::<PATH>(&mut self.ends[SERVER], &buf);
            } else {
                self.echoed = Some(buf[0]);
            }
        }
    }
}

impl<const EXTRAS: u8, const PATH: IoPath> OnePoller for EventLoopOnePoller<EXTRAS, PATH> {
    fn new(client: TcpStream, server: TcpStream) -> io::Result<Self> {
        let mut event_loop = ferrio::EventLoop::new()?;
        let ends = [
            ferrio::tcp::TcpStream::from_std(client)?,
            ferrio::tcp::TcpStream::from_std(server)?,
        ];
        for (i, end) in ends.iter().enumerate() {
            event_loop.register(
                end,
                ferrio::Token(i),
                ferrio::EventSet::readable(),
                ferrio::PollOpt::edge(),
            )?;
        }
        let mut sender = None;
        match EXTRAS {
            TIMER => {
                let _ = event_loop.timeout_ms((), 3_600_000)?;
            }
            CHANNEL => sender = Some(event_loop.try_channel()?),
            _ => {}
        }
        Ok(EventLoopOnePoller {
            event_loop,
            handler: PingPongHandler { ends, echoed: None },
            _sender: sender,
        })
    }

    #[inline]
    fn round_trip(&mut self, byte: u8) {
        ferrio_write::<PATH>(&mut self.handler.ends[CLIENT], &[byte]);
        let echoed = loop {
            if let Some(b) = self.handler.echoed.take() {
                break b;
            }
            self.event_loop
                .run_once(&mut self.handler, None)
                .expect("ferrio run_once");
        };
        check_echo(byte, echoed);
    }
}

/// A connected loopback TCP pair `(client, server)`, non-blocking, with `TCP_NODELAY`.
pub fn tcp_pair(listener: &std::net::TcpListener) -> io::Result<(TcpStream, TcpStream)> {
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    for s in [&client, &server] {
        s.set_nodelay(true)?;
        s.set_nonblocking(true)?;
    }
    Ok((client, server))
}

/// A listener on an ephemeral loopback port.
pub fn loopback_listener() -> io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind("127.0.0.1:0")
}
