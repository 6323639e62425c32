//! [`Backend`]: which OS selector a [`Poll`](crate::Poll) runs on, chosen at run time.

use std::fmt;
use std::io;
use std::str::FromStr;

/// The environment variable that picks the backend of [`Poll::new`](crate::Poll::new) and
/// of an [`EventLoop`](crate::EventLoop) whose config names none.
pub const BACKEND_ENV: &str = "FERRIO_BACKEND";

/// A selector backend. All three pass the same conformance suite; the differences that
/// remain are listed per variant.
///
/// | backend | wait syscall | cost per poll with K registered fds | emulated |
/// |---|---|---|---|
/// | `Epoll` | `epoll_wait` | O(ready) | nothing |
/// | `Poll` | `ppoll` | **O(K)**: the kernel scans every fd, ferrio rebuilds its `pollfd` array after a change | edge and oneshot |
/// | `Uring` | one `io_uring_enter` (submits pending re-arms and waits) | O(ready + re-armed) | level (re-armed every poll) and oneshot |
///
/// # Choosing
///
/// * [`Poll::new`](crate::Poll::new) and [`EventLoop::new`](crate::EventLoop::new) use the
///   `FERRIO_BACKEND` environment variable (`epoll`, `poll` or `uring`) if it is set, and
///   epoll otherwise. This is how the test suite and the benchmarks run under every backend.
/// * [`Poll::with_backend`](crate::Poll::with_backend) and
///   [`EventLoopConfig::backend`](crate::EventLoopConfig::backend) choose explicitly; an
///   explicit choice is not overridden by the environment.
/// * [`Poll::backend`](crate::Poll::backend) reports the backend a `Poll` runs on.
///
/// # Examples
///
/// ```
/// use ferrio::{Backend, Poll};
///
/// let poll = Poll::with_backend(Backend::Poll)?;
/// assert_eq!(poll.backend(), Backend::Poll);
/// assert_eq!("uring".parse::<Backend>()?, Backend::Uring);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Linux epoll: the default. Native edge, level and oneshot. Timed waits use
    /// `epoll_pwait2` (Linux 5.11+), so they end on time to the nanosecond; on older kernels
    /// `epoll_wait`, with the timeout rounded up to whole milliseconds.
    Epoll,
    /// POSIX `poll(2)`, for systems without epoll.
    ///
    /// Level-triggered interest is native. Edge and oneshot are emulated: after reporting
    /// a source, ferrio stops asking the OS about the bits that fired (edge: only those, so a
    /// half-close after an unread readable event is still reported) or about the whole source
    /// (oneshot). An edge bit is re-armed by ferrio's own IO of that direction on the source or
    /// on one of its `try_clone`s (a read re-arms readable, a write writable), by `reregister`,
    /// and, for IO ferrio cannot see, by a probe: a disarmed bit that is no longer ready is
    /// re-armed. Oneshot re-arms only on `reregister`. Registering from another thread while
    /// `poll` blocks wakes it through the selector's wake fd, and the blocked `poll` waits again
    /// on the new set.
    ///
    /// What it cannot do like epoll:
    /// * Edge events follow IO, not only data: a partial read with data left is reported again
    ///   (a spurious event, which the contract allows), and new data that arrives before the
    ///   program's IO on the source is not a separate edge (draining, as the edge contract
    ///   asks, finds it).
    /// * A raw fd ([`EventedFd`](crate::unix::EventedFd)) is re-armed only by the probe, which
    ///   sees a drain only if the fd stays quiet until the next `poll`: a raw fd drained and
    ///   refilled between two polls gets no new edge. While some edge bit is disarmed, a
    ///   `poll` first polls every fd without blocking (when events are ready, that is its only
    ///   syscall; a `poll` that then sleeps makes a second, blocking one).
    /// * A raw fd must be deregistered before it is closed: a closed fd is dropped from the
    ///   set when the next poll sees it invalid (`POLLNVAL`), but if its number is reused
    ///   first, the new file is polled under the old registration. ferrio's own sources
    ///   deregister themselves on drop.
    /// * Each poll costs O(K) in the number K of registered sources, and one more syscall
    ///   (a wake-fd read) when a `Waker` or another thread woke it.
    Poll,
    /// Linux io_uring: readiness through `IORING_OP_POLL_ADD` (needs Linux 5.13 or later).
    ///
    /// Edge-triggered sources use multishot polls; level-triggered and oneshot sources
    /// single-shot polls, re-armed by the next poll (level) or by `reregister` (oneshot).
    /// Pending re-arms and registrations are submitted by the same `io_uring_enter` that
    /// waits, so one poll makes one syscall.
    ///
    /// If the kernel refuses io_uring (too old, disabled by `io_uring_disabled`, blocked by a
    /// seccomp filter), [`Poll::with_backend`](crate::Poll::with_backend) falls back to epoll
    /// and [`Poll::fallback_reason`](crate::Poll::fallback_reason) says why.
    ///
    /// Costs: a level-triggered source that was reported costs one re-armed request (no
    /// extra syscall) in the next poll; `deregister` makes one `io_uring_enter` of its own, as
    /// epoll's `epoll_ctl`, while `register` and `reregister` ride on the next poll's.
    ///
    /// What it cannot do like epoll:
    /// * A raw fd registered through [`EventedFd`](crate::unix::EventedFd) must be
    ///   deregistered before it is closed: the ring holds a reference to the file while it
    ///   polls it, so closing the fd alone neither stops the events (they are dropped by
    ///   ferrio only once the fd number is registered again) nor closes the file. ferrio's own
    ///   sources deregister themselves on drop.
    Uring,
}

impl Backend {
    /// Every backend, in a fixed order (for tests and benchmarks that run all of them).
    pub const ALL: [Backend; 3] = [Backend::Epoll, Backend::Poll, Backend::Uring];

    /// The name used by `FERRIO_BACKEND` and `Display`: `"epoll"`, `"poll"` or `"uring"`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Epoll => "epoll",
            Backend::Poll => "poll",
            Backend::Uring => "uring",
        }
    }

    /// The backend named by the `FERRIO_BACKEND` environment variable, or `None` if it is
    /// unset or empty.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the variable holds anything but `epoll`, `poll` or `uring`
    /// (the message names the valid values).
    pub fn from_env() -> io::Result<Option<Backend>> {
        match std::env::var_os(BACKEND_ENV) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => match v.to_str() {
                Some(s) => s.parse().map(Some),
                None => Err(invalid(&v.to_string_lossy())),
            },
        }
    }
}

impl Default for Backend {
    /// Epoll.
    fn default() -> Backend {
        Backend::Epoll
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = io::Error;

    /// Parses `epoll`, `poll` or `uring` (also `io_uring`, `io-uring`), ignoring ASCII case
    /// and surrounding spaces.
    fn from_str(s: &str) -> io::Result<Backend> {
        let t = s.trim();
        let eq = |name: &str| t.eq_ignore_ascii_case(name);
        if eq("epoll") {
            Ok(Backend::Epoll)
        } else if eq("poll") {
            Ok(Backend::Poll)
        } else if eq("uring") || eq("io_uring") || eq("io-uring") {
            Ok(Backend::Uring)
        } else {
            Err(invalid(s))
        }
    }
}

fn invalid(value: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("unknown ferrio backend {value:?} (in {BACKEND_ENV} or parsed): valid values are \"epoll\", \"poll\" and \"uring\""),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for b in Backend::ALL {
            assert_eq!(b.name().parse::<Backend>().unwrap(), b);
            assert_eq!(b.to_string(), b.name());
        }
        assert_eq!(" IO_URING ".parse::<Backend>().unwrap(), Backend::Uring);
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let err = "kqueue".parse::<Backend>().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let msg = err.to_string();
        assert!(msg.contains("kqueue") && msg.contains("\"epoll\"") && msg.contains("\"uring\""));
        assert!("".parse::<Backend>().is_err());
    }
}
