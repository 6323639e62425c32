//! [`Backend`]: which OS selector a [`Poll`](crate::Poll) runs on, chosen at run time.

use std::fmt;
use std::io;
use std::str::FromStr;

/// The environment variable that picks the backend of [`Poll::new`](crate::Poll::new) and
/// of an [`EventLoop`](crate::EventLoop) whose config names none.
pub const BACKEND_ENV: &str = "FERRIO_BACKEND";

/// A selector backend. The three Linux backends pass the same conformance suite, and IOCP
/// the part of it that applies to Windows; kqueue is written to it but compiled, not run, in
/// CI. The differences that remain are listed per variant.
///
/// | backend | wait syscall | cost per poll with K registered fds | emulated |
/// |---|---|---|---|
/// | `Epoll` | `epoll_wait` / `epoll_pwait2` | O(ready) | nothing |
/// | `Kqueue` | one `kevent` | O(ready) | nothing (oneshot is `EV_DISPATCH`) |
/// | `Poll` | `ppoll` (`poll` on macOS and NetBSD) | **O(K)**: the kernel scans every fd, ferrio rebuilds its `pollfd` array after a change | edge and oneshot |
/// | `Uring` | one `io_uring_enter` (submits pending re-arms and waits) | O(ready + re-armed) | level (re-armed every poll) and oneshot |
/// | `Iocp` (Windows) | `GetQueuedCompletionStatusEx` (after re-submitting the AFD polls due) | O(ready + re-armed) | edge, level and oneshot (an AFD poll reports once) |
///
/// # Platforms
///
/// Every variant exists on every platform, so that code naming one compiles everywhere; a
/// backend the platform (or the build) lacks is refused at run time:
/// [`Poll::with_backend`](crate::Poll::with_backend) returns an `Unsupported` error naming the
/// backends that exist there. [`ALL`](Backend::ALL) lists the backends of the platform and
/// build, [`is_available`](Backend::is_available) asks about one.
///
/// | OS | backends (default first) | edge / level / oneshot | waker | CI here |
/// |---|---|---|---|---|
/// | Linux | `Epoll`, `Poll`, `Uring` (feature `uring`, default on) | native (epoll); emulated edge/oneshot (poll); emulated level/oneshot (io_uring) | eventfd (all three) | **runs** the whole suite on each backend, and once more on the portable form of `Poll` (`--cfg ferrio_portable`: pipe waker, no `POLLRDHUP`, plain `poll`) |
/// | macOS, iOS (and the other Apple targets) | `Kqueue`, `Poll` | native: `EV_CLEAR` / default / `EV_DISPATCH`; poll(2) as on Linux | `EVFILT_USER` (kqueue); pipe (poll) | type-checked and clippy-clean (`x86_64-apple-darwin`, `aarch64-apple-darwin`), **not run** |
/// | FreeBSD, DragonFly | `Kqueue`, `Poll` | as macOS | `EVFILT_USER` (kqueue); pipe (poll) | type-checked (`x86_64-unknown-freebsd`, `x86_64-unknown-dragonfly`), **not run** |
/// | NetBSD, OpenBSD | `Kqueue`, `Poll` | as macOS | `EVFILT_USER` where the kernel has it (NetBSD 10, OpenBSD 7.8), else a pipe (kqueue); pipe (poll) | type-checked (`x86_64-unknown-netbsd`, `x86_64-unknown-openbsd`), **not run** |
/// | other POSIX systems | `Poll` | emulated edge/oneshot | pipe | not checked |
/// | Windows | `Iocp` | re-submitted AFD polls | posted completion packet | runs under Wine 8 (see `Iocp`) |
///
/// The kqueue backend is compiled and linted for six targets in CI, but no CI machine runs
/// it: its unit tests of the pure logic (change lists, merging a source's read and write
/// filters into one event, `EV_EOF`/`EV_ERROR` mapping, timeouts) run on Linux, its system
/// calls run nowhere yet.
///
/// # Choosing
///
/// * [`Poll::new`](crate::Poll::new) and [`EventLoop::new`](crate::EventLoop::new) use the
///   `FERRIO_BACKEND` environment variable (`epoll`, `poll`, `uring`, `kqueue` or `iocp`) if
///   it is set, and [`Backend::DEFAULT`] otherwise (epoll on Linux, kqueue on macOS and the
///   BSDs, IOCP on Windows, poll(2) on other Unix systems). This is how the test suite and the
///   benchmarks run under every backend.
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
///
/// // A backend this platform lacks is a clear error, not a panic.
/// for backend in [Backend::Epoll, Backend::Kqueue] {
///     match Poll::with_backend(backend) {
///         Ok(poll) => assert_eq!(poll.backend(), backend),
///         Err(e) => {
///             assert!(!backend.is_available());
///             assert_eq!(e.kind(), std::io::ErrorKind::Unsupported);
///         }
///     }
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Linux epoll: the default on Linux, and Linux only. Native edge, level and oneshot.
    /// Timed waits use `epoll_pwait2` (Linux 5.11+) with a nanosecond timeout; a long one is
    /// made in two (the timeout less the kernel's slack estimate of 0.1 %, at least 50 µs,
    /// then the rest), so it ends within about 50 µs of its deadline instead of up to 0.1 %
    /// late, at the cost of one more syscall when it runs out. On older kernels
    /// `epoll_wait`, with the timeout rounded up to whole milliseconds.
    Epoll,
    /// POSIX `poll(2)`: on every Unix, the default where neither epoll nor kqueue exists.
    ///
    /// Level-triggered interest is native. Edge and oneshot are emulated: after reporting
    /// a source, ferrio stops asking the OS about the bits that fired (edge: only those, so a
    /// half-close after an unread readable event is still reported) or about the whole source
    /// (oneshot). An edge bit is re-armed by ferrio's own IO of that direction on the source or
    /// on one of its `try_clone`s (a read re-arms readable, a write writable), by `reregister`,
    /// and, for IO ferrio cannot see, by a probe: a disarmed bit that is no longer ready is
    /// re-armed, and so is a direction that an error event disarmed before it fired, once the
    /// error is gone (`take_error`). Oneshot re-arms only on `reregister`. Registering from another thread while
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
    /// * Where `ppoll` is not used (macOS, NetBSD, the portable form), timeouts are rounded
    ///   up to whole milliseconds. Where eventfd is missing, the wake-up fd is a pipe.
    /// * Where `POLLRDHUP` is missing (macOS, NetBSD, OpenBSD, DragonFly, the portable
    ///   form), a half-close of a stream (the peer's FIN, our `shutdown(Read)`) shows as
    ///   readable (the read returns 0), not as hup; and after an edge-triggered readable
    ///   event the program did not read, it brings no event at all (nothing new is visible
    ///   to poll(2)) until the program reads, as the edge contract asks it to. A full
    ///   hang-up (`POLLHUP`) is reported everywhere.
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
    /// * More than 4,096 completions between two polls (thousands of sources ready at once)
    ///   overflow the completion queue; the kernel keeps the overflowing ones, but ends the
    ///   multishot polls they belong to, and each such edge-triggered source is reported once
    ///   more (a spurious event) when the next poll re-arms it.
    /// * After an io_uring `Poll` is dropped, the kernel tears the ring down from a worker
    ///   and sends every thread that submitted to it a notification (task work) that ends
    ///   that thread's next `epoll_wait` with `EINTR`, although no signal was sent: an
    ///   epoll [`Poll::poll`](crate::Poll::poll) on such a thread may return
    ///   `ErrorKind::Interrupted` once (poll again, as for a signal). Dropping the `Poll`
    ///   removes its armed polls first, which takes the part of this that the ring's own
    ///   requests caused (on Linux 6.18: an epoll poll right after the drop was interrupted
    ///   in 89 of 300 runs, 256 before); io_uring and poll(2) waits are not affected.
    ///
    /// Linux only, and only with the `uring` feature (on by default).
    Uring,
    /// BSD kqueue: the default on macOS, iOS, FreeBSD, NetBSD, OpenBSD and DragonFly.
    ///
    /// Interest is one `EVFILT_READ` and one `EVFILT_WRITE` filter per source; ferrio merges
    /// the two into one event per source per poll. Edge is `EV_CLEAR`, level kqueue's
    /// default, oneshot `EV_DISPATCH` (the kernel disables a filter once it fired, and
    /// `reregister` enables it again with `EV_ADD | EV_ENABLE`, which re-checks the current
    /// readiness; ferrio disarms the other filter of a oneshot source in user space, so one
    /// oneshot registration gives one event). Timeouts are `timespec`s: nothing is rounded.
    /// The waker is an `EVFILT_USER` event (`NOTE_TRIGGER`) where the kernel has it, else a
    /// pipe. Each `register`, `reregister` and `deregister` is one `kevent` call that carries
    /// the changes of both filters (`EV_RECEIPT`, so each change reports its own error), made
    /// by the calling thread and seen at once by a `poll` blocked in another (`register` also
    /// makes an `fstat`, to refuse regular files and directories as epoll does); `poll` is one
    /// `kevent` call. A `register` the kernel refuses for one filter (for example `EPIPE` for
    /// the write end of a pipe whose reader is gone) is an error and leaves nothing behind.
    ///
    /// What it cannot do like epoll:
    /// * hup: the read filter's `EV_EOF` (the peer closed its side, or both sides are
    ///   closed) is reported as hup, and readable; the write filter's `EV_EOF` (writing is no
    ///   longer possible) as writable and write-closed; both in one poll are a full hang-up.
    ///   A socket error that comes with `EV_EOF` (`fflags`, such as a reset) is reported as
    ///   error; one without it shows only as readiness, and the IO call returns it. Only
    ///   the registered filters can report: a write-only registration does not see the
    ///   read side close.
    /// * Priority (out-of-band) data is not reported.
    /// * A raw fd must be deregistered before it is closed. Closing an fd does remove its
    ///   filters in the kernel (the kernel keeps no reference to the file, so closing it
    ///   really closes it, unlike io_uring), but ferrio's own table still holds the number:
    ///   registering a new fd that got the same number fails with `AlreadyExists` until the
    ///   old one is deregistered (`reregister` takes it over). ferrio's own sources deregister
    ///   themselves on drop.
    ///
    /// **Compiled, not run**: CI type-checks and lints this backend for macOS and the BSDs
    /// but has no such machine to run it on (see "Platforms" above).
    Kqueue,
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

/// The backends of this platform and build, the default first.
#[cfg(all(target_os = "linux", feature = "uring"))]
const AVAILABLE: [Backend; 3] = [Backend::Epoll, Backend::Poll, Backend::Uring];
#[cfg(all(target_os = "linux", not(feature = "uring")))]
const AVAILABLE: [Backend; 2] = [Backend::Epoll, Backend::Poll];
#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
const AVAILABLE: [Backend; 2] = [Backend::Kqueue, Backend::Poll];
#[cfg(windows)]
const AVAILABLE: [Backend; 1] = [Backend::Iocp];
#[cfg(all(
    unix,
    not(any(
        target_os = "linux",
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ))
))]
const AVAILABLE: [Backend; 1] = [Backend::Poll];

impl Backend {
    /// Every backend of this platform and build, the default first, in a fixed order (for
    /// tests and benchmarks that run all of them): `[Epoll, Poll, Uring]` on Linux (`[Epoll,
    /// Poll]` without the `uring` feature), `[Kqueue, Poll]` on macOS, iOS and the BSDs,
    /// `[Iocp]` on Windows, `[Poll]` on other Unix systems. The array's length is the
    /// platform's.
    pub const ALL: [Backend; AVAILABLE.len()] = AVAILABLE;

    /// The platform's default backend, the first of [`ALL`](Backend::ALL): epoll on Linux,
    /// kqueue on macOS, iOS and the BSDs, IOCP on Windows, poll(2) on other Unix systems.
    pub const DEFAULT: Backend = AVAILABLE[0];

    /// Whether this backend exists on this platform and build (is in [`ALL`](Backend::ALL)).
    /// [`Poll::with_backend`](crate::Poll::with_backend) refuses the others with an
    /// `Unsupported` error.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::Backend;
    ///
    /// assert!(Backend::DEFAULT.is_available());
    /// assert_eq!(Backend::Epoll.is_available(), cfg!(target_os = "linux"));
    /// assert_eq!(Backend::Iocp.is_available(), cfg!(windows));
    /// ```
    pub const fn is_available(self) -> bool {
        let mut i = 0;
        while i < AVAILABLE.len() {
            if AVAILABLE[i] as u8 == self as u8 {
                return true;
            }
            i += 1;
        }
        false
    }

    /// The error of asking for a backend this platform (or build) does not have.
    pub(crate) fn unavailable(self) -> io::Error {
        let names: Vec<&str> = Backend::ALL.iter().map(|b| b.name()).collect();
        let why = match self {
            Backend::Uring if cfg!(target_os = "linux") => {
                "ferrio was built without its `uring` feature"
            }
            _ => "it does not exist on this platform",
        };
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "the {self} backend is not available: {why}; available here: {}",
                names.join(", ")
            ),
        )
    }

    /// The name used by `FERRIO_BACKEND` and `Display`: `"epoll"`, `"poll"`, `"uring"`,
    /// `"kqueue"` or `"iocp"`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Epoll => "epoll",
            Backend::Poll => "poll",
            Backend::Uring => "uring",
            Backend::Kqueue => "kqueue",
            Backend::Iocp => "iocp",
        }
    }

    /// The backend named by the `FERRIO_BACKEND` environment variable, or `None` if it is
    /// unset or empty.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the variable holds anything but `epoll`, `poll`, `uring`, `kqueue`
    /// or `iocp` (the message names the valid values). A valid name of a backend that does not
    /// exist here is not an error of this function; creating the `Poll` is (`Unsupported`).
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
    /// [`Backend::DEFAULT`]: epoll on Linux, kqueue on macOS and the BSDs, IOCP on Windows,
    /// poll(2) on other Unix systems.
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

    /// Parses `epoll`, `poll`, `uring` (also `io_uring`, `io-uring`), `kqueue` or `iocp`,
    /// ignoring ASCII case and surrounding spaces. Every name parses on every platform;
    /// whether the backend exists is [`Backend::is_available`].
    fn from_str(s: &str) -> io::Result<Backend> {
        let t = s.trim();
        let eq = |name: &str| t.eq_ignore_ascii_case(name);
        if eq("epoll") {
            Ok(Backend::Epoll)
        } else if eq("poll") {
            Ok(Backend::Poll)
        } else if eq("uring") || eq("io_uring") || eq("io-uring") {
            Ok(Backend::Uring)
        } else if eq("kqueue") {
            Ok(Backend::Kqueue)
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
        format!("unknown ferrio backend {value:?} (in {BACKEND_ENV} or parsed): valid values are \"epoll\", \"poll\", \"uring\", \"kqueue\" and \"iocp\""),
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
        let err = "select".parse::<Backend>().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let msg = err.to_string();
        assert!(msg.contains("select") && msg.contains("\"epoll\"") && msg.contains("\"kqueue\""));
        assert!("".parse::<Backend>().is_err());
    }

    #[test]
    fn every_name_parses_everywhere() {
        for b in [
            Backend::Epoll,
            Backend::Poll,
            Backend::Uring,
            Backend::Kqueue,
            Backend::Iocp,
        ] {
            assert_eq!(b.name().parse::<Backend>().unwrap(), b);
        }
    }

    #[test]
    fn availability_is_the_platforms() {
        assert_eq!(Backend::ALL[0], Backend::default());
        assert_eq!(Backend::ALL[0], Backend::DEFAULT);
        assert_eq!(Backend::Poll.is_available(), cfg!(unix));
        assert_eq!(Backend::Iocp.is_available(), cfg!(windows));
        for b in Backend::ALL {
            assert!(b.is_available(), "{b}");
        }
        let linux = cfg!(target_os = "linux");
        assert_eq!(Backend::Epoll.is_available(), linux);
        assert_eq!(
            Backend::Uring.is_available(),
            linux && cfg!(feature = "uring")
        );
        let kqueue = cfg!(any(
            target_vendor = "apple",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly"
        ));
        assert_eq!(Backend::Kqueue.is_available(), kqueue);
        let missing = [Backend::Epoll, Backend::Kqueue, Backend::Iocp]
            .into_iter()
            .find(|b| !b.is_available())
            .unwrap();
        let err = missing.unavailable();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        assert!(err.to_string().contains(missing.name()), "{err}");
        assert!(err.to_string().contains(Backend::DEFAULT.name()), "{err}");
    }
}
