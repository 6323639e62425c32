//! [`Backend`]: which OS selector a [`Poll`](crate::Poll) runs on, chosen at run time.

use std::fmt;
use std::io;
use std::str::FromStr;

/// The environment variable that picks the backend of [`Poll::new`](crate::Poll::new) and
/// of an [`EventLoop`](crate::EventLoop) whose config names none.
pub const BACKEND_ENV: &str = "FERRIO_BACKEND";

/// A selector backend. Every backend that exists on a platform passes the same conformance
/// suite; the differences that remain are listed per variant.
///
/// | backend | wait syscall | cost per poll with K registered fds | emulated |
/// |---|---|---|---|
/// | `Epoll` | `epoll_wait` / `epoll_pwait2` | O(ready) | nothing |
/// | `Kqueue` | one `kevent` | O(ready) | nothing (oneshot is `EV_DISPATCH`) |
/// | `Poll` | `ppoll` (`poll` on macOS) | **O(K)**: the kernel scans every fd, ferrio rebuilds its `pollfd` array after a change | edge and oneshot |
/// | `Uring` | one `io_uring_enter` (submits pending re-arms and waits) | O(ready + re-armed) | level (re-armed every poll) and oneshot |
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
///
/// The kqueue backend is compiled and linted for six targets in CI, but no CI machine runs
/// it: its unit tests of the pure logic (change lists, merging a source's read and write
/// filters into one event, `EV_EOF`/`EV_ERROR` mapping, timeouts) run on Linux, its system
/// calls run nowhere yet.
///
/// # Choosing
///
/// * [`Poll::new`](crate::Poll::new) and [`EventLoop::new`](crate::EventLoop::new) use the
///   `FERRIO_BACKEND` environment variable (`epoll`, `poll`, `uring` or `kqueue`) if it is
///   set, and the platform's default ([`Backend::default`]) otherwise. This is how the test
///   suite and the benchmarks run under every backend.
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
    /// Linux epoll: the default on Linux. Native edge, level and oneshot. Linux only.
    Epoll,
    /// POSIX `poll(2)`: on every Unix, the default where neither epoll nor kqueue exists.
    ///
    /// Level-triggered interest is native. Edge and oneshot are emulated: after reporting
    /// a source, ferrio stops asking the OS about the reported directions (edge) or about the
    /// whole source (oneshot). Edge re-arms after each of ferrio's own IO calls on the source
    /// (a read, write, accept, ... whatever its result) and on `reregister`; oneshot only on
    /// `reregister`. Registering from another thread while `poll` blocks wakes it through an
    /// internal eventfd, and the blocked `poll` waits again on the new set.
    ///
    /// What it cannot do like epoll:
    /// * Edge events follow IO, not data: after an event, the next one for that source comes
    ///   only once the program did IO on it (which the edge contract asks for anyway: drain on
    ///   every event), and a partial read with data left is reported again (a spurious
    ///   event). A read re-arms writable interest too, so an edge source that is readable and
    ///   writable may get an extra writable event after a read.
    /// * A raw fd registered edge-triggered through [`EventedFd`](crate::unix::EventedFd):
    ///   ferrio cannot see its IO, so it is polled level-triggered instead (spurious events,
    ///   which the contract allows, never a missed one). Prefer level for raw fds.
    /// * A raw fd must be deregistered before it is closed: a closed fd is dropped from the
    ///   set when the next poll sees it invalid (`POLLNVAL`), but if its number is reused
    ///   first, the new file is polled under the old registration. ferrio's own sources
    ///   deregister themselves on drop.
    /// * Each poll costs O(K) in the number K of registered sources, and one more syscall
    ///   (an eventfd or pipe read) when a `Waker` or another thread woke it.
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
#[cfg(not(any(
    target_os = "linux",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
)))]
const AVAILABLE: [Backend; 1] = [Backend::Poll];

impl Backend {
    /// Every backend of this platform and build, the default first, in a fixed order (for
    /// tests and benchmarks that run all of them): `[Epoll, Poll, Uring]` on Linux
    /// (`[Epoll, Poll]` without the `uring` feature), `[Kqueue, Poll]` on macOS, iOS and the
    /// BSDs, `[Poll]` elsewhere. The array's length is the platform's.
    pub const ALL: [Backend; AVAILABLE.len()] = AVAILABLE;

    /// The name used by `FERRIO_BACKEND` and `Display`: `"epoll"`, `"poll"`, `"uring"` or
    /// `"kqueue"`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Epoll => "epoll",
            Backend::Poll => "poll",
            Backend::Uring => "uring",
            Backend::Kqueue => "kqueue",
        }
    }

    /// Whether this backend exists on this platform and build (is in [`ALL`](Backend::ALL)).
    /// [`Poll::with_backend`](crate::Poll::with_backend) refuses the others with an
    /// `Unsupported` error.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::Backend;
    ///
    /// assert!(Backend::Poll.is_available()); // on every Unix
    /// assert!(Backend::default().is_available());
    /// assert_eq!(Backend::Epoll.is_available(), cfg!(target_os = "linux"));
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

    /// The error for a backend that does not exist here.
    pub(crate) fn unsupported(self) -> io::Error {
        let names: Vec<&str> = Backend::ALL.iter().map(|b| b.name()).collect();
        let why = match self {
            Backend::Uring if cfg!(target_os = "linux") => {
                "ferrio was built without its `uring` feature"
            }
            _ => "it does not exist on this operating system",
        };
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "the {self} backend is not available: {why}; available here: {}",
                names.join(", ")
            ),
        )
    }

    /// The backend named by the `FERRIO_BACKEND` environment variable, or `None` if it is
    /// unset or empty.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the variable holds anything but `epoll`, `poll`, `uring` or `kqueue`
    /// (the message names the valid values). A valid name of a backend that does not exist
    /// here is not an error of this function; creating the `Poll` is (`Unsupported`).
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
    /// The platform's best backend, the first of [`ALL`](Backend::ALL): epoll on Linux,
    /// kqueue on macOS, iOS and the BSDs, poll(2) elsewhere.
    fn default() -> Backend {
        AVAILABLE[0]
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = io::Error;

    /// Parses `epoll`, `poll`, `uring` (also `io_uring`, `io-uring`) or `kqueue`, ignoring
    /// ASCII case and surrounding spaces. Every name parses on every platform; whether the
    /// backend exists is [`Backend::is_available`].
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
        } else {
            Err(invalid(s))
        }
    }
}

fn invalid(value: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("unknown ferrio backend {value:?} (in {BACKEND_ENV} or parsed): valid values are \"epoll\", \"poll\", \"uring\" and \"kqueue\""),
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
        ] {
            assert_eq!(b.name().parse::<Backend>().unwrap(), b);
        }
    }

    #[test]
    fn availability_is_the_platforms() {
        assert_eq!(Backend::ALL[0], Backend::default());
        assert!(Backend::Poll.is_available());
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
        let missing = [
            Backend::Epoll,
            Backend::Poll,
            Backend::Uring,
            Backend::Kqueue,
        ]
        .into_iter()
        .find(|b| !b.is_available())
        .unwrap();
        let err = missing.unsupported();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        assert!(err.to_string().contains(missing.name()), "{err}");
        assert!(err.to_string().contains("poll"), "{err}");
    }
}
