//! [`Waker`]: wakes a blocked [`Poll`](crate::Poll) from any thread.

use std::io;

use crate::poll::Registry;
use crate::sys;
use crate::token::Token;

/// Wakes a thread blocked in [`Poll::poll`](crate::Poll::poll), from any thread.
///
/// A wake shows up as a readable event with the waker's token. Wakes coalesce: however many
/// `wake` calls happen between two polls, they cost at most one syscall (an eventfd write on
/// Linux) and produce one event. A `Poll` has at most one `Waker` at a time.
///
/// Dropping the `Waker` right after `wake` does not cancel the wake: a poll blocked at that
/// moment returns, and reports the dropped waker's token (on every backend). The wake-up
/// mechanism belongs to the `Poll`, so dropping a `Waker` and making a new one needs no
/// syscall beyond the first `Waker`'s set-up.
///
/// # Examples
///
/// ```
/// use ferrio::{Events, Poll, Token, Waker};
/// use std::sync::Arc;
/// use std::thread;
///
/// const WAKE: Token = Token(10);
/// let mut poll = Poll::new()?;
/// let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
/// let w = Arc::clone(&waker);
/// let t = thread::spawn(move || w.wake().unwrap());
///
/// let mut events = Events::with_capacity(4);
/// poll.poll(&mut events, None)?;
/// assert_eq!(events.get(0).unwrap().token(), WAKE);
/// t.join().unwrap();
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Waker {
    inner: sys::Waker,
}

impl Waker {
    /// Creates a waker that reports `token` on `registry`'s `Poll`.
    ///
    /// # Errors
    ///
    /// * `AlreadyExists` if that `Poll` already has a `Waker`.
    /// * `InvalidInput` for `Token(usize::MAX)`.
    /// * The OS error if the eventfd cannot be created.
    pub fn new(registry: &Registry, token: Token) -> io::Result<Waker> {
        Ok(Waker {
            inner: sys::Waker::new(&registry.selector, token.check_user()?)?,
        })
    }

    /// A waker on the reserved token, for the event loop's channel; if the program made a
    /// `Waker` on the loop's registry first, one that shares it (the channel's wake-ups then
    /// come as that waker's token).
    #[allow(dead_code)]
    pub(crate) fn new_reserved(registry: &Registry) -> io::Result<Waker> {
        Ok(Waker {
            inner: sys::Waker::new_or_share(&registry.selector, Token::RESERVED)?,
        })
    }

    /// Wakes the `Poll`. Cheap when a wake is already pending (one atomic swap, no syscall).
    ///
    /// # Errors
    ///
    /// The OS error of the eventfd write, which does not happen in practice.
    #[inline]
    pub fn wake(&self) -> io::Result<()> {
        self.inner.wake()
    }
}
