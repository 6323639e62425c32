//! Steady state of the channel makes no allocation: 100,000 messages through send, try_recv
//! and the sleep/wake handshake (including real wake-ups and polls) after construction.

use ferrio::channel::channel;
use ferrio::{Events, Poll, Token};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

struct CountingAlloc;

thread_local! {
    /// Allocations made by this thread while counting is on (no destructor: no allocation).
    static COUNT: Cell<Option<usize>> = const { Cell::new(None) };
}

fn record() {
    COUNT.with(|c| {
        if let Some(n) = c.get() {
            c.set(Some(n + 1));
        }
    });
}

// SAFETY: forwards every call unchanged to the system allocator; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record();
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` through `alloc` above with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record();
        // SAFETY: the caller upholds `realloc`'s contract, which we pass on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

#[test]
fn steady_state_makes_no_allocation() {
    let mut poll = Poll::new().unwrap();
    let (tx, rx) = channel::<[u64; 4]>(poll.registry(), Token(1), 64).unwrap();
    let mut events = Events::with_capacity(8);

    COUNT.with(|c| c.set(Some(0)));
    let mut received = 0u64;
    for i in 0..100_000u64 {
        if i % 16 == 0 {
            // Announce a sleep with an empty queue: the next send makes a real wake-up, and the
            // poll sees it.
            assert!(rx.prepare_sleep());
            tx.send([i; 4]).unwrap();
            poll.poll(&mut events, Some(Duration::from_secs(5)))
                .unwrap();
            assert_eq!(events.len(), 1);
            rx.after_wake();
        } else {
            tx.send([i; 4]).unwrap();
            assert!(!rx.prepare_sleep());
            rx.after_wake();
        }
        assert_eq!(rx.try_recv(), Some([i; 4]));
        received += 1;
    }
    let allocations = COUNT.with(|c| c.replace(None)).unwrap();
    assert_eq!(received, 100_000);
    assert_eq!(allocations, 0, "the channel allocated in steady state");
}
