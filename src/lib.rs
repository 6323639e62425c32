//! ferrio: fast, low-level, non-blocking IO for Rust.
//!
//! ferrio gives servers, proxies and runtimes a thin, readiness-based layer over the OS
//! selector (epoll on Linux):
//!
//! * [`Poll`] with [`Token`], [`EventSet`], [`PollOpt`], [`IoEvent`] and [`Events`]: register
//!   sources and wait for readiness, edge-, level- or oneshot-triggered.
//! * [`Registry`], a `Send + Sync` handle for registering from other threads, and [`Waker`]
//!   to wake a blocked poll.
//! * [`Backend`]: the selector, chosen at run time: epoll (default), `poll(2)` or io_uring.
//! * Sources: [`tcp`], [`udp`], [`unix`] (Unix stream/datagram sockets with fd passing, pipes,
//!   raw fds), all non-blocking and close-on-exec; [`signal::Signals`] (Unix signals) and
//!   [`process::ChildExit`] (a child process's exit) as sources too.
//! * [`TryRead`], [`TryWrite`], [`TryAccept`]: IO where "would block" is `Ok(None)`;
//!   [`TryReadStream`]: stream-socket reads that say whether the queue was drained, saving the
//!   read that only returns `WouldBlock` under edge-triggering.
//!
//! # Example
//!
//! ```
//! use ferrio::{Events, EventSet, Poll, PollOpt, Token, TryRead, TryWrite};
//! use ferrio::tcp::{TcpListener, TcpStream};
//! use std::time::Duration;
//!
//! const SERVER: Token = Token(0);
//! const CLIENT: Token = Token(1);
//!
//! let mut poll = Poll::new()?;
//! let server = TcpListener::bind(&"127.0.0.1:0".parse().unwrap())?;
//! poll.register(&server, SERVER, EventSet::readable(), PollOpt::edge())?;
//! let mut client = TcpStream::connect(&server.local_addr()?)?;
//! poll.register(&client, CLIENT, EventSet::writable(), PollOpt::edge())?;
//!
//! let mut events = Events::with_capacity(16);
//! let mut accepted = None;
//! let mut sent = false;
//! while accepted.is_none() || !sent {
//!     poll.poll(&mut events, Some(Duration::from_secs(5)))?;
//!     for event in &events {
//!         match event.token() {
//!             SERVER => while let Some((stream, _)) = server.accept()? { accepted = Some(stream) },
//!             CLIENT => sent = client.try_write(b"hi")? == Some(2),
//!             _ => unreachable!(),
//!         }
//!     }
//! }
//! let mut stream = accepted.unwrap();
//! poll.register(&stream, Token(2), EventSet::readable(), PollOpt::level())?;
//! poll.poll(&mut events, Some(Duration::from_secs(5)))?;
//! let mut buf = [0u8; 2];
//! assert_eq!(stream.try_read(&mut buf)?, Some(2));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Reliability
//!
//! What ferrio promises under faults, bad input and load, each next to the test that checks
//! it, is listed in `RELIABILITY.md` at the repository root. In short:
//!
//! * A signal interrupting a wait is `ErrorKind::Interrupted` from [`Poll::poll`]; the
//!   [`EventLoop`] calls [`Handler::interrupted`], goes on, and recomputes its sleep from the
//!   earliest timer deadline, so timers still fire on time.
//! * Out of file descriptors, [`TcpListener::accept_or_shed`](tcp::TcpListener::accept_or_shed)
//!   sheds pending connections with a spare fd ([`FdReserve`](tcp::FdReserve)) instead of
//!   letting the listener spin the loop; accepting resumes once fds are free. A reset
//!   connection (`ECONNABORTED`) is skipped by `accept`.
//! * A failed `register` (`ENOMEM`, `ENOSPC`, ...) leaves no registration state and no fd
//!   behind; registering again later works.
//! * A wake always lands, also when the eventfd counter is full; a failed wake is reported
//!   and does not swallow the next one.
//! * After `deregister` or drop, a source's token is never reported again (also when its fd
//!   number is reused or its fd was duplicated); the event loop skips events already fetched
//!   for it in the current batch.
//! * Writes never raise `SIGPIPE`; short writes and `WouldBlock` advance buffers by exactly
//!   the bytes written.
#![deny(missing_docs, unsafe_op_in_unsafe_fn, unsafe_code)]
#![warn(missing_debug_implementations, rust_2018_idioms)]

#[allow(unsafe_code)]
mod sys;

// Fault injection for tests (feature `fault-injection`, off by default).
#[cfg(feature = "fault-injection")]
#[doc(hidden)]
pub use sys::fault as __fault;

#[macro_use]
mod bitset;
#[macro_use]
mod io_source;

mod backend;
mod event;
mod event_set;
mod evented;
mod evented_fd;
#[macro_use]
mod try_io;
mod loom;
mod pipe;
mod poll;
mod poll_opt;
mod token;
mod waker;

pub mod buf;
pub mod channel;
mod event_loop;
pub mod net;
pub mod prelude;
#[cfg(unix)]
pub mod process;
#[cfg(unix)]
pub mod signal;
pub mod timer;
pub mod unix;
pub mod util;

pub use backend::{Backend, BACKEND_ENV};
pub use channel::{NotifyError, Sender};
pub use event::{Events, IoEvent, Iter};
pub use event_loop::{EventLoop, EventLoopConfig, Handler};
pub use event_set::EventSet;
pub use evented::Evented;
pub use net::stream_read::{StreamRead, TryReadStream};
pub use net::{tcp, udp};
pub use poll::{Poll, Registry};
pub use poll_opt::PollOpt;
pub use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
pub use timer::{Timeout, TimerError, TimerResult};
pub use token::Token;
pub use try_io::{TryAccept, TryRead, TryWrite, UninitRead};
pub use waker::Waker;

/// The loom model's view of the waker (`tests/loom_waker.rs` runs this code, not a copy).
#[cfg(loom)]
#[doc(hidden)]
pub mod __loom {
    pub use crate::sys::waker::WakeState;
}
