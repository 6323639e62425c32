//! The OS edge: every raw syscall and almost all `unsafe` code of ferrio lives below this module.
//!
//! # The backend contract
//!
//! A selector backend is one file in this directory (`epoll.rs` today; `poll.rs` and `uring.rs`
//! are planned). The layers above (`Poll`, `Registry`, `Waker`, the sources and the event loop)
//! use only the items listed here, so a new backend slots in without touching them.
//!
//! A backend provides:
//!
//! * **`Selector`**: `Send + Sync`, shared behind an `Arc` by `Poll` and every `Registry` clone.
//!   - `new() -> io::Result<Selector>`: the OS object(s), created close-on-exec.
//!   - `id() -> usize`: unique per selector in the process, never reused, never 0.
//!   - `register(fd, Token, EventSet, PollOpt)`, `reregister(..)`, `deregister(fd)`: callable
//!     from any thread, also while another thread is blocked in `select`. The new interest takes
//!     effect no later than the next `select` that starts after the call returns; a call made
//!     during a blocked `select` must either be seen by it or wake it (a spurious wake-up is
//!     allowed). After `deregister` returns, no `select` that starts later reports the fd.
//!     `register` of an fd the selector already has fails with `AlreadyExists`; `reregister`
//!     and `deregister` of an fd it does not have fail with `NotFound`.
//!   - `select(&mut Events, Option<Duration>) -> io::Result<()>`: blocks until at least one
//!     event, a wake-up or the timeout. The timeout is rounded **up** to the backend's
//!     resolution (never down: a 0.3 ms timeout must not become a busy zero-timeout poll);
//!     `Duration::ZERO` polls without blocking; `None` blocks indefinitely. A signal
//!     interrupting the wait is reported as `ErrorKind::Interrupted`, never retried silently.
//!     At most one event per fd per call (readable and writable merged into one `EventSet`).
//!   - `wake_pending: AtomicBool`-style coalescing owned by the selector (see `Waker`).
//!
//! * **`Events`**: the raw OS event buffer: `with_capacity`, `capacity`, `len`, `clear`,
//!   `get(i) -> Option<(Token, EventSet)>`. Filled only by `Selector::select`; no allocation
//!   after construction.
//!
//! * **`Waker`**: `new(&Arc<Selector>, Token)`, `wake()`. Wakes a blocked `select` from any
//!   thread. Wakes coalesce: between two `select` calls, any number of `wake` calls make at most
//!   one syscall and produce at most one event. One `Waker` per selector at a time (a second one
//!   is an `AlreadyExists` error until the first is dropped).
//!
//! * **Readiness mapping**: the backend translates its native flags to [`EventSet`]: readable,
//!   writable, error (a pending socket error), hup (the peer closed its write side or both).
//!   A healthy, connected socket must never report stray error or hup bits.
//!
//! * **Per-source state and emulation** (`NEEDS_REARM`): backends whose OS has no native edge
//!   or oneshot mode (poll(2)) emulate them: oneshot disarms the fd after one report until
//!   `reregister`; edge disarms the reported directions after one report and re-arms them when
//!   the source's own IO returns `WouldBlock` (the sources call [`IoSource::do_io`]) or on
//!   `reregister`. A backend sets `NEEDS_REARM = true` to ask for those calls; epoll sets it to
//!   `false`, so its IO path pays nothing. Level-triggered interest needs no emulation anywhere.
//!
//! [`EventSet`]: crate::EventSet
//! [`IoSource::do_io`]: crate::io_source::IoSource
//!
//! Besides the selector, this layer offers thin, documented wrappers for the other syscalls
//! the sources need (`accept4`, `pipe2`, `send` with `MSG_NOSIGNAL`, `sendmsg`/`recvmsg` with
//! `SCM_RIGHTS`), each creating fds non-blocking and close-on-exec atomically.

#[macro_use]
mod syscall;

#[path = "epoll.rs"]
mod selector;

pub(crate) mod fd;
pub(crate) mod mmsg;
pub(crate) mod unix_msg;

pub(crate) use selector::{Events, Selector, Waker, NEEDS_REARM};
