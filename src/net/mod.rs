//! Network sources: [`tcp`], [`udp`] and [`unix`] (Unix-domain sockets), and [`stream_read`]:
//! stream-socket reads that say whether the receive queue was drained.
//!
//! Every socket is created non-blocking and close-on-exec in the same syscall
//! (`SOCK_NONBLOCK | SOCK_CLOEXEC`), and accepted sockets likewise (`accept4`). On Windows
//! sockets are created non-inheritable and made non-blocking before ferrio hands them out;
//! [`unix`] exists only on Unix.

pub mod stream_read;
pub mod tcp;
pub mod udp;
#[cfg(unix)]
pub mod unix;
