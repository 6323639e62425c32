//! Network sources: [`tcp`], [`udp`] and [`unix`] (Unix-domain sockets), and [`stream_read`]:
//! stream-socket reads that say whether the receive queue was drained.
//!
//! Every socket is created non-blocking and close-on-exec in the same syscall
//! (`SOCK_NONBLOCK | SOCK_CLOEXEC`), and accepted sockets likewise (`accept4`); on Apple
//! systems, which have neither, right after it (`fcntl`; see the platform notes on
//! [`Backend`](crate::Backend)).

pub mod stream_read;
pub mod tcp;
pub mod udp;
pub mod unix;
