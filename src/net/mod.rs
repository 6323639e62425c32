//! Network sources: [`tcp`], [`udp`] and [`unix`] (Unix-domain sockets), and [`stream_read`]:
//! stream-socket reads that say whether the receive queue was drained.
//!
//! Every socket is created non-blocking and close-on-exec in the same syscall
//! (`SOCK_NONBLOCK | SOCK_CLOEXEC`), and accepted sockets likewise (`accept4`); on Apple
//! systems, which have neither, right after it (`fcntl`; see the platform notes on
//! [`Backend`](crate::Backend)). On Windows sockets are created non-inheritable and made
//! non-blocking before ferrio hands them out; [`unix`] exists only on Unix.

pub mod stream_read;
pub mod tcp;
pub mod udp;
#[cfg(unix)]
pub mod unix;

use std::io;

/// mio 0.5's `take_socket_error` from std's `take_error`: the pending error as `Err`.
pub(crate) fn pending_error(taken: io::Result<Option<io::Error>>) -> io::Result<()> {
    match taken? {
        None => Ok(()),
        Some(err) => Err(err),
    }
}
