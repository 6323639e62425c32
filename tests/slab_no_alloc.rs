//! `util::Slab` allocates only in its constructor and in `grow`: inserting, removing, replacing,
//! retaining, clearing and iterating within the reserved capacity never touch the allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ferrio::util::Slab;

/// Counts the allocations made by the current thread, so other test threads do not interfere.
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[allow(unsafe_code)]
// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract holds as it does for `System`; counting touches only a const-initialised
// thread local without destructor, which does not allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: the caller upholds `alloc`'s contract, which is `System::alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: the caller upholds `realloc`'s contract, which is `System::realloc`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn steady_state_operations_do_not_allocate() {
    const CAPACITY: usize = 64;
    let mut slab: Slab<[u64; 4]> = Slab::new(CAPACITY);
    let before = allocations();

    for round in 0..10u64 {
        let mut tokens = [ferrio::Token(0); CAPACITY];
        for (n, token) in tokens.iter_mut().enumerate() {
            *token = slab.insert([round, n as u64, 0, 0]).unwrap();
        }
        assert!(slab.insert([0; 4]).is_err());
        for token in tokens.iter().step_by(2) {
            assert!(slab.remove(*token).is_some());
        }
        for token in tokens.iter().skip(1).step_by(4) {
            assert!(slab.try_replace(*token, [1; 4]).is_ok());
        }
        while slab.insert_with(|token| [token.0 as u64; 4]).is_some() {}
        let sum: u64 = slab.entries().map(|(_, value)| value[0]).sum();
        assert!(sum > 0);
        for (_, value) in slab.entries_mut() {
            value[3] += 1;
        }
        slab.retain_entries(|token, _| token.0 % 3 != 0);
        slab.clear();
    }

    assert_eq!(allocations(), before, "the slab allocated in steady state");

    // grow is the documented exception.
    slab.grow(1);
    assert!(allocations() > before, "grow should have reserved memory");
}

#[test]
fn insert_grow_allocates_only_when_full() {
    let mut slab: Slab<u64> = Slab::new(4);
    let mut tokens = Vec::with_capacity(64);
    let reserved = allocations();
    for n in 0..4 {
        tokens.push(slab.insert_grow(n).unwrap());
    }
    for round in 0..100 {
        let token = tokens.pop().unwrap();
        slab.remove(token).unwrap();
        tokens.push(slab.insert_grow(round).unwrap());
    }
    assert_eq!(
        allocations(),
        reserved,
        "insert_grow allocated with room left"
    );

    // Full: the next insert_grow grows (one reservation), then has room again.
    tokens.push(slab.insert_grow(4).unwrap());
    let grown = allocations();
    assert!(grown > reserved, "a full slab must grow");
    while slab.remaining() > 0 {
        tokens.push(slab.insert_grow(5).unwrap());
    }
    assert_eq!(
        allocations(),
        grown,
        "inserts into the grown room allocated"
    );
}
