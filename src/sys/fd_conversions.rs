//! `FromRawFd` for every source: the one `unsafe` step of adopting a raw fd, turning it into an
//! `OwnedFd`. Everything else goes through the safe `From<OwnedFd>` of each source (see
//! `crate::convert` for what adopting does: it switches the fd to non-blocking mode).

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use crate::fd_source::Io;
use crate::net::tcp::{TcpListener, TcpStream};
use crate::net::udp::UdpSocket;
use crate::net::unix::{UnixDatagram, UnixListener, UnixSocket, UnixStream};
use crate::pipe::{PipeReader, PipeWriter};

macro_rules! impl_from_raw_fd {
    ($($ty:ident),* $(,)?) => {
        $(
            impl FromRawFd for $ty {
                #[doc = concat!(
                    "Adopts a raw fd as a [`", stringify!($ty), "`], switching it to ",
                    "non-blocking mode, as `From<OwnedFd>` does.\n\n",
                    "# Safety\n\n",
                    "`fd` must be an open file descriptor of the right kind (a socket of the ",
                    "type's family and type, or a pipe end) that nothing else owns: the new ",
                    "value closes it when dropped. Passing an fd that is closed, or owned and ",
                    "later closed elsewhere, is undefined behaviour (I/O safety), as for ",
                    "[`OwnedFd::from_raw_fd`]."
                )]
                unsafe fn from_raw_fd(fd: RawFd) -> $ty {
                    // SAFETY: the caller guarantees that `fd` is open and owned by nobody
                    // else, which is exactly what `OwnedFd::from_raw_fd` requires.
                    $ty::from(unsafe { OwnedFd::from_raw_fd(fd) })
                }
            }
        )*
    };
}

impl_from_raw_fd!(
    TcpListener,
    TcpStream,
    UdpSocket,
    UnixStream,
    UnixListener,
    UnixDatagram,
    UnixSocket,
    PipeReader,
    PipeWriter,
    Io,
);
