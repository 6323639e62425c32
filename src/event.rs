//! [`IoEvent`] and the [`Events`] buffer that `Poll::poll` fills.

use crate::event_set::EventSet;
use crate::sys;
use crate::token::Token;

/// One readiness event: which source (`token`) and what it is ready for (`kind`).
///
/// A poll reports at most one event per source, with readable and writable merged.
///
/// # Examples
///
/// ```
/// use ferrio::{EventSet, IoEvent, Token};
///
/// let ev = IoEvent::new(EventSet::readable() | EventSet::hup(), Token(3));
/// assert_eq!(ev.token(), Token(3));
/// assert!(ev.kind().is_readable() && ev.kind().is_hup());
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct IoEvent {
    /// The readiness reported.
    pub kind: EventSet,
    /// The token the source was registered with.
    pub token: Token,
}

impl IoEvent {
    /// Creates an event (useful to feed handlers in tests).
    #[inline]
    pub fn new(kind: EventSet, token: Token) -> IoEvent {
        IoEvent { kind, token }
    }

    /// The readiness reported.
    #[inline]
    pub fn kind(&self) -> EventSet {
        self.kind
    }

    /// The token the source was registered with.
    #[inline]
    pub fn token(&self) -> Token {
        self.token
    }
}

/// A buffer of readiness events, filled by [`Poll::poll`](crate::Poll::poll).
///
/// The capacity, chosen at creation, is the most events one poll returns; further ready
/// sources are reported by the next poll. The buffer never reallocates: polling allocates
/// nothing.
///
/// # Capacity
///
/// At most [`Events::MAX_CAPACITY`] (65,536) events per poll: a larger batch brings nothing
/// (the kernel hands the rest to the next poll) and only costs memory.
/// [`try_with_capacity`](Events::try_with_capacity) rejects a capacity of 0 or above the
/// maximum with an `InvalidInput` error, at the point where the mistake is made.
/// [`with_capacity`](Events::with_capacity) keeps mio's infallible signature: it clamps a
/// larger request to the maximum, and accepts 0, because an empty buffer is a useful
/// placeholder that allocates nothing (like `Vec::with_capacity(0)`); [`Poll::poll`]
/// then refuses it with `InvalidInput`, since it could never report anything.
///
/// [`Poll::poll`]: crate::Poll::poll
///
/// # Examples
///
/// ```
/// use ferrio::{Events, Poll};
/// use std::time::Duration;
///
/// let mut poll = Poll::new()?;
/// let mut events = Events::with_capacity(128);
/// poll.poll(&mut events, Some(Duration::ZERO))?;
/// for event in &events {
///     println!("{:?} is {:?}", event.token(), event.kind());
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Events {
    pub(crate) inner: sys::Events,
}

impl Events {
    /// The largest capacity: 65,536 events per poll.
    pub const MAX_CAPACITY: usize = 1 << 16;

    /// A buffer that holds up to `capacity` events per poll (clamped to
    /// [`MAX_CAPACITY`](Events::MAX_CAPACITY); see [Capacity](#capacity) for 0).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::Events;
    ///
    /// assert_eq!(Events::with_capacity(256).capacity(), 256);
    /// assert_eq!(Events::with_capacity(usize::MAX).capacity(), Events::MAX_CAPACITY);
    /// ```
    pub fn with_capacity(capacity: usize) -> Events {
        Events {
            inner: sys::Events::with_capacity(capacity.min(Self::MAX_CAPACITY)),
        }
    }

    /// A buffer that holds up to `capacity` events per poll.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `capacity` is 0 or above [`MAX_CAPACITY`](Events::MAX_CAPACITY).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::Events;
    /// use std::io::ErrorKind;
    ///
    /// assert_eq!(Events::try_with_capacity(64)?.capacity(), 64);
    /// assert_eq!(Events::try_with_capacity(0).unwrap_err().kind(), ErrorKind::InvalidInput);
    /// assert_eq!(Events::try_with_capacity(usize::MAX / 2).unwrap_err().kind(), ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_with_capacity(capacity: usize) -> std::io::Result<Events> {
        let bad = |msg: &str| Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, msg));
        if capacity == 0 {
            return bad("Events capacity must be at least 1: a poll could report nothing");
        }
        if capacity > Self::MAX_CAPACITY {
            return bad("Events capacity must be at most Events::MAX_CAPACITY (65,536)");
        }
        Ok(Events::with_capacity(capacity))
    }

    /// The most events one poll can return.
    pub fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    /// The number of events the last poll returned.
    #[inline]
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether the last poll returned no event.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.inner.len() == 0
    }

    /// The event at `idx`, if `idx < len()`.
    #[inline]
    pub fn get(&self, idx: usize) -> Option<IoEvent> {
        self.inner
            .get(idx)
            .map(|(token, kind)| IoEvent { kind, token })
    }

    /// Removes every event.
    pub fn clear(&mut self) {
        self.inner.clear();
    }

    /// Iterates over the events of the last poll.
    #[inline]
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            raw: self.inner.as_slice().iter(),
        }
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = IoEvent;
    type IntoIter = Iter<'a>;

    #[inline]
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Iterator over the events in an [`Events`] buffer.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    raw: std::slice::Iter<'a, sys::RawEvent>,
}

impl Iterator for Iter<'_> {
    type Item = IoEvent;

    #[inline]
    fn next(&mut self) -> Option<IoEvent> {
        self.raw.next().map(|raw| {
            let (token, kind) = raw.get();
            IoEvent { kind, token }
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.raw.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}
