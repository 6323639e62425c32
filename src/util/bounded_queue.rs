//! [`BoundedQueue`]: mio 0.5's fixed-capacity MPMC queue, over crossbeam's `ArrayQueue`.

use std::fmt;
use std::sync::Arc;

/// A fixed-capacity, lock-free queue that any number of threads push to and pop from.
///
/// Clones are handles to the same queue (it lives as long as one handle does), so each thread
/// keeps its own. [`push`](BoundedQueue::push) never blocks and never allocates: when the
/// queue is full the value comes back as `Err`. [`pop`](BoundedQueue::pop) never blocks
/// either. Values pushed by one thread are popped in the order that thread pushed them.
///
/// This is mio 0.5's `util::BoundedQueue` (its methods and their signatures). It is not
/// tied to an event loop: to wake a loop when a value arrives, use the loop's
/// [`channel`](crate::EventLoop::channel) instead, which is this kind of queue plus a wake-up.
///
/// # Capacity
///
/// The queue holds exactly the capacity it was created with (mio 0.5 rounded it up to a power
/// of two, at least 2). A capacity of 0 makes a queue that is always full: every `push` hands
/// its value back.
///
/// # Examples
///
/// ```
/// use ferrio::util::BoundedQueue;
/// use std::thread;
///
/// let queue = BoundedQueue::with_capacity(2);
/// let producer = {
///     let queue = queue.clone();
///     thread::spawn(move || {
///         queue.push("a").unwrap();
///         queue.push("b").unwrap();
///         // Full until a consumer pops.
///         assert_eq!(queue.push("c"), Err("c"));
///     })
/// };
/// producer.join().unwrap();
/// assert_eq!(queue.pop(), Some("a"));
/// assert_eq!(queue.pop(), Some("b"));
/// assert_eq!(queue.pop(), None);
/// ```
pub struct BoundedQueue<T> {
    /// `None` for a queue of capacity 0 (crossbeam's queue needs at least one slot).
    ring: Arc<Option<crossbeam_queue::ArrayQueue<T>>>,
}

impl<T: Send> BoundedQueue<T> {
    /// Creates a queue holding at most `capacity` values, allocating its memory now.
    ///
    /// A `capacity` of 0 is allowed: that queue refuses every value.
    pub fn with_capacity(capacity: usize) -> BoundedQueue<T> {
        let ring = if capacity == 0 {
            None
        } else {
            Some(crossbeam_queue::ArrayQueue::new(capacity))
        };
        BoundedQueue {
            ring: Arc::new(ring),
        }
    }

    /// Appends `value`, or hands it back as `Err` if the queue is full.
    pub fn push(&self, value: T) -> Result<(), T> {
        match &*self.ring {
            Some(ring) => ring.push(value),
            None => Err(value),
        }
    }

    /// Takes the oldest value, or returns `None` if the queue is empty.
    pub fn pop(&self) -> Option<T> {
        self.ring.as_ref().as_ref().and_then(|ring| ring.pop())
    }
}

impl<T> BoundedQueue<T> {
    /// Returns the number of values the queue holds at most.
    pub fn capacity(&self) -> usize {
        self.ring
            .as_ref()
            .as_ref()
            .map_or(0, |ring| ring.capacity())
    }

    /// Returns the number of values in the queue when it was looked at (other threads may
    /// change it right after).
    pub fn len(&self) -> usize {
        self.ring.as_ref().as_ref().map_or(0, |ring| ring.len())
    }

    /// Returns `true` if the queue held no value when it was looked at.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Clone for BoundedQueue<T> {
    /// Returns another handle to the same queue.
    fn clone(&self) -> BoundedQueue<T> {
        BoundedQueue {
            ring: Arc::clone(&self.ring),
        }
    }
}

impl<T> fmt::Debug for BoundedQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedQueue")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::BoundedQueue;

    #[test]
    fn zero_capacity_refuses_everything() {
        let queue = BoundedQueue::with_capacity(0);
        assert_eq!(queue.push(1), Err(1));
        assert_eq!(queue.pop(), None);
        assert_eq!(queue.capacity(), 0);
        assert!(queue.is_empty());
    }

    #[test]
    fn exact_capacity_and_shared_handles() {
        let queue = BoundedQueue::with_capacity(3);
        let other = queue.clone();
        for i in 0..3 {
            queue.push(i).unwrap();
        }
        assert_eq!(other.push(3), Err(3));
        assert_eq!(other.len(), 3);
        assert_eq!(other.pop(), Some(0));
        assert_eq!(queue.push(3), Ok(()));
        let drained: Vec<_> = std::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(drained, [1, 2, 3]);
    }

    #[test]
    fn send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<BoundedQueue<String>>();
    }
}
