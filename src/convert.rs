//! Conversions between ferrio's sources and the fd types of std: `OwnedFd`, raw fds and the
//! std socket types.
//!
//! Every source holds its IO object in a [`SourceIo`], an `IoSource` whose object can be
//! taken out again ([`into_inner`]). What that means for a registered source:
//!
//! * **Converting away deregisters.** `into_std`, `From<Source> for OwnedFd` and `IntoRawFd`
//!   remove the source from the `Poll` it is registered with (as dropping it would), while the
//!   fd stays open and passes to the caller. The source's token is never reported again, and
//!   the fd can be registered anew (wrapped again, or through `EventedFd`).
//! * **Adopting sets non-blocking mode.** `From<OwnedFd>` and `FromRawFd` switch the fd to
//!   `O_NONBLOCK` (mio 1.x leaves that to the caller): every ferrio source promises that its
//!   IO never blocks, and an adopted blocking socket would stall the whole loop. The flag is
//!   set with `fcntl`, which cannot fail for an open fd. Close-on-exec is left as it is (the
//!   fd's creator chose it); the fd is not registered.
//!
//! The `unsafe` part, `FromRawFd`, is in `sys::fd_conversions`.

#[cfg(unix)]
use std::os::fd::AsRawFd;

use crate::io_source::IoSource;
use crate::sys::detach::{detach, Detachable};
use crate::sys::AsRawOs;

/// The IO object of a source and its registration state.
pub(crate) type SourceIo<T> = IoSource<Detachable<T>>;

/// Wraps a new IO object (not registered).
#[inline]
pub(crate) fn new_io<T: AsRawOs>(inner: T) -> SourceIo<T> {
    IoSource::new(Detachable::new(inner))
}

/// Takes the IO object out of `io`, deregistering it first if it is registered (the fd is
/// still open then, so the selector forgets it even if the fd was duplicated).
pub(crate) fn into_inner<T: AsRawOs>(io: SourceIo<T>) -> T {
    detach(io, |io| io.inner())
}

/// Switches an adopted fd to non-blocking mode (see the module docs). `fcntl` on an open fd
/// cannot fail, and an `OwnedFd` is open, so the result is not needed.
#[cfg(unix)]
pub(crate) fn adopt(fd: &std::os::fd::OwnedFd) {
    let _ = crate::sys::fd::set_nonblocking(fd.as_raw_fd());
}

/// Windows: switches an adopted socket to non-blocking mode (`FIONBIO`), as [`adopt`] does for
/// an fd on Unix; an `OwnedSocket` is open, so the call cannot fail for a valid socket.
#[cfg(windows)]
pub(crate) fn adopt_socket(socket: &std::os::windows::io::OwnedSocket) {
    let _ = socket2::SockRef::from(socket).set_nonblocking(true);
}

/// Implements `IntoRawFd`, `From<Source> for OwnedFd` and `From<OwnedFd> for Source` for a
/// source with an `io: SourceIo<$inner>` field and a `fn wrap($inner) -> Source`.
macro_rules! impl_fd_conversions {
    ($ty:ident, $inner:ty) => {
        #[cfg(unix)]
        impl std::os::fd::IntoRawFd for $ty {
            /// Returns the fd, deregistering the source first if it is registered. The caller
            /// now owns the fd and must close it.
            fn into_raw_fd(self) -> std::os::fd::RawFd {
                std::os::fd::IntoRawFd::into_raw_fd(std::os::fd::OwnedFd::from(self))
            }
        }

        #[cfg(unix)]
        impl From<$ty> for std::os::fd::OwnedFd {
            #[doc = concat!(
                "Takes the fd out of a [`", stringify!($ty), "`], deregistering it first if ",
                "it is registered (its token is never reported again). The fd stays open, in ",
                "the same mode (non-blocking)."
            )]
            fn from(source: $ty) -> std::os::fd::OwnedFd {
                std::os::fd::OwnedFd::from($crate::convert::into_inner(source.io))
            }
        }

        #[cfg(unix)]
        impl From<std::os::fd::OwnedFd> for $ty {
            #[doc = concat!(
                "Adopts an fd as a [`", stringify!($ty), "`], switching it to non-blocking ",
                "mode (ferrio's sources never block; mio 1.x leaves the mode as it is). The ",
                "fd must be of the right kind; it is not registered."
            )]
            fn from(fd: std::os::fd::OwnedFd) -> $ty {
                $crate::convert::adopt(&fd);
                $ty::wrap(<$inner>::from(fd))
            }
        }
    };
}

/// Windows: `IntoRawSocket`, `From<Source> for OwnedSocket` and `From<OwnedSocket> for
/// Source`, as [`impl_fd_conversions`] on Unix (`FromRawSocket` is in
/// `sys::socket_conversions`).
macro_rules! impl_socket_conversions {
    ($ty:ident, $inner:ty) => {
        #[cfg(windows)]
        impl std::os::windows::io::IntoRawSocket for $ty {
            /// Returns the socket, deregistering the source first if it is registered. The
            /// caller now owns the socket and must close it.
            fn into_raw_socket(self) -> std::os::windows::io::RawSocket {
                std::os::windows::io::IntoRawSocket::into_raw_socket(
                    std::os::windows::io::OwnedSocket::from(self),
                )
            }
        }

        #[cfg(windows)]
        impl From<$ty> for std::os::windows::io::OwnedSocket {
            #[doc = concat!(
                "Takes the socket out of a [`", stringify!($ty), "`], deregistering it first ",
                "if it is registered (its token is never reported again). The socket stays ",
                "open and non-blocking."
            )]
            fn from(source: $ty) -> std::os::windows::io::OwnedSocket {
                std::os::windows::io::OwnedSocket::from($crate::convert::into_inner(source.io))
            }
        }

        #[cfg(windows)]
        impl From<std::os::windows::io::OwnedSocket> for $ty {
            #[doc = concat!(
                "Adopts a socket as a [`", stringify!($ty), "`], switching it to non-blocking ",
                "mode (ferrio's sources never block). The socket must be of the right kind; ",
                "it is not registered."
            )]
            fn from(socket: std::os::windows::io::OwnedSocket) -> $ty {
                $crate::convert::adopt_socket(&socket);
                $ty::wrap(<$inner>::from(socket))
            }
        }
    };
}

/// Implements `into_std` and `From<Source> for $std` for a source whose IO object is a std
/// type.
macro_rules! impl_std_conversions {
    ($ty:ident, $std:ty) => {
        impl $ty {
            #[doc = concat!(
                "Converts into std's [`", stringify!($std), "`], deregistering the source ",
                "first if it is registered (its token is never reported again, also when the ",
                "fd was duplicated). The socket stays open and non-blocking; set it blocking ",
                "with `set_nonblocking(false)` if std code expects that."
            )]
            pub fn into_std(self) -> $std {
                $crate::convert::into_inner(self.io)
            }
        }

        impl From<$ty> for $std {
            #[doc = concat!("As [`", stringify!($ty), "::into_std`].")]
            fn from(source: $ty) -> $std {
                source.into_std()
            }
        }
    };
}
