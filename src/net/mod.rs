//! Network sources: [`tcp`], [`udp`] and [`unix`] (Unix-domain sockets).
//!
//! Every socket is created non-blocking and close-on-exec in the same syscall
//! (`SOCK_NONBLOCK | SOCK_CLOEXEC`), and accepted sockets likewise (`accept4`).

pub mod tcp;
pub mod udp;
pub mod unix;
