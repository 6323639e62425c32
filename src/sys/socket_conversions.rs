//! Windows: `FromRawSocket` for every socket source, the one `unsafe` step of adopting a raw
//! socket (turning it into an `OwnedSocket`); the rest goes through the safe
//! `From<OwnedSocket>` of each source, which switches the socket to non-blocking mode. The
//! counterpart of `fd_conversions` on Unix.

use std::os::windows::io::{FromRawSocket, OwnedSocket, RawSocket};

use crate::net::tcp::{TcpListener, TcpStream};
use crate::net::udp::UdpSocket;

macro_rules! impl_from_raw_socket {
    ($($ty:ident),* $(,)?) => {
        $(
            impl FromRawSocket for $ty {
                #[doc = concat!(
                    "Adopts a raw socket as a [`", stringify!($ty), "`], switching it to ",
                    "non-blocking mode, as `From<OwnedSocket>` does.\n\n",
                    "# Safety\n\n",
                    "`socket` must be an open socket of the right kind that nothing else owns: ",
                    "the new value closes it when dropped (I/O safety, as for ",
                    "[`OwnedSocket::from_raw_socket`])."
                )]
                unsafe fn from_raw_socket(socket: RawSocket) -> $ty {
                    // SAFETY: the caller guarantees that `socket` is open and owned by nobody
                    // else, which is exactly what `OwnedSocket::from_raw_socket` requires.
                    $ty::from(unsafe { OwnedSocket::from_raw_socket(socket) })
                }
            }
        )*
    };
}

impl_from_raw_socket!(TcpListener, TcpStream, UdpSocket);
