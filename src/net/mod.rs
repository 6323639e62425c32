//! Network sources: [`tcp`], [`udp`] and [`unix`] (Unix-domain sockets), and [`stream_read`]:
//! stream-socket reads that say whether the receive queue was drained.
//!
//! Every socket is created non-blocking and close-on-exec in the same syscall
//! (`SOCK_NONBLOCK | SOCK_CLOEXEC`), and accepted sockets likewise (`accept4`).

pub mod stream_read;
pub mod tcp;
pub mod udp;
pub mod unix;

use std::io;

/// mio 0.5's `take_socket_error` from std's `take_error`: the pending error as `Err`.
pub(crate) fn pending_error(taken: io::Result<Option<io::Error>>) -> io::Result<()> {
    match taken? {
        None => Ok(()),
        Some(err) => Err(err),
    }
}
