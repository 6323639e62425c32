//! A bounded multi-producer, single-consumer notification channel that wakes a [`Poll`].
//!
//! [`channel`] creates a [`Sender`] (cloneable, `Send + Sync`) and a [`Receiver`] (one, owned
//! by the thread that runs the `Poll`). Senders push into a fixed-capacity ring; the receiver
//! drains it between polls. The `EventLoop` uses the same channel on its reserved wake-up
//! token; with a plain `Poll` you pick the token.
//!
//! # Data structure
//!
//! * The queue is a bounded lock-free MPMC ring (`crossbeam-queue`'s `ArrayQueue`), allocated
//!   once with `capacity` slots. `send` and `try_recv` never allocate and never block: a full
//!   queue is an error ([`NotifyError::Full`]), not a wait.
//! * One atomic *state word* holds two bits: `SLEEPING` ("the receiver may be about to block
//!   in poll, or is blocked") and `CLOSED` ("the receiver was dropped"). Only the receiver sets
//!   them; senders only clear `SLEEPING`. Every write to it is a read-modify-write (`swap`,
//!   `fetch_and`, `fetch_or`), so all writes form one chain; that costs nothing extra on the
//!   send path and lets loom check the protocol exactly (see "Model checking").
//! * A [`Waker`] on the receiver's `Poll`, which a send uses only to end a sleep.
//!
//! # The sleep/wake handshake
//!
//! The receiver announces a sleep and re-checks the queue; a sender publishes its message and
//! then checks for an announced sleep. Both sides put a `SeqCst` fence between their write and
//! their read (a Dekker pattern):
//!
//! ```text
//! sender (send)                          receiver (prepare_sleep)
//! S1 push msg into the queue             R1 state.swap(SLEEPING)
//! S2 fence(SeqCst)                       R2 fence(SeqCst)
//! S3 s = state (plain load)              R3 queue empty? yes -> sleep in poll
//! S4 if s has SLEEPING and this send                     no  -> swap(0), poll with zero timeout
//!    cleared it (fetch_and): wake        after the poll: after_wake() swaps in 0
//! ```
//!
//! **No lost wake-up.** `SeqCst` fences are totally ordered. If S2 comes before R2, the read
//! in R3 sees the push of S1 (a write sequenced before one `SeqCst` fence is visible to a read
//! sequenced after a later `SeqCst` fence), so the queue is not empty and the receiver does not
//! sleep. If R2 comes before S2, S3 sees R1's `SLEEPING` or a later value of the state: either
//! `0` from `after_wake` (the receiver already woke; it re-checks the queue in its next
//! `prepare_sleep`), or another sender's clear (that sender wakes it), or a later round's
//! `SLEEPING` (this send then claims that round). So whenever the receiver sleeps with a
//! message queued, some send clears that round's `SLEEPING` and calls `wake`. The clear is an
//! atomic read-modify-write, so exactly one send per announced sleep makes the syscall.
//!
//! **The wake lands.** The [`Waker`] coalesces with one flag per `Poll` that `poll` clears when
//! its wait returns. R1 is a release write made after the previous poll returned, and S4's
//! `fetch_and` acquires it, so the wake sees the flag as cleared by that poll (and writes the
//! eventfd) or as set by a later wake whose write the coming poll has not consumed yet.
//!
//! **Cost.** While the receiver is busy (not between `prepare_sleep` and `after_wake`), a send
//! is one push, one fence and one load: no syscall. At most one wake-up syscall per announced
//! sleep, however many senders race; the `Waker` coalesces further.
//!
//! # Closing
//!
//! Dropping the [`Receiver`] closes the channel: it sets `CLOSED`, fences, and drops every
//! queued message. A send that sees `CLOSED` before pushing returns
//! [`NotifyError::Closed`]`(Some(msg))` with the message untouched. A send that pushed and then
//! sees `CLOSED` in S3 drains the queue itself. By the same fence argument, every message that
//! was pushed is seen either by the receiver's drain or by its sender's drain, and the ring
//! hands each message to exactly one popper. Hence:
//!
//! * every message whose send returned `Ok(())` is either received by [`Receiver::try_recv`]
//!   exactly once, or, if the receiver is dropped first, dropped exactly once: by the
//!   receiver's `Drop`, or by a concurrent `send` (so possibly on a sender's thread);
//! * once the receiver's drop and all sends racing with it have returned, the queue is empty:
//!   no message lingers until the last `Sender` is dropped;
//! * a send that starts after the receiver's drop returned gets `Closed(Some(msg))`.
//!
//! `Ok(())` means "enqueued", never "delivered": as with any channel, the receiver may be
//! dropped before it reads the message. `Closed(None)` is never returned by this channel; the
//! variant is kept for compatibility with mio's `NotifyError`.
//!
//! # Model checking
//!
//! The handshake and the close path are model-checked with loom, on this code: under
//! `cfg(loom)` the atomics come from `crate::loom`, the ring is replaced by a `Mutex<VecDeque>`
//! whose emptiness check is a relaxed atomic (so the fences, not the mutex, carry the proof),
//! and the wake-up is a loom `Notify` that the model's receiver waits on (a lost wake-up is a
//! loom deadlock). Removing the sender's fence makes the handshake models fail; removing the
//! sender's post-close drain makes the close model fail. The close model's drains pop under the
//! stand-in's mutex, so it checks the drain logic but not the close path's fence.
//!
//! loom keeps modification order as a partial order, so a plain store to the state racing
//! with a sender's RMW would let loom report executions C11 forbids (a false alarm; the test
//! `loom_fence_false_alarm` in the model file shows one). Writing the state only with RMWs
//! avoids that without weakening anything. The model checks the handshake, not crossbeam's
//! ring. Run it with:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test --release --test loom_channel
//! ```
//!
//! # Examples
//!
//! A consumer thread sleeping in [`Poll::poll`] and a producer thread:
//!
//! ```
//! use ferrio::channel::channel;
//! use ferrio::{Events, Poll, Token};
//! use std::thread;
//! use std::time::Duration;
//!
//! const CHANNEL: Token = Token(0);
//!
//! let mut poll = Poll::new()?;
//! let (tx, rx) = channel::<u32>(poll.registry(), CHANNEL, 128)?;
//!
//! let producer = thread::spawn(move || {
//!     for i in 0..100 {
//!         tx.send(i).unwrap();
//!     }
//! });
//!
//! let mut events = Events::with_capacity(8);
//! let mut received = Vec::new();
//! while received.len() < 100 {
//!     while let Some(n) = rx.try_recv() {
//!         received.push(n);
//!     }
//!     if received.len() == 100 {
//!         break;
//!     }
//!     // Sleep only if no message slipped in; a send after this point wakes the poll.
//!     let timeout = if rx.prepare_sleep() { None } else { Some(Duration::ZERO) };
//!     poll.poll(&mut events, timeout)?;
//!     rx.after_wake();
//! }
//! producer.join().unwrap();
//! assert_eq!(received, (0..100).collect::<Vec<_>>());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`Poll`]: crate::Poll
//! [`Poll::poll`]: crate::Poll::poll

use std::cell::Cell;
use std::fmt;
use std::io;
use std::marker::PhantomData;

use crate::loom::{fence, Arc, AtomicUsize, Ordering};
use crate::poll::Registry;
use crate::token::Token;
use crate::waker::Waker;

/// The receiver may be about to sleep in poll, or is asleep: a send must wake it.
const SLEEPING: usize = 1;
/// The receiver was dropped.
const CLOSED: usize = 2;

/// Creates a channel whose sends wake `registry`'s `Poll` with a readable event on `token`.
///
/// The channel holds at most `capacity` messages; the ring is allocated here, once. It owns
/// the `Poll`'s [`Waker`] until the receiver and every sender are dropped.
///
/// Events on `token` only mean "messages may be waiting": drain with [`Receiver::try_recv`]
/// and use [`Receiver::prepare_sleep`] / [`Receiver::after_wake`] around each poll (see the
/// [module docs](self)).
///
/// # Errors
///
/// * `InvalidInput` if `capacity` is 0 or above [`MAX_CAPACITY`], if the ring would take more
///   than 1 GiB (capacity times the message size plus 8 bytes), or for `Token(usize::MAX)`.
/// * `AlreadyExists` if that `Poll` already has a [`Waker`] (a `Poll` has at most one).
/// * The OS error if the eventfd cannot be created.
///
/// # Examples
///
/// ```
/// use ferrio::channel::{channel, NotifyError};
/// use ferrio::{Poll, Token};
///
/// let poll = Poll::new()?;
/// let (tx, rx) = channel(poll.registry(), Token(1), 2)?;
/// tx.send("a").unwrap();
/// tx.send("b").unwrap();
/// assert!(matches!(tx.send("c"), Err(NotifyError::Full("c"))));
/// assert_eq!(rx.try_recv(), Some("a"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn channel<M>(
    registry: &Registry,
    token: Token,
    capacity: usize,
) -> io::Result<(Sender<M>, Receiver<M>)> {
    check_capacity::<M>(capacity)?;
    let waker = Waker::new(registry, token)?;
    Ok(with_wake(Wake::Poll(waker), capacity))
}

/// A channel on the reserved wake-up token, for the event loop.
#[allow(dead_code)]
pub(crate) fn reserved_channel<M>(
    registry: &Registry,
    capacity: usize,
) -> io::Result<(Sender<M>, Receiver<M>)> {
    check_capacity::<M>(capacity)?;
    let waker = Waker::new_reserved(registry)?;
    Ok(with_wake(Wake::Poll(waker), capacity))
}

/// A channel whose wake-up is a loom `Notify` (see `Receiver::__model_park`): loom model only.
#[cfg(loom)]
#[doc(hidden)]
pub fn __model_channel<M>(capacity: usize) -> (Sender<M>, Receiver<M>) {
    assert!(capacity > 0);
    let wake = Wake::Model {
        wakes: AtomicUsize::new(0),
        notify: crate::loom::Notify::new(),
    };
    with_wake(wake, capacity)
}

/// The largest channel capacity: 2^24 messages (the ring is allocated up front, so a bound
/// keeps a typo from becoming an abort).
pub const MAX_CAPACITY: usize = 1 << 24;

/// The largest ring, in bytes, a channel allocates.
const MAX_RING_BYTES: usize = 1 << 30;

fn check_capacity<M>(capacity: usize) -> io::Result<()> {
    check_capacity_for(capacity, std::mem::size_of::<M>())
}

/// Whether a ring of `capacity` messages of `message_size` bytes is acceptable.
pub(crate) fn check_capacity_for(capacity: usize, message_size: usize) -> io::Result<()> {
    let bad = |msg: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
    if capacity == 0 {
        return bad("channel capacity must be at least 1 (notify_capacity = 0?)");
    }
    if capacity > MAX_CAPACITY {
        return bad("channel capacity must be at most channel::MAX_CAPACITY (2^24 messages)");
    }
    // Each slot of the ring holds a message and a sequence stamp.
    let slot = message_size.saturating_add(std::mem::size_of::<usize>());
    if capacity.saturating_mul(slot) > MAX_RING_BYTES {
        return bad("channel ring would exceed 1 GiB: lower the capacity or box the messages");
    }
    Ok(())
}

fn with_wake<M>(wake: Wake, capacity: usize) -> (Sender<M>, Receiver<M>) {
    let chan = Arc::new(Chan {
        state: AtomicUsize::new(0),
        wake,
        queue: Queue::new(capacity),
    });
    let sender = Sender {
        chan: Arc::clone(&chan),
    };
    let receiver = Receiver {
        chan,
        _not_sync: PhantomData,
    };
    (sender, receiver)
}

/// The state shared by the senders and the receiver.
struct Chan<M> {
    /// `SLEEPING | CLOSED` bits; see the module docs.
    state: AtomicUsize,
    wake: Wake,
    queue: Queue<M>,
}

impl<M> Chan<M> {
    /// Drops every queued message (after close; any thread may help).
    fn drain(&self) {
        while let Some(msg) = self.queue.pop() {
            drop(msg);
        }
    }

    fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// S3 of the handshake: the sender's read of the state after its `SeqCst` fence.
    #[inline]
    fn load_state_after_fence(&self) -> usize {
        self.state.load(Ordering::Relaxed)
    }
}

/// How a send ends the receiver's sleep.
enum Wake {
    /// The real thing: a [`Waker`] on the receiver's `Poll`.
    Poll(Waker),
    /// The loom model: count the wake and notify the parked receiver.
    #[cfg(loom)]
    Model {
        wakes: AtomicUsize,
        notify: crate::loom::Notify,
    },
}

impl Wake {
    #[inline]
    fn wake(&self) -> io::Result<()> {
        match self {
            Wake::Poll(waker) => waker.wake(),
            #[cfg(loom)]
            Wake::Model { wakes, notify } => {
                wakes.fetch_add(1, Ordering::SeqCst);
                notify.notify();
                Ok(())
            }
        }
    }
}

/// The bounded ring: crossbeam's lock-free `ArrayQueue`.
#[cfg(not(loom))]
struct Queue<M>(crossbeam_queue::ArrayQueue<M>);

#[cfg(not(loom))]
impl<M> Queue<M> {
    fn new(capacity: usize) -> Queue<M> {
        Queue(crossbeam_queue::ArrayQueue::new(capacity))
    }

    #[inline]
    fn push(&self, msg: M) -> Result<(), M> {
        self.0.push(msg)
    }

    #[inline]
    fn pop(&self) -> Option<M> {
        self.0.pop()
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn capacity(&self) -> usize {
        self.0.capacity()
    }
}

/// The loom stand-in for the ring: storage behind a mutex, but emptiness read from a relaxed
/// atomic without the mutex, so the handshake's fences (not the lock) must make it correct.
#[cfg(loom)]
struct Queue<M> {
    items: crate::loom::Mutex<std::collections::VecDeque<M>>,
    len: AtomicUsize,
    capacity: usize,
}

#[cfg(loom)]
impl<M> Queue<M> {
    fn new(capacity: usize) -> Queue<M> {
        Queue {
            items: crate::loom::Mutex::new(std::collections::VecDeque::with_capacity(capacity)),
            len: AtomicUsize::new(0),
            capacity,
        }
    }

    fn push(&self, msg: M) -> Result<(), M> {
        let mut items = self.items.lock().unwrap();
        if items.len() == self.capacity {
            return Err(msg);
        }
        items.push_back(msg);
        self.len.store(items.len(), Ordering::Relaxed);
        Ok(())
    }

    fn pop(&self) -> Option<M> {
        let mut items = self.items.lock().unwrap();
        let msg = items.pop_front();
        self.len.store(items.len(), Ordering::Relaxed);
        msg
    }

    fn is_empty(&self) -> bool {
        self.len.load(Ordering::Relaxed) == 0
    }

    fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    fn capacity(&self) -> usize {
        self.capacity
    }
}

/// The sending half of a [`channel`]: cloneable, `Send + Sync`, never blocks.
///
/// # Examples
///
/// ```
/// use ferrio::channel::channel;
/// use ferrio::{Events, Poll, Token};
/// use std::thread;
///
/// let mut poll = Poll::new()?;
/// let (tx, rx) = channel(poll.registry(), Token(0), 16)?;
/// let handles: Vec<_> = (0..4)
///     .map(|i| {
///         let tx = tx.clone();
///         thread::spawn(move || tx.send(i).unwrap())
///     })
///     .collect();
/// for h in handles {
///     h.join().unwrap();
/// }
/// let mut got: Vec<i32> = std::iter::from_fn(|| rx.try_recv()).collect();
/// got.sort();
/// assert_eq!(got, [0, 1, 2, 3]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Sender<M> {
    chan: Arc<Chan<M>>,
}

impl<M> Sender<M> {
    /// Enqueues `msg` and wakes the receiver if it may be asleep.
    ///
    /// Never blocks and never allocates. Makes a wake-up syscall only if the receiver
    /// announced a sleep ([`Receiver::prepare_sleep`]) and no other send has woken it since.
    ///
    /// # Errors
    ///
    /// * [`NotifyError::Full`] with `msg` if the channel holds `capacity` messages.
    /// * [`NotifyError::Closed`]`(Some(msg))` if the receiver was dropped.
    /// * [`NotifyError::Io`] if waking the receiver failed. The message **was** enqueued and
    ///   the next send retries the wake-up; this does not happen in practice.
    pub fn send(&self, msg: M) -> Result<(), NotifyError<M>> {
        let chan = &*self.chan;
        if chan.is_closed() {
            return Err(NotifyError::Closed(Some(msg)));
        }
        if let Err(msg) = chan.queue.push(msg) {
            return Err(if chan.is_closed() {
                NotifyError::Closed(Some(msg))
            } else {
                NotifyError::Full(msg)
            });
        }
        // S2/S3 of the handshake: pairs with the fence in `prepare_sleep` and `Receiver::drop`.
        fence(Ordering::SeqCst);
        let state = chan.load_state_after_fence();
        if state & CLOSED != 0 {
            // The receiver's drain may have missed our message: help drain.
            chan.drain();
            return Ok(());
        }
        // Acquire: the wake must see the waker flag as cleared by the poll that preceded the
        // `prepare_sleep` we observed (see "The wake lands" in the module docs).
        if state & SLEEPING != 0
            && chan.state.fetch_and(!SLEEPING, Ordering::AcqRel) & SLEEPING != 0
        {
            if let Err(err) = chan.wake.wake() {
                // Let the next send retry the wake-up.
                chan.state.fetch_or(SLEEPING, Ordering::AcqRel);
                return Err(NotifyError::Io(err));
            }
        }
        Ok(())
    }

    /// Whether the receiver was dropped (a later `send` returns `Closed`).
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// The maximum number of queued messages.
    pub fn capacity(&self) -> usize {
        self.chan.queue.capacity()
    }
}

impl<M> Clone for Sender<M> {
    fn clone(&self) -> Sender<M> {
        Sender {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<M> fmt::Debug for Sender<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.chan.queue.len())
            .field("capacity", &self.chan.queue.capacity())
            .field("closed", &self.chan.is_closed())
            .finish()
    }
}

/// The receiving half of a [`channel`]: drains messages and runs the sleep/wake handshake.
///
/// There is one `Receiver` per channel; it is `Send` but neither `Clone` nor `Sync`, because
/// the handshake assumes a single thread polls. Dropping it closes the channel and drops the
/// queued messages (see the [module docs](self)).
///
/// Each poll of the receiver's `Poll` goes like this:
///
/// 1. drain (or partly drain) with [`try_recv`](Receiver::try_recv);
/// 2. call [`prepare_sleep`](Receiver::prepare_sleep): if it returns `false`, messages are
///    waiting, so poll with a zero timeout; if `true`, poll with the timeout you want: any send
///    from now on wakes the poll;
/// 3. after the poll returns, call [`after_wake`](Receiver::after_wake).
pub struct Receiver<M> {
    chan: Arc<Chan<M>>,
    /// `Send` but not `Sync`: only one thread may run the handshake.
    _not_sync: PhantomData<Cell<()>>,
}

impl<M> Receiver<M> {
    /// Takes the oldest message, if any. Never blocks, never allocates.
    #[inline]
    pub fn try_recv(&self) -> Option<M> {
        self.chan.queue.pop()
    }

    /// The number of queued messages (a snapshot; senders may be adding more).
    pub fn len(&self) -> usize {
        self.chan.queue.len()
    }

    /// Whether no message is queued (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.chan.queue.is_empty()
    }

    /// The maximum number of queued messages.
    pub fn capacity(&self) -> usize {
        self.chan.queue.capacity()
    }

    /// Announces that the caller is about to block in poll; returns whether it may.
    ///
    /// Returns `true` if the queue is empty: from now on until [`after_wake`], the first
    /// send wakes the `Poll`, so blocking cannot miss a message. Returns `false` if messages
    /// are already waiting (nothing is announced then): poll with a zero timeout, or drain
    /// first. Call [`after_wake`] after the poll either way.
    ///
    /// [`after_wake`]: Receiver::after_wake
    pub fn prepare_sleep(&self) -> bool {
        let chan = &*self.chan;
        // R1/R2/R3 of the handshake: pairs with the fence in `Sender::send`. SeqCst for the
        // swap also makes it a release for the sender's acquiring `fetch_and`. A swap, not a
        // store: every write to the state is an RMW (see "Data structure").
        chan.state.swap(SLEEPING, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if chan.queue.is_empty() {
            true
        } else {
            // A sender may have claimed the announcement already: one spurious wake-up at most.
            chan.state.swap(0, Ordering::Relaxed);
            false
        }
    }

    /// Ends an announced sleep once the poll has returned: sends no longer make syscalls.
    pub fn after_wake(&self) {
        self.chan.state.swap(0, Ordering::Relaxed);
    }

    /// How many wake-ups the senders issued (loom model only).
    #[cfg(loom)]
    #[doc(hidden)]
    pub fn __model_wakes(&self) -> usize {
        match &self.chan.wake {
            Wake::Model { wakes, .. } => wakes.load(Ordering::SeqCst),
            Wake::Poll(_) => 0,
        }
    }

    /// Blocks like a poll without timeout until a send's wake-up (loom model only; it may also
    /// return spuriously, as a poll may). A lost wake-up leaves it blocked: a loom deadlock.
    #[cfg(loom)]
    #[doc(hidden)]
    pub fn __model_park(&self) {
        match &self.chan.wake {
            Wake::Model { notify, .. } => notify.wait(),
            Wake::Poll(_) => panic!("__model_park needs a __model_channel"),
        }
    }
}

impl<M> Drop for Receiver<M> {
    fn drop(&mut self) {
        // D1/D2/D3: close, then drain; pairs with the fence in `Sender::send`.
        self.chan.state.fetch_or(CLOSED, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        self.chan.drain();
    }
}

impl<M> fmt::Debug for Receiver<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.chan.queue.len())
            .field("capacity", &self.chan.queue.capacity())
            .finish()
    }
}

/// Why [`Sender::send`] failed.
///
/// `Debug`, `Display` and [`std::error::Error`] do not need `M: Debug`; the message is shown
/// as `..`. Converts into an [`io::Error`] (dropping the message): `Full` becomes
/// `WouldBlock`, `Closed` becomes `BrokenPipe`, `Io` is unwrapped.
pub enum NotifyError<M> {
    /// Waking the receiver failed. The message was enqueued nevertheless.
    Io(io::Error),
    /// The channel is full; the message is handed back.
    Full(M),
    /// The receiver was dropped. The message is handed back when it was not enqueued
    /// (this channel always hands it back; `None` exists for compatibility).
    Closed(Option<M>),
}

impl<M> NotifyError<M> {
    /// Takes back the message that was not sent, if this error carries one.
    pub fn into_inner(self) -> Option<M> {
        match self {
            NotifyError::Io(_) => None,
            NotifyError::Full(msg) => Some(msg),
            NotifyError::Closed(msg) => msg,
        }
    }
}

impl<M> fmt::Debug for NotifyError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotifyError::Io(err) => f.debug_tuple("Io").field(err).finish(),
            NotifyError::Full(_) => f.write_str("Full(..)"),
            NotifyError::Closed(Some(_)) => f.write_str("Closed(Some(..))"),
            NotifyError::Closed(None) => f.write_str("Closed(None)"),
        }
    }
}

impl<M> fmt::Display for NotifyError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotifyError::Io(err) => write!(f, "failed to wake the receiving poll: {err}"),
            NotifyError::Full(_) => f.write_str("the channel is full"),
            NotifyError::Closed(_) => f.write_str("the channel is closed (receiver dropped)"),
        }
    }
}

impl<M> std::error::Error for NotifyError<M> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NotifyError::Io(err) => Some(err),
            _ => None,
        }
    }
}

impl<M> From<NotifyError<M>> for io::Error {
    fn from(err: NotifyError<M>) -> io::Error {
        match err {
            NotifyError::Io(err) => err,
            NotifyError::Full(_) => {
                io::Error::new(io::ErrorKind::WouldBlock, "the channel is full")
            }
            NotifyError::Closed(_) => io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the channel is closed (receiver dropped)",
            ),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::poll::Poll;

    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}

    #[test]
    fn type_promises() {
        // `Cell` is Send but not Sync: the sender is still Sync.
        assert_send_sync::<Sender<Cell<u8>>>();
        assert_send::<Receiver<Cell<u8>>>();
        assert_send_sync::<NotifyError<String>>();
    }

    #[test]
    fn handshake_state_bits() {
        let poll = Poll::new().unwrap();
        let (tx, rx) = channel::<u8>(poll.registry(), Token(0), 4).unwrap();
        assert!(rx.prepare_sleep());
        assert_eq!(rx.chan.state.load(Ordering::SeqCst), SLEEPING);
        // The send claims the announced sleep.
        tx.send(1).unwrap();
        assert_eq!(rx.chan.state.load(Ordering::SeqCst), 0);
        rx.after_wake();
        // Messages pending: no sleep announced.
        assert!(!rx.prepare_sleep());
        assert_eq!(rx.chan.state.load(Ordering::SeqCst), 0);
        assert_eq!(rx.try_recv(), Some(1));
        drop(rx);
        assert_eq!(tx.chan.state.load(Ordering::SeqCst), CLOSED);
        assert!(tx.is_closed());
    }

    #[test]
    fn error_formatting_and_conversion() {
        struct NoDebug;
        let full: NotifyError<NoDebug> = NotifyError::Full(NoDebug);
        assert_eq!(format!("{full:?}"), "Full(..)");
        assert_eq!(full.to_string(), "the channel is full");
        let err: io::Error = full.into();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        let closed: NotifyError<NoDebug> = NotifyError::Closed(Some(NoDebug));
        assert_eq!(format!("{closed:?}"), "Closed(Some(..))");
        assert!(closed.into_inner().is_some());
        let io_err: NotifyError<NoDebug> = NotifyError::Io(io::Error::other("boom"));
        assert!(std::error::Error::source(&io_err).is_some());
        assert_eq!(io::Error::from(io_err).to_string(), "boom");
        let closed: io::Error = NotifyError::Closed(None::<NoDebug>).into();
        assert_eq!(closed.kind(), io::ErrorKind::BrokenPipe);
    }
}
