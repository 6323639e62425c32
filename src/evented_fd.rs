//! [`EventedFd`]: register any raw file descriptor.

use std::io;
use std::os::fd::RawFd;

use crate::event_set::EventSet;
use crate::evented::Evented;
use crate::poll::Registry;
use crate::poll_opt::PollOpt;
use crate::token::Token;

/// Adapts a raw file descriptor to [`Evented`], for fds ferrio does not wrap (an inotify fd,
/// a timerfd, a socket from another library).
///
/// It holds no state: it does not own the fd and does not track the registration. So,
/// unlike ferrio's own sources, registering the same fd twice is reported by the OS
/// (`AlreadyExists` from epoll) but registering it with two different `Poll`s is not
/// detected, and closing the fd is the caller's job (deregister first if the fd may have been
/// duplicated).
///
/// # Examples
///
/// ```
/// use ferrio::{Events, EventSet, Poll, PollOpt, Token};
/// use ferrio::unix::EventedFd;
/// use std::os::fd::AsRawFd;
/// use std::os::unix::net::UnixDatagram;
///
/// let (a, b) = UnixDatagram::pair()?;
/// a.set_nonblocking(true)?;
/// let mut poll = Poll::new()?;
/// let fd = a.as_raw_fd();
/// poll.register(&EventedFd(&fd), Token(0), EventSet::readable(), PollOpt::level())?;
/// b.send(b"x")?;
/// let mut events = Events::with_capacity(4);
/// poll.poll(&mut events, None)?;
/// assert_eq!(events.get(0).unwrap().token(), Token(0));
/// poll.deregister(&EventedFd(&fd))?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct EventedFd<'a>(pub &'a RawFd);

impl Evented for EventedFd<'_> {
    fn register(
        &self,
        registry: &Registry,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        registry.register_fd(*self.0, token, interest, opts)
    }

    fn reregister(
        &self,
        registry: &Registry,
        token: Token,
        interest: EventSet,
        opts: PollOpt,
    ) -> io::Result<()> {
        registry.reregister_fd(*self.0, token, interest, opts)
    }

    fn deregister(&self, registry: &Registry) -> io::Result<()> {
        registry.deregister_fd(*self.0)
    }
}
