//! [`IoSource`]: the registration state every ferrio source carries.
//!
//! It remembers which selector a source is registered with, so that misuse is a clean error
//! (register twice, register with two `Poll`s, reregister/deregister when not registered) and
//! so that dropping a registered source removes it from the selector before its fd closes:
//! with epoll an fd that was duplicated (`try_clone`, `dup`) would otherwise keep reporting
//! events for the old token.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::event_set::EventSet;
use crate::poll::Registry;
use crate::poll_opt::PollOpt;
use crate::sys::{self, AsRawSource, AtomicRawSource, RawSource, NO_SOURCE};
use crate::token::Token;

/// The registration state of a source: where it is registered, and the handles that share its
/// file (made by `try_clone`), if any.
#[derive(Debug, Default)]
struct State {
    selector: Option<Arc<sys::Shared>>,
    family: Option<Arc<Family>>,
}

/// The handles of one file (a source and its `try_clone`s) on a backend that re-arms emulated
/// edges after IO (poll(2)): IO through any of them re-arms the registrations of all, since
/// they read and write the same file. Made by the first `try_clone`; sources never cloned have
/// none and pay nothing for it.
#[derive(Debug, Default)]
struct Family {
    /// `(selector, fd)` of each member registered with a re-arming selector.
    registrations: Mutex<Vec<(Arc<sys::Shared>, RawSource)>>,
}

impl Family {
    fn lock(&self) -> MutexGuard<'_, Vec<(Arc<sys::Shared>, RawSource)>> {
        // Every critical section leaves the list consistent before anything that can panic.
        self.registrations.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn add(&self, selector: &Arc<sys::Shared>, fd: RawSource) {
        if selector.needs_rearm() {
            self.lock().push((Arc::clone(selector), fd));
        }
    }

    fn remove(&self, selector: &Arc<sys::Shared>, fd: RawSource) {
        self.lock()
            .retain(|(s, f)| !(Arc::ptr_eq(s, selector) && *f == fd));
    }
}

/// A source's IO object plus its registration state.
#[derive(Debug)]
pub(crate) struct IoSource<T: AsRawSource> {
    state: Mutex<State>,
    /// The fd IO calls use, read without the lock on every IO call; [`NO_SOURCE`] while IO must
    /// take the re-arm path: the source is registered with a selector that emulates
    /// edge-triggering (poll(2)), or it shares its file with clones. One load gives both the
    /// decision and the fd.
    io_fd: AtomicRawSource,
    inner: T,
}

impl<T: AsRawSource> IoSource<T> {
    pub(crate) fn new(inner: T) -> IoSource<T> {
        let fd = inner.as_raw_source();
        IoSource {
            state: Mutex::new(State::default()),
            io_fd: AtomicRawSource::new(fd),
            inner,
        }
    }

    /// Sets whether IO takes the re-arm path (see `io_fd`).
    fn set_rearm(&self, rearm: bool) {
        let word = if rearm { NO_SOURCE } else { self.raw_fd() };
        self.io_fd.store(word, Ordering::Relaxed);
    }

    /// Whether IO must take the re-arm path.
    #[inline]
    fn needs_rearm(&self) -> bool {
        self.io_fd.load(Ordering::Relaxed) == NO_SOURCE
    }

    #[inline]
    pub(crate) fn inner(&self) -> &T {
        &self.inner
    }

    #[inline]
    /// The fd (Unix) or socket (Windows) the selector knows the source by.
    pub(crate) fn raw_fd(&self) -> RawSource {
        self.inner.as_raw_source()
    }

    /// Runs a read-side IO operation (read, receive, accept, peek). A backend that emulates
    /// edge-triggering (poll(2)) re-arms the source's readable interest with it: what is
    /// re-armed is asked by the next `select`, which sees the state this IO leaves, so doing it
    /// before the call is the same as after, and cheaper (nothing of the result is kept across
    /// the re-arm). On epoll and io_uring this costs one relaxed load and a predictable branch.
    #[inline]
    pub(crate) fn do_read<R>(&self, f: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        if self.needs_rearm() {
            // Reading (also out-of-band data) re-arms readable and priority.
            self.rearm_after_io(EventSet::readable() | EventSet::priority());
        }
        f(&self.inner)
    }

    /// [`do_read`](Self::do_read) for an operation on the raw fd (socket on Windows): the
    /// fd comes with the re-arm decision, from one load.
    #[inline]
    pub(crate) fn do_read_fd<R>(
        &self,
        f: impl FnOnce(RawSource) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut fd = self.io_fd.load(Ordering::Relaxed);
        if fd == NO_SOURCE {
            fd = self.rearm_after_io(EventSet::readable() | EventSet::priority());
        }
        f(fd)
    }

    /// [`do_write`](Self::do_write) for an operation on the raw fd (socket on Windows), as
    /// [`do_read_fd`](Self::do_read_fd).
    #[inline]
    pub(crate) fn do_write_fd<R>(
        &self,
        f: impl FnOnce(RawSource) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut fd = self.io_fd.load(Ordering::Relaxed);
        if fd == NO_SOURCE {
            fd = self.rearm_after_io(EventSet::writable());
        }
        f(fd)
    }

    /// Runs a write-side IO operation (write, send); re-arms writable interest, as
    /// [`do_read`](Self::do_read) re-arms readable.
    #[inline]
    pub(crate) fn do_write<R>(&self, f: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        if self.needs_rearm() {
            self.rearm_after_io(EventSet::writable());
        }
        f(&self.inner)
    }

    /// Re-arms `direction` of every registration of the file; returns the source's fd.
    #[cold]
    #[inline(never)]
    fn rearm_after_io(&self, direction: EventSet) -> RawSource {
        let state = self.lock();
        if let Some(family) = &state.family {
            for (selector, fd) in family.lock().iter() {
                selector.rearm(*fd, direction);
            }
        } else if let Some(selector) = &state.selector {
            selector.rearm(self.raw_fd(), direction);
        }
        self.raw_fd()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state consistent before anything that can panic.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new source on a duplicate of this one's file (`dup` is `f`): not registered, but in
    /// one family with this source, so that IO through either re-arms the other's emulated
    /// edges.
    pub(crate) fn try_clone_with(
        &self,
        f: impl FnOnce(&T) -> io::Result<T>,
    ) -> io::Result<IoSource<T>> {
        let inner = f(&self.inner)?;
        let mut state = self.lock();
        let family = match &state.family {
            Some(family) => Arc::clone(family),
            None => {
                let family = Arc::new(Family::default());
                if let Some(selector) = &state.selector {
                    family.add(selector, self.raw_fd());
                }
                state.family = Some(Arc::clone(&family));
                family
            }
        };
        // Family members always take the (cold) re-arm path: a member's registration on
        // poll(2) must be re-armed by IO through any other.
        self.set_rearm(true);
        Ok(IoSource {
            state: Mutex::new(State {
                selector: None,
                family: Some(family),
            }),
            io_fd: AtomicRawSource::new(NO_SOURCE),
            inner,
        })
    }

    pub(crate) fn register(
        &self,
        registry: &Registry,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        let token = token.check_user()?;
        let mut state = self.lock();
        if let Some(selector) = &state.selector {
            let same = selector.id() == registry.selector.id();
            if same || !selector.is_closed() {
                let msg = if same {
                    "source is already registered with this Poll; use reregister to change it"
                } else {
                    "source is registered with another Poll; deregister it there first"
                };
                return Err(io::Error::new(io::ErrorKind::AlreadyExists, msg));
            }
            // Its Poll was dropped: nothing polls that registration any more. Remove it (on
            // io_uring the ring would keep the file open) and move on.
            let old = Arc::clone(selector);
            let _ = old.deregister(self.raw_fd());
            if let Some(family) = &state.family {
                family.remove(&old, self.raw_fd());
            }
            state.selector = None;
        }
        registry
            .selector
            .register(self.raw_fd(), token, interest, opts)?;
        if let Some(family) = &state.family {
            family.add(&registry.selector, self.raw_fd());
        } else {
            self.set_rearm(registry.selector.needs_rearm());
        }
        state.selector = Some(Arc::clone(&registry.selector));
        Ok(())
    }

    pub(crate) fn reregister(
        &self,
        registry: &Registry,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        let token = token.check_user()?;
        let state = self.lock();
        Self::registered_with(&state, registry)?.reregister(self.raw_fd(), token, interest, opts)
    }

    pub(crate) fn deregister(&self, registry: &Registry) -> io::Result<()> {
        let mut state = self.lock();
        let selector = Arc::clone(Self::registered_with(&state, registry)?);
        let res = selector.deregister(self.raw_fd());
        // Even if the selector no longer knew the fd, the source is now unregistered.
        state.selector = None;
        match &state.family {
            Some(family) => family.remove(&selector, self.raw_fd()),
            None => self.set_rearm(false),
        }
        res
    }

    fn registered_with<'a>(
        state: &'a MutexGuard<'_, State>,
        registry: &Registry,
    ) -> io::Result<&'a Arc<sys::Shared>> {
        match &state.selector {
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "source is not registered; use register first",
            )),
            Some(selector) if selector.id() != registry.selector.id() => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "source is not registered with this Poll (it is registered with another one)",
            )),
            Some(selector) => Ok(selector),
        }
    }
}

impl<T: AsRawSource> Drop for IoSource<T> {
    fn drop(&mut self) {
        let fd = self.inner.as_raw_source();
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(selector) = state.selector.take() {
            // Needed when the fd was duplicated: closing ours would not remove it from epoll.
            let _ = selector.deregister(fd);
            if let Some(family) = &state.family {
                family.remove(&selector, fd);
            }
        }
    }
}

/// Implements `Evented` for a type with an `io: IoSource<_>` field.
macro_rules! impl_evented_via_io_source {
    ($ty:ty) => {
        impl $crate::evented::Evented for $ty {
            fn register(
                &self,
                registry: &$crate::poll::Registry,
                token: $crate::token::Token,
                interest: $crate::event_set::EventSet,
                opts: $crate::poll_opt::PollOpt,
            ) -> std::io::Result<()> {
                self.io.register(registry, token, interest, opts)
            }

            fn reregister(
                &self,
                registry: &$crate::poll::Registry,
                token: $crate::token::Token,
                interest: $crate::event_set::EventSet,
                opts: $crate::poll_opt::PollOpt,
            ) -> std::io::Result<()> {
                self.io.reregister(registry, token, interest, opts)
            }

            fn deregister(&self, registry: &$crate::poll::Registry) -> std::io::Result<()> {
                self.io.deregister(registry)
            }
        }

        #[cfg(unix)]
        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.io.raw_fd()
            }
        }

        #[cfg(unix)]
        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.io.inner().as_fd()
            }
        }

        #[cfg(windows)]
        impl std::os::windows::io::AsRawSocket for $ty {
            fn as_raw_socket(&self) -> std::os::windows::io::RawSocket {
                self.io.raw_fd()
            }
        }

        #[cfg(windows)]
        impl std::os::windows::io::AsSocket for $ty {
            fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
                self.io.inner().as_socket()
            }
        }
    };
}
