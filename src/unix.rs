//! Unix sources: Unix-domain sockets, pipes and the raw-fd adapter [`EventedFd`].
//!
//! * [`UnixStream`] and [`UnixListener`]: connection-oriented Unix sockets (`SOCK_STREAM`),
//!   with file-descriptor passing ([`UnixStream::send_with_fds`],
//!   [`UnixStream::recv_with_fds`], at most [`MAX_FDS_PER_MESSAGE`] fds per message).
//! * [`UnixSocket`]: a stream socket built step by step (bind, then listen or connect), as in
//!   mio 0.5.
//! * [`UnixDatagram`]: connectionless Unix sockets (`SOCK_DGRAM`).
//! * [`pipe()`] with [`PipeReader`] and [`PipeWriter`].
//! * [`EventedFd`]: registers any raw fd.
//!
//! Every fd these types create is non-blocking and close-on-exec from the moment it exists
//! (`SOCK_NONBLOCK | SOCK_CLOEXEC`, `O_NONBLOCK | O_CLOEXEC`, `MSG_CMSG_CLOEXEC` for received
//! fds), and no write ever raises `SIGPIPE`: a closed peer gives `BrokenPipe`. Apple systems
//! lack these flags: there the flags are set right after the fd is made (a `fork` + `exec` in
//! another thread in between inherits it), and `SO_NOSIGPIPE`/`F_SETNOSIGPIPE` keep writes
//! from raising `SIGPIPE`.
//!
//! Socket addresses are [`std::os::unix::net::SocketAddr`]. A path must be shorter than
//! `sun_path` (107 bytes on Linux, 103 on macOS and the BSDs); a longer one is an
//! `InvalidInput` error, never truncated. Abstract names exist on Linux only.
//!
//! The sockets live in `net::unix` with the other network sources; this module gathers what a
//! Unix program registers.

pub use crate::evented_fd::EventedFd;
pub use crate::net::unix::{
    SocketAddr, UnixDatagram, UnixListener, UnixSocket, UnixStream, MAX_FDS_PER_MESSAGE,
};
pub use crate::pipe::{pipe, PipeReader, PipeWriter};
