//! [`Backend`]: which OS selector a [`Poll`](crate::Poll) runs on, chosen at run time.

use std::fmt;
use std::io;
use std::str::FromStr;

/// The environment variable that picks the backend of [`Poll::new`](crate::Poll::new) and
/// of an [`EventLoop`](crate::EventLoop) whose config names none.
pub const BACKEND_ENV: &str = "FERRIO_BACKEND";

/// A selector backend. The three Linux backends pass the same conformance suite, and IOCP
/// the part of it that applies to Windows; the differences that remain are listed per variant.
///
/// | backend | wait syscall | cost per poll with K registered fds | emulated |
/// |---|---|---|---|
/// | `Epoll` | `epoll_wait` | O(ready) | nothing |
/// | `Poll` | `ppoll` | **O(K)**: the kernel scans every fd, ferrio rebuilds its `pollfd` array after a change | edge and oneshot |
/// | `Uring` | one `io_uring_enter` (submits pending re-arms and waits) | O(ready + re-armed) | level (re-armed every poll) and oneshot |
/// | `Iocp` (Windows) | `GetQueuedCompletionStatusEx` (after re-submitting the AFD polls due) | O(ready + re-armed) | edge, level and oneshot (an AFD poll reports once) |
///
/// # Choosing
///
/// * [`Poll::new`](crate::Poll::new) and [`EventLoop::new`](crate::EventLoop::new) use the
///   `FERRIO_BACKEND` environment variable (`epoll`, `poll`, `uring` or `iocp`) if it is
///   set, and [`Backend::DEFAULT`] otherwise (epoll on Linux, IOCP on Windows). This is how the test suite and the benchmarks run under every backend.
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
    /// Windows: an I/O completion port on which the readiness of sockets arrives as completed
    /// AFD polls (`IOCTL_AFD_POLL` on `\Device\Afd`, the approach of wepoll and mio). The
    /// only backend on Windows, and only there.
    ///
    /// An AFD poll reports once and is then gone, so ferrio re-submits it as the mode needs:
    /// level-triggered at the next poll after a report, edge-triggered after ferrio's next IO
    /// call of that direction on the source (as for [`Backend::Poll`], a partial read with data
    /// left is reported again, and a write makes the next poll report writable again),
    /// oneshot on `reregister`. The waker is a completion packet posted to the port
    /// (`PostQueuedCompletionStatus`); the wait is `GetQueuedCompletionStatusEx` with the
    /// timeout rounded up to whole milliseconds.
    ///
    /// What it cannot do like epoll:
    /// * Only sockets can be registered (AFD polls sockets); anything else is an error.
    /// * A raw socket registered edge-triggered through
    ///   `ferrio::windows::EventedSocket` is polled level-triggered (ferrio
    ///   cannot see its IO to re-arm it): spurious events, never a missed one.
    /// * `register` and `reregister` each make one `NtDeviceIoControlFile` call per direction
    ///   of interest, `deregister` one `NtCancelIoFileEx` per direction still polled.
    /// * Tested under Wine 8 on Linux in CI, not on Windows itself.
    Iocp,
}

impl Backend {
    /// Every backend of this platform, in a fixed order (for tests and benchmarks that run all
    /// of them): epoll, poll(2) and io_uring on Linux, IOCP on Windows.
    #[cfg(unix)]
    pub const ALL: [Backend; 3] = [Backend::Epoll, Backend::Poll, Backend::Uring];
    /// Every backend of this platform, in a fixed order (for tests and benchmarks that run all
    /// of them): epoll, poll(2) and io_uring on Linux, IOCP on Windows.
    #[cfg(windows)]
    pub const ALL: [Backend; 1] = [Backend::Iocp];

    /// The platform's default backend: epoll on Linux, IOCP on Windows.
    #[cfg(unix)]
    pub const DEFAULT: Backend = Backend::Epoll;
    /// The platform's default backend: epoll on Linux, IOCP on Windows.
    #[cfg(windows)]
    pub const DEFAULT: Backend = Backend::Iocp;

    /// The error of asking for a backend this platform does not have.
    pub(crate) fn unavailable(self) -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!("the {self} backend does not exist on this platform"),
        )
    }

    /// The name used by `FERRIO_BACKEND` and `Display`: `"epoll"`, `"poll"`, `"uring"` or
    /// `"iocp"`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Epoll => "epoll",
            Backend::Poll => "poll",
            Backend::Uring => "uring",
            Backend::Iocp => "iocp",
        }
    }

    /// The backend named by the `FERRIO_BACKEND` environment variable, or `None` if it is
    /// unset or empty.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the variable holds anything but `epoll`, `poll`, `uring` or `iocp`
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
    /// [`Backend::DEFAULT`]: epoll on Linux, IOCP on Windows.
    fn default() -> Backend {
        Backend::DEFAULT
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = io::Error;

    /// Parses `epoll`, `poll`, `uring` (also `io_uring`, `io-uring`) or `iocp`, ignoring ASCII case
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
        } else if eq("iocp") {
            Ok(Backend::Iocp)
        } else {
            Err(invalid(s))
        }
    }
}

fn invalid(value: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("unknown ferrio backend {value:?} (in {BACKEND_ENV} or parsed): valid values are \"epoll\", \"poll\", \"uring\" and \"iocp\""),
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
    fn a_backend_of_another_platform_is_unsupported() {
        #[cfg(unix)]
        let other = Backend::Iocp;
        #[cfg(windows)]
        let other = Backend::Epoll;
        assert!(!Backend::ALL.contains(&other));
        let err = crate::poll::Poll::with_backend(other).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
        assert_eq!("IOCP".parse::<Backend>().unwrap(), Backend::Iocp);
        assert!(Backend::ALL.contains(&Backend::DEFAULT));
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
