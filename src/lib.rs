//! ferrio: fast, low-level, non-blocking IO for Rust.
//!
//! ferrio gives servers, proxies and runtimes a thin, readiness-based layer over the OS
//! selector (epoll on Linux, kqueue on macOS and the BSDs, an I/O completion port on Windows,
//! `poll(2)` on any Unix):
//!
//! * [`Poll`] with [`Token`], [`EventSet`], [`PollOpt`], [`IoEvent`] and [`Events`]: register
//!   sources and wait for readiness, edge-, level- or oneshot-triggered.
//! * [`Registry`], a `Send + Sync` handle for registering from other threads, and [`Waker`]
//!   to wake a blocked poll.
//! * [`Backend`]: the selector, chosen at run time: epoll (Linux's default), kqueue (the
//!   default on macOS and the BSDs), IOCP (Windows), `poll(2)` or io_uring; see its
//!   "Platforms" section.
//! * Sources: [`tcp`], [`udp`], [`unix`] (Unix stream/datagram sockets with fd passing, pipes,
//!   raw fds) and [`Io`] (any pollable fd), all non-blocking and close-on-exec; each converts
//!   to and from `OwnedFd`, raw fds and its std type. [`signal::Signals`] (Unix signals) and
//!   [`process::ChildExit`] (a child process's exit) are sources too. On Windows `unix`, `Io`,
//!   `signal` and `process` are absent, the sockets convert to and from `OwnedSocket`, raw
//!   sockets and their std types, and `ferrio::windows` holds the raw-socket adapter
//!   `EventedSocket`.
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
//! # Coming from mio 0.5
//!
//! ferrio keeps the API of mio 0.5.1 (the `EventLoop` era): a program written for it compiles
//! against ferrio renamed to `mio` (`mio = { package = "ferrio", version = ".." }`), except
//! for the differences below, each kept for a reason and each a one-line change. The
//! programs in the repository's `compat/` crate, written against mio 0.5.1's API as its users
//! wrote them (edition 2015, `extern crate mio`), compile and run against ferrio in CI.
//!
//! **The same as mio 0.5.1:** `EventLoop` (`new`, `configured`, `register`/`reregister`/
//! `deregister` with an `EventSet` and a `PollOpt`, `run`, `run_once` with a timeout in
//! milliseconds, `shutdown`, `channel` on `&self`, `timeout_ms`, `clear_timeout`),
//! `EventLoopConfig` (setters on `&mut self`, `timer_wheel_size(1024)`), `Handler`, `Sender`,
//! `NotifyError`, `Timeout`, `TimerError` (which converts into `io::Error`, so
//! `event_loop.timeout_ms(..)?` works in an `io::Result` function), `TimerResult`; `Token`
//! (with `as_usize`), `EventSet` and `PollOpt` with the original's `bits()` (readable `0x1`,
//! writable `0x2`, error `0x4`, hup `0x8`; edge `0x20`, level `0x40`, oneshot `0x80`),
//! `IoEvent { kind, token }`, `TryRead`, `TryWrite`, `TryAccept` (whose `Output` is the
//! stream); `tcp::{TcpStream, TcpListener, Shutdown}` (`accept` returning the peer's address,
//! `take_socket_error` returning `io::Result<()>`, `set_keepalive` in seconds,
//! `connect_stream`, `from_listener`); `udp::UdpSocket` (`bound`, `v4`, `v6`, `bind`,
//! `send_to`/`recv_from` with `Option` results, `join_multicast`/`leave_multicast` taking an
//! `&IpAddr`, `set_multicast_loop`, `set_multicast_time_to_live`, `set_broadcast`);
//! `unix::{UnixSocket, UnixStream, UnixListener, pipe, PipeReader, PipeWriter, EventedFd}`
//! (`UnixListener::accept` returning the stream alone, `read_recv_fd`/`write_send_fd` and
//! their `try_` forms with raw fds); `Io`; `IpAddr`, `Ipv4Addr`, `Ipv6Addr`; `FromRawFd` (and
//! `AsRawFd`, `IntoRawFd`) on every source, `From<Io>` for the pipe ends; `prelude` (with
//! more names, see below);
//! `util::Slab` (`new`, `new_starting_at`, `insert` returning `Result<Token, T>`,
//! `insert_with`, `get`/`get_mut`, indexing, `remove`, `replace` returning `Option<T>`,
//! `replace_with`, `retain` on values, `iter`/`iter_mut` and `for v in &slab` yielding values,
//! `count`, `remaining`, `has_remaining`, `contains`, `clear`, `grow`; ferrio adds `entries`,
//! `retain_entries` and `try_replace` with the tokens); `util::BoundedQueue` (`with_capacity`,
//! `push` handing a value back when full, `pop`, cloned handles).
//!
//! **What differs, why, and the change a mio 0.5 program makes:**
//!
//! * **`Poll::poll(&mut Events, Option<Duration>)`** instead of `poll(Option<usize>)` followed
//!   by `poll.events()`/`poll.event(i)`. The caller owns the events buffer, so events can be
//!   used while the `Poll` is borrowed again (registering from a handler) and one buffer
//!   serves many polls; the timeout is a `Duration`. Change:
//!   `poll.poll(&mut events, ms.map(|ms| Duration::from_millis(ms as u64)))?` with
//!   `let mut events = Events::with_capacity(1024);` made once, then `for event in &events`
//!   (or `events.get(i)`). The `EventLoop` is unchanged.
//! * **`Evented` methods take `&Registry`** instead of `&mut Selector` (ferrio has no public
//!   `Selector`). The `Registry` is thread-safe (`Send + Sync`, shared by clones), so sources
//!   are registered from other threads while the loop blocks. Change, in an `impl Evented`:
//!   `selector: &mut Selector` becomes `registry: &Registry`, delegating as before (and
//!   `use mio::Selector` becomes `use mio::Registry`).
//! * **No `Io` from a plain `RawFd` in safe code.** mio 0.5 had `From<RawFd> for Io` and a safe
//!   `Io::from_raw_fd`; under I/O safety that is unsound (the number may belong to another
//!   owner, who closes it). Change: `Io::from(owned_fd)` (`From<OwnedFd>`, on every source),
//!   or `unsafe { Io::from_raw_fd(fd) }` through std's `FromRawFd`.
//! * **A source registered with one `Poll` or `EventLoop` cannot be registered with a second
//!   one**: that `register` fails with `AlreadyExists`, naming the other `Poll`, instead of
//!   leaving two selectors to report the same fd. Change: `deregister` it from the first one
//!   (then it may be registered anywhere).
//! * **Buffers are bytes 1.x's.** `TryRead::try_read_buf`, `TryWrite::try_write_buf`,
//!   `UnixStream::try_read_buf_recv_fd` and `try_write_buf_send_fd` take `bytes::BufMut` /
//!   `bytes::Buf` (bytes 1), not bytes 0.3's `MutBuf`/`Buf`, whose types (`ByteBuf`,
//!   `MutByteBuf`, `flip`) no maintained crate implements. Taking both is not possible: a
//!   method generic over bytes 1's `BufMut` cannot also accept bytes 0.3's types (the compiler
//!   rejects the two impls as conflicting, E0119, even with bytes 0.3 as a dependency).
//!   Change: use `BytesMut`, `Vec<u8>` or [`buf::RingBuf`] where the program used bytes 0.3's
//!   buffers (`buf.flip()` becomes reading from the front of the same `BytesMut`).
//! * **`TryRead::try_read_buf` is for ferrio's stream sources** (the [`UninitRead`] types),
//!   not for every `Read`: it reads into the buffer's uninitialised memory, which is sound only
//!   through the fd (a generic `Read` may read what it is given). Change, for a `Read` type of
//!   your own: `try_read` into a slice.
//! * **`PollOpt::is_edge`/`is_level` answer what the selector applies.** For
//!   `edge() | level()` mio 0.5 said both; ferrio says level (which wins). Only programs that
//!   set both flags see it; the bits are the original's.
//! * **`UnixSocket::connect` on a full backlog** is a `WouldBlock` error: on Linux the socket
//!   is then not connecting at all, where mio 0.5 returned `(stream, false)` for a stream that
//!   would never connect. Change: treat `WouldBlock` as "retry later".
//! * **`UdpSocket::bound` does not set `SO_REUSEADDR`** (neither did mio 0.5; std does not
//!   either): binding a port in use is `AddrInUse`. To share a port, use
//!   [`udp::UdpBuilder`]`::reuse_address`.
//! * **Readiness has more flags**, outside the original's bits: `EventSet::read_closed`,
//!   `write_closed` and `priority` (bits `0x200`, `0x400`, `0x100`), not in `all()` and never
//!   produced by `!`, so mio 0.5's arithmetic on `bits()` is unchanged; `hup` keeps its
//!   meaning. No change needed.
//! * **`prelude` holds more names** than mio 0.5.1's three (`EventLoop`, `TryRead`,
//!   `TryWrite`): also the readiness types, the TCP sources, `Slab`, `Timeout`, `Sender`, ...
//!   (what a server on the loop imports). A program that glob-imports `mio::prelude::*` next
//!   to another module with one of those names (`use std::net::*` for its `TcpStream`,
//!   `use std::sync::mpsc::*` for its `Sender`) gets ferrio's type there instead of std's, or
//!   an ambiguity error. Change: import the other module's names by name
//!   (`use std::net::{TcpListener, TcpStream};`), which takes precedence over the glob.
//! * **`Debug` output** of `EventSet` and `PollOpt` reads `EventSet(Readable | Hup)` and
//!   `PollOpt(Edge | Oneshot)`, where mio 0.5 printed `Readable | Hup` and
//!   `Edge-Triggered | OneShot`. Only code that parses `Debug` text notices.
//! * **`EventLoop` is `Send`, not `Sync`** (mio 0.5 declared it `Sync` for every handler
//!   without checking its contents). A loop is built on one thread and run on another as
//!   before; what other threads share is its [`Sender`] (`Send + Sync`, cloned). Change, for
//!   a program that shared `&EventLoop` between threads to call `channel()`: call
//!   `event_loop.channel()` once and hand the `Sender` (or its clones) to the threads.
//! * **`Token` does not implement slab 0.1's `Index` trait** (ferrio does not depend on slab
//!   0.1). Change: `slab::Slab<T, Token>` becomes `mio::util::Slab<T>`, which is what mio 0.5's
//!   `util::Slab` was.
//! * **`util::Slab` tokens carry a generation**: a removed entry's token never resolves
//!   again, also after its slot is reused, so the token an insert returns after a remove is
//!   not the freed one (slab 0.1 handed the same number out again). The first token of each
//!   slot is the original's (`start`, `start + 1`, ...). Only programs that assume a freed
//!   token comes back notice; no change for the others. Its `Debug` shows the slab's shape,
//!   not the values, as slab 0.1's did.
//! * **`EventLoopConfig` values that cannot work are refused by `EventLoop::configured`**
//!   with an `InvalidInput` error naming the setting, where mio 0.5 accepted them and failed
//!   later (or aborted): `timer_capacity(0)` (every timeout would fail), `messages_per_tick(0)`
//!   (no message would ever be delivered), a tick below 1 µs or above 60 s, an
//!   `events_capacity` of 0 or above `Events::MAX_CAPACITY`, a `notify_capacity` of 0, above
//!   2^24 or whose ring exceeds 1 GiB. Huge `timer_capacity` values are bounds, not allocations, and
//!   `timer_wheel_size` takes any value. Change, for a program that set one of those values
//!   without using the feature: leave the setting at its default.
//!
//! Converting a source away (`into_std`, `From<Source> for OwnedFd`, `IntoRawFd`) deregisters
//! it if it is registered: its token is never reported again, and the fd stays open. Adopting
//! an fd (`From<OwnedFd>`, `FromRawFd`) switches it to non-blocking mode, because every ferrio
//! source promises that IO never blocks (mio 1.x leaves the mode as it is).
//!
//! ```
//! // mio 0.5:  poll.poll(Some(100))?; for i in 0..n { let event = poll.event(i); .. }
//! use ferrio::{Events, EventSet, Poll, PollOpt, Token};
//! use std::time::Duration;
//!
//! let mut poll = Poll::new()?;
//! let (reader, mut writer) = ferrio::unix::pipe()?;
//! poll.register(&reader, Token(3), EventSet::readable(), PollOpt::edge())?;
//! std::io::Write::write_all(&mut writer, b"!")?;
//! let timeout_ms: Option<usize> = Some(5000);
//! let mut events = Events::with_capacity(1024);
//! let n = poll.poll(&mut events, timeout_ms.map(|ms| Duration::from_millis(ms as u64)))?;
//! assert_eq!(n, 1);
//! for event in &events {
//!     assert_eq!(event.token.as_usize(), 3);
//! }
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

// Fault injection for tests (feature `fault-injection`, off by default; Unix only: the seam is
// in the Unix syscall wrapper).
#[cfg(all(unix, feature = "fault-injection"))]
#[doc(hidden)]
pub use sys::fault as __fault;

#[macro_use]
mod bitset;
#[macro_use]
mod io_source;
#[macro_use]
mod convert;

mod backend;
mod event;
mod event_set;
mod evented;
#[cfg(unix)]
mod evented_fd;
#[macro_use]
mod try_io;
#[cfg(unix)]
mod fd_source;
mod loom;
#[cfg(unix)]
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
#[cfg(unix)]
pub mod unix;
pub mod util;
#[cfg(windows)]
pub mod windows;

pub use backend::{Backend, BACKEND_ENV};
pub use channel::{NotifyError, Sender};
pub use event::{Events, IoEvent, Iter};
pub use event_loop::{EventLoop, EventLoopConfig, Handler};
pub use event_set::EventSet;
pub use evented::Evented;
#[cfg(unix)]
pub use fd_source::Io;
pub use net::stream_read::{StreamRead, TryReadStream};
pub use net::{tcp, udp};
pub use poll::{Poll, Registry};
pub use poll_opt::PollOpt;
pub use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
pub use timer::{Timeout, TimerError, TimerResult};
pub use token::Token;
pub use try_io::{TryAccept, TryRead, TryWrite, UninitRead};
pub use waker::Waker;

/// The README's code blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The loom model's view of the waker (`tests/loom_waker.rs` runs this code, not a copy).
#[cfg(loom)]
#[doc(hidden)]
pub mod __loom {
    pub use crate::sys::waker::WakeState;
}
