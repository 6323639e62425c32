//! [`Io`]: any pollable file descriptor as an owning source (mio 0.5's `Io`).

use std::fs::File;
use std::io;

use crate::convert::{new_io, SourceIo};
use crate::sys;

/// An owned file descriptor of any pollable kind (a socket, a pipe, an eventfd, a tty, a
/// `signalfd`, ...) as a source: registered like the others, read and written with `read(2)`
/// and `writev(2)`, closed on drop. mio 0.5's `Io`.
///
/// Build it from an [`OwnedFd`](std::os::fd::OwnedFd) (`Io::from(fd)`), or, as mio 0.5
/// programs did, with the `unsafe` [`FromRawFd::from_raw_fd`](std::os::fd::FromRawFd). Either
/// way the fd is switched to non-blocking mode. mio 0.5 also let safe code build an `Io` from
/// any `RawFd` (`From<RawFd>`, a safe `Io::from_raw_fd`); that is unsound under I/O safety
/// (the number may belong to another owner, who closes it), so ferrio does not offer it.
///
/// Writes never raise `SIGPIPE` (it is blocked around the write, as for [`PipeWriter`]): a
/// closed reader gives `BrokenPipe`. Prefer the typed sources ([`TcpStream`], [`UnixStream`],
/// [`PipeReader`], ...) when they fit; to register an fd you do not own, use
/// [`EventedFd`](crate::unix::EventedFd).
///
/// [`PipeWriter`]: crate::unix::PipeWriter
/// [`PipeReader`]: crate::unix::PipeReader
/// [`TcpStream`]: crate::tcp::TcpStream
/// [`UnixStream`]: crate::unix::UnixStream
///
/// # Examples
///
/// ```
/// use ferrio::{Events, EventSet, Io, Poll, PollOpt, Token, TryRead};
/// use std::io::Write;
/// use std::os::fd::OwnedFd;
/// use std::os::unix::net::UnixStream;
/// use std::time::Duration;
///
/// let (a, mut b) = UnixStream::pair()?;
/// let mut io = Io::from(OwnedFd::from(a)); // now non-blocking
/// let mut poll = Poll::new()?;
/// poll.register(&io, Token(0), EventSet::readable(), PollOpt::edge())?;
/// b.write_all(b"hi")?;
/// let mut events = Events::with_capacity(4);
/// poll.poll(&mut events, Some(Duration::from_secs(5)))?;
/// let mut buf = [0u8; 8];
/// assert_eq!(io.try_read(&mut buf)?, Some(2));
/// assert_eq!(io.try_read(&mut buf)?, None); // drained: would block
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Io {
    io: SourceIo<File>,
}

impl_evented_via_io_source!(Io);
impl_fd_conversions!(Io, File);
impl_source_read!(Io, sys::fd::read);
impl_source_write!(Io, sys::fd::pipe_write_one, sys::fd::pipe_write);

impl Io {
    fn wrap(file: File) -> Io {
        Io { io: new_io(file) }
    }

    /// A new handle to the same open file (a `dup`, close-on-exec), not registered. The two
    /// share readiness: register only one of them. IO through either re-arms the other's
    /// registration where edges are emulated (poll(2)), as for the typed sources' clones.
    ///
    /// # Errors
    ///
    /// The OS error (for example `EMFILE`).
    pub fn try_clone(&self) -> io::Result<Io> {
        self.io
            .try_clone_with(|inner| inner.try_clone().map(crate::sys::detach::Detachable::new))
            .map(|io| Io { io })
    }
}
