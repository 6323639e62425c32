//! [`IoSource`]: the registration state every ferrio source carries.
//!
//! It remembers which selector a source is registered with, so that misuse is a clean error
//! (register twice, register with two `Poll`s, reregister/deregister when not registered) and
//! so that dropping a registered source removes it from the selector before its fd closes:
//! with epoll an fd that was duplicated (`try_clone`, `dup`) would otherwise keep reporting
//! events for the old token.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::event_set::EventSet;
use crate::poll::Registry;
use crate::poll_opt::PollOpt;
use crate::sys;
use crate::token::Token;

/// Where a source is registered.
#[derive(Debug)]
struct Registration {
    selector: Arc<sys::Shared>,
}

/// A source's IO object plus its registration state.
#[derive(Debug)]
pub(crate) struct IoSource<T: AsRawFd> {
    state: Mutex<Option<Registration>>,
    /// The selector emulates edge-triggering and wants `rearm` after each IO call (poll(2)).
    /// A copy of `selector.needs_rearm()`, so the IO path does not take the lock.
    needs_rearm: AtomicBool,
    inner: T,
}

impl<T: AsRawFd> IoSource<T> {
    pub(crate) fn new(inner: T) -> IoSource<T> {
        IoSource {
            state: Mutex::new(None),
            needs_rearm: AtomicBool::new(false),
            inner,
        }
    }

    #[inline]
    pub(crate) fn inner(&self) -> &T {
        &self.inner
    }

    #[inline]
    pub(crate) fn raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }

    /// Runs one IO operation on the source. Backends that emulate edge-triggering (poll(2))
    /// re-arm the source after each IO call, since new data may have arrived since the
    /// report; for epoll and io_uring this costs one relaxed load and a predictable branch.
    #[inline]
    pub(crate) fn do_io<R>(&self, f: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> {
        let res = f(&self.inner);
        if self.needs_rearm.load(Ordering::Relaxed) {
            self.rearm();
        }
        res
    }

    #[cold]
    fn rearm(&self) {
        let state = self.lock();
        if let Some(reg) = state.as_ref() {
            reg.selector.rearm(self.raw_fd());
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Registration>> {
        // A panic while holding this lock cannot leave the Option inconsistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
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
        if let Some(reg) = state.as_ref() {
            let msg = if reg.selector.id() == registry.selector.id() {
                "source is already registered with this Poll; use reregister to change it"
            } else {
                "source is registered with another Poll; deregister it there first"
            };
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, msg));
        }
        registry
            .selector
            .register(self.raw_fd(), token, interest, opts)?;
        self.needs_rearm
            .store(registry.selector.needs_rearm(), Ordering::Relaxed);
        *state = Some(Registration {
            selector: Arc::clone(&registry.selector),
        });
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
        let mut state = self.lock();
        let reg = Self::registered_with(&mut state, registry)?;
        reg.selector
            .reregister(self.inner.as_raw_fd(), token, interest, opts)
    }

    pub(crate) fn deregister(&self, registry: &Registry) -> io::Result<()> {
        let mut state = self.lock();
        let reg = Self::registered_with(&mut state, registry)?;
        let res = reg.selector.deregister(self.inner.as_raw_fd());
        // Even if the selector no longer knew the fd, the source is now unregistered.
        *state = None;
        self.needs_rearm.store(false, Ordering::Relaxed);
        res
    }

    fn registered_with<'a>(
        state: &'a mut MutexGuard<'_, Option<Registration>>,
        registry: &Registry,
    ) -> io::Result<&'a mut Registration> {
        match state.as_mut() {
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "source is not registered; use register first",
            )),
            Some(reg) if reg.selector.id() != registry.selector.id() => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "source is not registered with this Poll (it is registered with another one)",
            )),
            Some(reg) => Ok(reg),
        }
    }
}

impl<T: AsRawFd> Drop for IoSource<T> {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(reg) = state.take() {
            // Needed when the fd was duplicated: closing ours would not remove it from epoll.
            let _ = reg.selector.deregister(self.inner.as_raw_fd());
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

        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.io.raw_fd()
            }
        }

        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.io.inner().as_fd()
            }
        }
    };
}
