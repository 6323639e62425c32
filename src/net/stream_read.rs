//! [`TryReadStream`]: reads from a stream socket that also say whether its receive queue was
//! drained, so an edge-triggered reader can skip the final read that only returns
//! `WouldBlock`.
//!
//! # Why
//!
//! The usual edge-triggered read loop reads until `WouldBlock`: for a request/response
//! protocol that is two `read`s per request, the second one returning nothing. A read that
//! returns *fewer* bytes than the buffer had room for already shows that the socket's
//! receive queue was empty at that moment, and every byte that arrives later produces a new
//! readiness edge, so the reader can stop there and wait for the next event. That saves one
//! syscall per request (tokio applies the same rule inside its `TcpStream`).
//!
//! # When a short read proves the queue was drained
//!
//! [`StreamRead::Drained`] (and [`StreamRead::WouldBlock`]) mean "stop reading until the next
//! readable event; nothing is lost" under all of these conditions:
//!
//! * **The source is a connected TCP or Unix-domain stream socket** ([`TcpStream`],
//!   [`UnixStream`]), read through ferrio (the registered source or one of its
//!   [`try_clone`](crate::tcp::TcpStream::try_clone)s, not a raw fd: on `poll(2)` ferrio's
//!   read is what re-arms the edge, see below), by one reader at a time. Pipes, datagram sockets and
//!   other fds are not covered (a Linux pipe's wake-up rules differ between kernel versions),
//!   which is why the trait is implemented for these two types only.
//! * **The event being handled has neither `hup` nor `error` set.** A read stops at the
//!   peer's FIN (end of stream) even when the buffer has room, and the edge of that FIN may
//!   be the very event being handled: no later event would come for it. So when the event
//!   says `hup` or `error`, read on until [`StreamRead::Eof`], an error or
//!   [`StreamRead::WouldBlock`]. (A FIN or reset that arrives *after* the event was fetched
//!   brings its own event.)
//! * **The peer sends no out-of-band data.** Linux ends a TCP read at the urgent mark of
//!   data sent with `MSG_OOB`, with the bytes after the mark still queued; likewise a
//!   Unix-stream read ends after a message that carried file descriptors (`SCM_RIGHTS`;
//!   a plain read closes them) and, with `SO_PASSCRED` set, between messages of different
//!   senders. Such a short read is not a drain: a peer that does this only delays its own
//!   bytes until it sends again (or until the handler's idle timeout), it cannot touch other
//!   connections. Protocols that use these (telnet, FTP aborts, fd passing) should read until
//!   `WouldBlock`.
//!
//! # Backends
//!
//! The rule holds on every Linux backend, each for its own reason (`tests/short_read_drained.rs`
//! checks it on all three with a writer racing the reader):
//!
//! * **epoll**, registered with [`PollOpt::edge`](crate::PollOpt::edge) (`EPOLLET`): the
//!   socket's wake-up on every arrival queues the fd on the ready list again, whether or not
//!   its last readiness was consumed. A read that came up short saw an empty queue; anything
//!   queued afterwards wakes the socket after it is queued, hence produces an event.
//! * **poll(2)** (`FERRIO_BACKEND=poll`) emulates edges: a reported direction is disarmed
//!   until ferrio's next IO call on the source, which re-arms it. The short read itself is
//!   such a call, so from then on `ppoll` (level-triggered) watches the socket again and
//!   reports any data present at the next wait, whenever it arrived.
//! * **io_uring** (`FERRIO_BACKEND=uring`): edge registrations are one multishot
//!   `POLL_ADD`, which posts a completion on every wake-up of the socket that finds it
//!   readable, like `EPOLLET`; if the kernel ends the request, the next `select` submits a
//!   fresh one, which checks readiness when it is armed.
//! * **kqueue** (macOS and the BSDs; compiled, not run, in CI): `EV_CLEAR` knotes are
//!   activated by every arrival of data (the socket's wake-up calls the filter), whether or
//!   not the last event was consumed, as epoll's `EPOLLET`: the same argument, by reading of
//!   the kernels' sources, not tested on one.
//!
//! * **IOCP** (Windows) emulates edges as poll(2) does: a reported direction's AFD poll is not
//!   asked again until ferrio's next IO call of that direction, and the short read is one, so
//!   the next `select` asks again and the request completes at once if data is there.
//!
//! Level-triggered and oneshot registrations need no argument: level reports the socket again
//! while data is queued, and `reregister` after a oneshot event re-checks readiness.
//!
//! [`TcpStream`]: crate::tcp::TcpStream
//! [`UnixStream`]: crate::unix::UnixStream

use std::io::{self, Read};

use bytes::BufMut;

use crate::net::tcp::TcpStream;
#[cfg(unix)]
use crate::net::unix::UnixStream;
use crate::try_io::UninitRead;

/// What one read from a stream socket returned, and what it proves about the socket's receive
/// queue. Returned by [`TryReadStream`]'s methods.
///
/// See the [module docs](crate::net::stream_read) for exactly when
/// [`Drained`](StreamRead::Drained) may be trusted.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamRead {
    /// This many bytes were read and they filled the buffer: more may be queued, read again.
    /// `Filled(0)` is returned, without a syscall, for a buffer with no room.
    Filled(usize),
    /// This many bytes (at least 1) were read, fewer than the buffer had room for: the
    /// receive queue was drained, and data arriving later brings a new readable event.
    Drained(usize),
    /// End of stream: the peer closed its write side. Later reads return `Eof` again.
    Eof,
    /// Nothing was queued (`WouldBlock`): the queue is drained, as with `Drained`.
    WouldBlock,
}

impl StreamRead {
    /// The number of bytes read (0 for `Eof` and `WouldBlock`).
    pub fn bytes(self) -> usize {
        match self {
            StreamRead::Filled(n) | StreamRead::Drained(n) => n,
            StreamRead::Eof | StreamRead::WouldBlock => 0,
        }
    }

    /// Whether the read proves the receive queue was drained (`Drained` or `WouldBlock`):
    /// the reader may wait for the next readable event, subject to the conditions in the
    /// [module docs](crate::net::stream_read).
    pub fn is_drained(self) -> bool {
        matches!(self, StreamRead::Drained(_) | StreamRead::WouldBlock)
    }

    /// Classifies `read`'s result for a buffer that had `room` bytes of space.
    #[inline]
    fn classify(read: io::Result<usize>, room: usize) -> io::Result<StreamRead> {
        match read {
            Ok(0) => Ok(StreamRead::Eof),
            Ok(n) if n < room => Ok(StreamRead::Drained(n)),
            Ok(n) => Ok(StreamRead::Filled(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(StreamRead::WouldBlock),
            Err(e) => Err(e),
        }
    }
}

mod sealed {
    /// Keeps [`TryReadStream`](super::TryReadStream) to the stream sockets it is sound for.
    pub trait Sealed {}
}

/// Non-blocking reads from a TCP or Unix stream socket that report whether the receive queue
/// was drained ([`StreamRead`]).
///
/// Implemented for [`TcpStream`], [`UnixStream`] and references to them; sealed, because the
/// drain rule is a property of stream sockets (see the [module docs](crate::net::stream_read)
/// for when it holds). Both methods retry on `Interrupted` and go through the source's own IO
/// path, so the `poll(2)` backend re-arms the source's edge.
///
/// # Examples
///
/// An edge-triggered reader that stops at a short read instead of reading until
/// `WouldBlock`:
///
/// ```
/// use ferrio::{Events, EventSet, Poll, PollOpt, StreamRead, Token, TryReadStream, TryWrite};
/// use ferrio::unix::UnixStream;
/// use std::time::Duration;
///
/// let (mut ours, mut peer) = UnixStream::pair()?;
/// let mut poll = Poll::new()?;
/// poll.register(&ours, Token(1), EventSet::readable(), PollOpt::edge())?;
/// let mut events = Events::with_capacity(4);
/// let mut buf = [0u8; 4096];
/// let mut received = Vec::new();
///
/// for message in [&b"hello"[..], b"world"] {
///     peer.try_write(message)?;
///     poll.poll(&mut events, Some(Duration::from_secs(5)))?;
///     let kind = events.get(0).unwrap().kind();
///     // Trust a short read only when the event carries no hup or error.
///     let trust_short_read = !kind.is_hup() && !kind.is_error();
///     loop {
///         let read = ours.try_read_stream(&mut buf)?;
///         received.extend_from_slice(&buf[..read.bytes()]);
///         match read {
///             StreamRead::Eof | StreamRead::WouldBlock => break,
///             StreamRead::Drained(_) if trust_short_read => break, // one read, not two
///             _ => {}
///         }
///     }
/// }
/// assert_eq!(received, b"helloworld");
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait TryReadStream: sealed::Sealed {
    /// Reads into `buf` and classifies the result: [`StreamRead::Filled`] if the bytes
    /// filled `buf`, [`StreamRead::Drained`] if they were fewer, [`StreamRead::Eof`] at end
    /// of stream, [`StreamRead::WouldBlock`] if nothing was queued. An empty `buf` gives
    /// `Filled(0)` without a syscall.
    ///
    /// # Errors
    ///
    /// The OS error of the read, other than `WouldBlock` and `Interrupted` (for example
    /// `ConnectionReset`).
    fn try_read_stream(&mut self, buf: &mut [u8]) -> io::Result<StreamRead>;

    /// Reads into the spare capacity of a [`BufMut`] (straight into its uninitialised memory,
    /// as [`TryRead::try_read_buf`](crate::TryRead::try_read_buf) does) and advances it by
    /// the bytes read. "Room" is the buffer's first contiguous chunk
    /// ([`BufMut::chunk_mut`]), which is what one read fills. A buffer with no room at all
    /// ([`BufMut::has_remaining_mut`] false) gives `Filled(0)` without a syscall.
    ///
    /// Note that `Vec<u8>`'s `chunk_mut` reserves 64 more bytes when the vector is full;
    /// reserve the room you want before reading.
    ///
    /// # Errors
    ///
    /// As [`try_read_stream`](Self::try_read_stream).
    fn try_read_stream_buf<B: BufMut + ?Sized>(&mut self, buf: &mut B) -> io::Result<StreamRead>;
}

/// Implements the trait for a stream source and a shared reference to it, through the
/// source's `Read` and `UninitRead` impls (which re-arm emulated edges).
macro_rules! impl_try_read_stream {
    ($($ty:ty),*) => {$(
        impl sealed::Sealed for $ty {}

        impl TryReadStream for $ty {
            #[inline]
            fn try_read_stream(&mut self, buf: &mut [u8]) -> io::Result<StreamRead> {
                if buf.is_empty() {
                    return Ok(StreamRead::Filled(0));
                }
                let room = buf.len();
                loop {
                    match StreamRead::classify(self.read(buf), room) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        other => return other,
                    }
                }
            }

            #[inline]
            fn try_read_stream_buf<B: BufMut + ?Sized>(
                &mut self,
                buf: &mut B,
            ) -> io::Result<StreamRead> {
                if !buf.has_remaining_mut() {
                    return Ok(StreamRead::Filled(0));
                }
                let room = buf.chunk_mut().len();
                loop {
                    match StreamRead::classify(self.read_uninit(buf), room) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        other => return other,
                    }
                }
            }
        }
    )*};
}

impl_try_read_stream!(TcpStream, &TcpStream);
#[cfg(unix)]
impl_try_read_stream!(UnixStream, &UnixStream);
