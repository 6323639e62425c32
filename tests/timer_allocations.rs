//! The timer wheel allocates only while it grows: once `try_reserve` has made room for the
//! pending timeouts, insert, cancel, reset, poll (with small steps and huge jumps),
//! next_deadline and clear make no allocation.
//!
//! A counting global allocator counts allocations made by the current thread while counting is
//! switched on, so the test harness's own threads cannot disturb the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ferrio::timer::{Timeout, Timer};

struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn record() {
    // `try_with`: the allocator may run while thread-locals are being torn down.
    let counting = COUNTING.try_with(Cell::get).unwrap_or(false);
    if counting {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so `System`'s
// guarantees hold; the bookkeeping only touches const-initialised thread-locals, which never
// allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record();
        // SAFETY: `ptr` was allocated by this allocator, that is by `System`, with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator, that is by `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Runs `f` and returns how many allocations this thread made meanwhile.
fn allocations_during(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn counting_allocator_sees_allocations() {
    // Guards against a counter that never counts.
    let n = allocations_during(|| drop(std::hint::black_box(vec![1u8; 16])));
    assert_eq!(n, 1);
}

#[test]
fn no_allocation_after_try_reserve() {
    const CAPACITY: usize = 1024;
    let mut timer: Timer<u64> = Timer::with_capacity(CAPACITY);
    timer.try_reserve(CAPACITY).unwrap();
    let mut handles: [Option<Timeout>; CAPACITY] = [None; CAPACITY];
    let mut fired = 0u64;
    let mut cancelled = 0u64;
    let mut resets = 0u64;

    let n = allocations_during(|| {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for cycle in 0..100_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let now = timer.now();
            // Deadlines from the past to far ahead, across all levels.
            let deadline = match cycle % 5 {
                0 => now.saturating_sub(x % 10),
                1 => now + x % 64,
                2 => now + x % 100_000,
                3 => now.saturating_add(x >> (cycle % 40)),
                _ => u64::MAX - x % 3,
            };
            let slot = (x % CAPACITY as u64) as usize;
            if cycle % 7 == 3 {
                // An idle timeout pushed back (or pulled in) instead of replaced.
                if let Some(old) = handles[slot] {
                    if timer.reset(old, deadline) {
                        resets += 1;
                        continue;
                    }
                }
            }
            if let Some(old) = handles[slot].take() {
                if timer.cancel(old).is_some() {
                    cancelled += 1;
                }
            }
            match timer.try_insert(deadline, cycle) {
                Ok(handle) => handles[slot] = Some(handle),
                Err((_, value)) => assert_eq!(value, cycle),
            }
            let _ = timer.next_deadline();
            // Mostly small steps; sometimes a huge jump.
            let step = if cycle % 1000 == 999 { 1 << 35 } else { x % 8 };
            while timer.poll(now.saturating_add(step)).is_some() {
                fired += 1;
            }
        }
        timer.clear();
    });

    assert_eq!(n, 0, "timer allocated {n} times after construction");
    assert!(fired > 10_000, "only {fired} timeouts fired");
    assert!(cancelled > 10_000, "only {cancelled} timeouts cancelled");
    assert!(resets > 5_000, "only {resets} timeouts reset");
    assert!(timer.is_empty());
}
