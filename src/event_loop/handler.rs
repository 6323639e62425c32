//! The [`Handler`] trait: the callbacks an [`EventLoop`] dispatches to.

use crate::event_loop::EventLoop;
use crate::event_set::EventSet;
use crate::token::Token;

/// Receives everything an [`EventLoop`] dispatches: IO readiness, messages, timeouts.
///
/// Every callback has an empty default, so a handler implements only what it uses. Each gets
/// the loop itself, so it can register sources, set timeouts or shut the loop down.
///
/// # Order within one iteration
///
/// 1. [`interrupted`](Handler::interrupted) if the wait was interrupted by a signal;
/// 2. [`ready`](Handler::ready) once per ready source (never for a source whose
///    `deregister` returned earlier, even in the same batch);
/// 3. [`notify`](Handler::notify) for up to `messages_per_tick` messages, in FIFO order
///    (only messages already queued when delivery starts; one sent from `notify` arrives in
///    a later iteration);
/// 4. [`timeout`](Handler::timeout) for every due timeout, in deadline order;
/// 5. [`tick`](Handler::tick) once.
///
/// A callback may call [`EventLoop::run_once`] itself: the nested call first delivers the
/// rest of the current batch, then runs a whole iteration (see
/// [Calling `run_once` from a callback](EventLoop#calling-run_once-from-a-callback)). Every
/// event is still delivered exactly once.
///
/// # Examples
///
/// ```
/// use ferrio::{EventLoop, Handler};
///
/// struct Counter(u32);
///
/// impl Handler for Counter {
///     type Timeout = u32;
///     type Message = ();
///
///     fn timeout(&mut self, event_loop: &mut EventLoop<Counter>, n: u32) {
///         self.0 += n;
///         event_loop.shutdown();
///     }
/// }
///
/// let mut event_loop = EventLoop::new()?;
/// event_loop.timeout_ms(5, 1).unwrap();
/// let mut handler = Counter(0);
/// event_loop.run(&mut handler)?;
/// assert_eq!(handler.0, 5);
/// # Ok::<(), std::io::Error>(())
/// ```
#[allow(unused_variables)]
pub trait Handler: Sized {
    /// The value a timeout carries back to [`timeout`](Handler::timeout).
    type Timeout;
    /// The message type of the loop's channel ([`EventLoop::channel`]).
    type Message: Send;

    /// A registered source is ready; `events` says for what.
    fn ready(&mut self, event_loop: &mut EventLoop<Self>, token: Token, events: EventSet) {}

    /// A message sent through a [`Sender`](crate::Sender) arrived.
    fn notify(&mut self, event_loop: &mut EventLoop<Self>, msg: Self::Message) {}

    /// A timeout set with [`EventLoop::timeout_ms`] expired.
    fn timeout(&mut self, event_loop: &mut EventLoop<Self>, timeout: Self::Timeout) {}

    /// The wait for events was interrupted by a signal (`EINTR`). The loop continues.
    fn interrupted(&mut self, event_loop: &mut EventLoop<Self>) {}

    /// Called once at the end of every iteration.
    fn tick(&mut self, event_loop: &mut EventLoop<Self>) {}
}
