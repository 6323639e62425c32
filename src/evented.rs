//! The [`Evented`] trait: what can be registered with a [`Poll`](crate::Poll).

use std::io;

use crate::event_set::EventSet;
use crate::poll::Registry;
use crate::poll_opt::PollOpt;
use crate::token::Token;

/// A source of readiness events that can be registered with a [`Poll`](crate::Poll) or an
/// `EventLoop`.
///
/// Every ferrio source (sockets, pipes, [`unix::EventedFd`](crate::unix::EventedFd))
/// implements it. Users don't call these methods directly; they call
/// `Poll::register`/`Registry::register`, which validate the token and delegate here.
///
/// # Implementing `Evented`
///
/// A user type implements it by delegating to the ferrio source it wraps, or, for a raw file
/// descriptor, to [`EventedFd`](crate::unix::EventedFd):
///
/// ```
/// use ferrio::{Evented, EventSet, PollOpt, Registry, Token};
/// use ferrio::tcp::TcpStream;
/// use std::io;
///
/// struct Connection {
///     socket: TcpStream,
///     // ... protocol state ...
/// }
///
/// impl Evented for Connection {
///     fn register(&self, registry: &Registry, token: Token, interest: EventSet, opts: PollOpt)
///         -> io::Result<()>
///     {
///         self.socket.register(registry, token, interest, opts)
///     }
///     fn reregister(&self, registry: &Registry, token: Token, interest: EventSet, opts: PollOpt)
///         -> io::Result<()>
///     {
///         self.socket.reregister(registry, token, interest, opts)
///     }
///     fn deregister(&self, registry: &Registry) -> io::Result<()> {
///         self.socket.deregister(registry)
///     }
/// }
/// ```
pub trait Evented {
    /// Registers `self` with `registry`'s selector under `token`.
    ///
    /// # Errors
    ///
    /// `AlreadyExists` if it is registered already (with this or another selector),
    /// `InvalidInput` for the reserved `Token(usize::MAX)`, or the OS error.
    fn register(
        &self,
        registry: &Registry,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()>;

    /// Changes the token, interest or options of an existing registration (and re-arms a
    /// oneshot registration).
    ///
    /// # Errors
    ///
    /// `NotFound` if `self` is not registered with this selector.
    fn reregister(
        &self,
        registry: &Registry,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()>;

    /// Removes the registration. After it returns, no later poll reports `self`.
    ///
    /// # Errors
    ///
    /// `NotFound` if `self` is not registered with this selector.
    fn deregister(&self, registry: &Registry) -> io::Result<()>;
}

/// `Evented` for pointer types, by delegating to the pointee.
macro_rules! impl_evented_for_pointer {
    ($($ptr:ty),*) => {$(
        impl<E: Evented + ?Sized> Evented for $ptr {
            fn register(
                &self,
                registry: &Registry,
                token: Token,
                interest: EventSet,
                opts: PollOpt,
            ) -> io::Result<()> {
                (**self).register(registry, token, interest, opts)
            }

            fn reregister(
                &self,
                registry: &Registry,
                token: Token,
                interest: EventSet,
                opts: PollOpt,
            ) -> io::Result<()> {
                (**self).reregister(registry, token, interest, opts)
            }

            fn deregister(&self, registry: &Registry) -> io::Result<()> {
                (**self).deregister(registry)
            }
        }
    )*};
}

impl_evented_for_pointer!(&E, Box<E>);
