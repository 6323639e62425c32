//! [`Poll`] and its thread-safe handle [`Registry`].

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::backend::Backend;
use crate::event::Events;
use crate::event_set::EventSet;
use crate::evented::Evented;
use crate::poll_opt::PollOpt;
use crate::sys;
use crate::token::Token;

/// Waits for readiness events on registered sources.
///
/// `Poll` owns the OS selector (epoll on Linux, kqueue on macOS and the BSDs; see [`Backend`]). Sources are registered with a
/// [`Token`], an interest ([`EventSet`]) and options ([`PollOpt`]); [`Poll::poll`] blocks
/// until some are ready and fills an [`Events`] buffer. Registration also works through a
/// [`Registry`], a cloneable `Send + Sync` handle that other threads can use while one thread
/// blocks in `poll`.
///
/// # Examples
///
/// ```
/// use ferrio::{Events, EventSet, Poll, PollOpt, Token};
/// use ferrio::tcp::{TcpListener, TcpStream};
/// use std::time::Duration;
///
/// let mut poll = Poll::new()?;
/// let listener = TcpListener::bind(&"127.0.0.1:0".parse().unwrap())?;
/// poll.register(&listener, Token(0), EventSet::readable(), PollOpt::edge())?;
///
/// let _client = TcpStream::connect(&listener.local_addr()?)?;
///
/// let mut events = Events::with_capacity(16);
/// 'outer: loop {
///     poll.poll(&mut events, Some(Duration::from_secs(5)))?;
///     for event in &events {
///         if event.token() == Token(0) {
///             // Edge-triggered: accept until it would block.
///             while let Some((_stream, peer)) = listener.accept()? {
///                 println!("accepted {}", peer);
///                 break 'outer;
///             }
///         }
///     }
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # The contract
///
/// * **Spurious events** may happen: an event means "try the operation", not "it will
///   succeed". Handle `WouldBlock` everywhere.
/// * **Edge-triggered** sources must be drained: keep reading, writing or accepting until
///   `WouldBlock`, or no new event comes for the data already there.
/// * **Deregister**: after `deregister` returns, no later `poll` reports the source. Events
///   already in an `Events` buffer stay there; the `EventLoop` filters those out for you.
/// * **Drop**: dropping a registered ferrio source deregisters and closes it; no further
///   events arrive for it, even if its fd was duplicated (`try_clone`).
/// * **Misuse** is an error, never undefined behaviour: registering a source twice or with
///   two different `Poll`s gives `AlreadyExists`, reregistering or deregistering a source that
///   is not registered gives `NotFound`, `Token(usize::MAX)` gives `InvalidInput`.
/// * **Dropping the `Poll`** with sources still registered: nothing polls their
///   registrations again, and each such ferrio source may then be registered with another
///   `Poll` (its old registration is removed then, or when the source is dropped). `Registry`
///   clones and `Waker`s of a dropped `Poll` still accept calls, which have no effect.
/// * **Timeouts** are rounded up to the selector's resolution, never down (1 ns for epoll on
///   Linux 5.11+ through `epoll_pwait2`, 1 ms on older kernels; 1 ns for poll(2) through
///   `ppoll`, 1 ms where it waits in plain `poll` (macOS, NetBSD, the portable form); 1 ns for
///   io_uring and kqueue; 1 ms for IOCP), and a timed poll never returns early with nothing
///   to report because of the backend's own work; `Duration::ZERO` returns at once. A signal
///   interrupting the wait returns `ErrorKind::Interrupted`.
///
/// # Backends
///
/// The selector is chosen at run time ([`Backend`]): the platform's default (epoll on Linux,
/// kqueue on macOS and the BSDs), POSIX `poll(2)` or io_uring on request ([`Poll::with_backend`], or the `FERRIO_BACKEND` environment variable
/// for [`Poll::new`]). All of them keep this contract; the few things a backend cannot do
/// like epoll are listed under [`Backend`].
///
/// # Portability
///
/// Only readable and writable readiness have the same meaning on every platform; error and
/// hup are hints whose exact conditions differ between epoll, kqueue and poll(2) (listed
/// under [`Backend`]). The platforms, their default backends and what CI checks of each are
/// in [`Backend`]'s "Platforms" section.
#[derive(Debug)]
pub struct Poll {
    registry: Registry,
    /// Why the requested backend was replaced by epoll, if it was.
    fallback: Option<io::Error>,
}

impl Drop for Poll {
    fn drop(&mut self) {
        // Registered sources, Registry clones and Wakers may keep the selector alive; mark it
        // as no longer polled, so that the sources may move to another Poll.
        self.registry.selector.close();
    }
}

impl Poll {
    /// Creates a new selector (close-on-exec) on the backend named by the `FERRIO_BACKEND`
    /// environment variable (`epoll`, `poll`, `uring`, `kqueue` or `iocp`), or on the
    /// platform's default ([`Backend::DEFAULT`]: epoll on Linux, kqueue on macOS and the BSDs,
    /// IOCP on Windows) if it is unset.
    ///
    /// # Errors
    ///
    /// * `InvalidInput` if `FERRIO_BACKEND` names no backend (the message lists the valid
    ///   values); `Unsupported` if it names one this platform does not have.
    /// * The OS error if the selector cannot be created (for example `EMFILE`).
    pub fn new() -> io::Result<Poll> {
        Poll::with_backend_or_env(None)
    }

    /// Creates a new selector on `backend`, whatever `FERRIO_BACKEND` says.
    ///
    /// If `backend` is [`Backend::Uring`] and the kernel refuses io_uring (too old, disabled,
    /// filtered by seccomp), this returns an epoll `Poll` rather than an error:
    /// [`backend`](Self::backend) then reports [`Backend::Epoll`] and
    /// [`fallback_reason`](Self::fallback_reason) says why.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::{Backend, Poll};
    ///
    /// # if !Backend::Uring.is_available() { return Ok(()); }
    /// let poll = Poll::with_backend(Backend::Uring)?;
    /// match poll.fallback_reason() {
    ///     None => assert_eq!(poll.backend(), Backend::Uring),
    ///     Some(reason) => {
    ///         assert_eq!(poll.backend(), Backend::Epoll);
    ///         eprintln!("{reason}");
    ///     }
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// * `Unsupported` if `backend` does not exist on this platform or in this build
    ///   ([`Backend::is_available`]: io_uring on Windows or without the `uring` feature,
    ///   kqueue on Linux, IOCP on Unix); the message names the ones that do.
    /// * The OS error if the selector cannot be created (for example `EMFILE`).
    pub fn with_backend(backend: Backend) -> io::Result<Poll> {
        let (selector, fallback) = sys::Shared::new(backend)?;
        #[cfg(feature = "log")]
        if let Some(reason) = &fallback {
            log::warn!("ferrio: {backend} requested: {reason}");
        }
        Ok(Poll {
            registry: Registry {
                selector: Arc::new(selector),
            },
            fallback,
        })
    }

    /// `backend` if given, else the environment's choice, else the platform's default.
    pub(crate) fn with_backend_or_env(backend: Option<Backend>) -> io::Result<Poll> {
        let backend = match backend {
            Some(b) => b,
            None => Backend::from_env()?.unwrap_or(Backend::DEFAULT),
        };
        Poll::with_backend(backend)
    }

    /// The backend this `Poll` runs on.
    pub fn backend(&self) -> Backend {
        self.registry.selector.backend()
    }

    /// Why this `Poll` runs on epoll although io_uring was asked for (the error that setting
    /// up io_uring gave), or `None` if it runs on the backend that was asked for. With the
    /// `log` feature, the fallback is also logged (`log::warn!`) when the `Poll` is made;
    /// ferrio itself never prints.
    pub fn fallback_reason(&self) -> Option<&io::Error> {
        self.fallback.as_ref()
    }

    /// The thread-safe registration handle of this `Poll`.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Registers `source` under `token`; see [`Registry::register`].
    pub fn register<E: Evented + ?Sized>(
        &self,
        source: &E,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        self.registry.register(source, token, interest, opts)
    }

    /// Changes a registration; see [`Registry::reregister`].
    pub fn reregister<E: Evented + ?Sized>(
        &self,
        source: &E,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        self.registry.reregister(source, token, interest, opts)
    }

    /// Removes a registration; see [`Registry::deregister`].
    pub fn deregister<E: Evented + ?Sized>(&self, source: &E) -> io::Result<()> {
        self.registry.deregister(source)
    }

    /// Blocks until at least one registered source is ready, a [`Waker`](crate::Waker)
    /// wakes it, or `timeout` elapses; fills `events` and returns how many it holds.
    ///
    /// `None` waits indefinitely; `Some(Duration::ZERO)` checks without blocking; other
    /// timeouts are rounded up to the backend's resolution (see "The contract" above).
    /// Returning `Ok(0)` means the timeout elapsed (or a wake-up without events, which may
    /// happen).
    ///
    /// # Errors
    ///
    /// * `InvalidInput` if `events` has zero capacity.
    /// * `Interrupted` if a signal interrupted the wait; just poll again.
    #[inline(always)]
    pub fn poll(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        // (A zero-capacity buffer is refused by the backend, on its error path.)
        self.registry.selector.select(&mut events.inner, timeout)?;
        Ok(events.len())
    }

    /// [`poll`](Self::poll) with the timeout in whole nanoseconds (`None` blocks): for the
    /// event loop, which keeps its deadlines in nanoseconds.
    #[inline(always)]
    pub(crate) fn poll_ns(
        &mut self,
        events: &mut Events,
        timeout_ns: Option<u64>,
    ) -> io::Result<usize> {
        self.registry
            .selector
            .select_ns(&mut events.inner, timeout_ns)?;
        Ok(events.len())
    }
}

/// A cloneable, `Send + Sync` handle to a [`Poll`]'s selector.
///
/// Any thread can register, reregister and deregister sources through it, also while another
/// thread is blocked in [`Poll::poll`]: the new registration is seen by that poll or by the
/// next one.
///
/// # Examples
///
/// ```
/// use ferrio::{Events, EventSet, Poll, PollOpt, Token};
/// use ferrio::udp::UdpSocket;
/// use std::thread;
///
/// let mut poll = Poll::new()?;
/// let registry = poll.registry().clone();
/// let socket = UdpSocket::bound(&"127.0.0.1:0".parse().unwrap())?;
/// let t = thread::spawn(move || {
///     registry.register(&socket, Token(1), EventSet::writable(), PollOpt::edge()).unwrap();
///     socket
/// });
/// let _socket = t.join().unwrap();
/// let mut events = Events::with_capacity(8);
/// poll.poll(&mut events, None)?;
/// assert_eq!(events.get(0).unwrap().token(), Token(1));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Registry {
    pub(crate) selector: Arc<sys::Shared>,
}

impl Registry {
    /// The backend of the `Poll` this handle belongs to (see [`Poll::backend`]).
    pub fn backend(&self) -> Backend {
        self.selector.backend()
    }

    /// Registers `source` under `token` with `interest` and `opts`.
    ///
    /// # Errors
    ///
    /// * `AlreadyExists` if `source` is already registered (with this or another `Poll`).
    /// * `InvalidInput` for `Token(usize::MAX)`, which is reserved.
    /// * The OS error otherwise (for example `PermissionDenied` for a regular file).
    pub fn register<E: Evented + ?Sized>(
        &self,
        source: &E,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        source.register(self, token, interest, opts)
    }

    /// Replaces the token, interest and options of `source`'s registration; re-arms oneshot.
    ///
    /// # Errors
    ///
    /// * `NotFound` if `source` is not registered with this `Poll`.
    /// * `InvalidInput` for `Token(usize::MAX)`.
    pub fn reregister<E: Evented + ?Sized>(
        &self,
        source: &E,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        source.reregister(self, token, interest, opts)
    }

    /// Removes `source`'s registration; no poll that starts after this returns reports it.
    ///
    /// # Errors
    ///
    /// `NotFound` if `source` is not registered with this `Poll`.
    pub fn deregister<E: Evented + ?Sized>(&self, source: &E) -> io::Result<()> {
        source.deregister(self)
    }

    /// Registers a raw fd (the `EventedFd` path): validates the token first.
    pub(crate) fn register_fd(
        &self,
        fd: sys::RawSource,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        self.selector
            .register(fd, token.check_user()?, interest, opts)
    }

    pub(crate) fn reregister_fd(
        &self,
        fd: sys::RawSource,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        self.selector
            .reregister(fd, token.check_user()?, interest, opts)
    }

    pub(crate) fn deregister_fd(&self, fd: sys::RawSource) -> io::Result<()> {
        self.selector.deregister(fd)
    }
}
