//! A `RingBuf` lives on the stack: constructing and using it never touches the heap.
//!
//! A counting global allocator records allocations made by the test thread only (a
//! thread-local counter), so the test harness's own threads cannot disturb the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{IoSlice, Read, Write};
#[cfg(unix)]
use std::os::unix::net::UnixStream;

/// Windows: a connected loopback pair of std TCP streams stands in for a Unix socket pair.
#[cfg(windows)]
struct UnixStream;

#[cfg(windows)]
impl UnixStream {
    fn pair() -> std::io::Result<(std::net::TcpStream, std::net::TcpStream)> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let a = std::net::TcpStream::connect(listener.local_addr()?)?;
        let (b, _) = listener.accept()?;
        Ok((a, b))
    }
}

use bytes::{Buf, BufMut};
use ferrio::buf::RingBuf;

struct CountingAllocator;

thread_local! {
    // `const` initialisation: reading it never allocates or registers a destructor.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds the `GlobalAlloc`
// contract; counting touches only a thread-local `Cell` and never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: the caller's guarantees for `alloc` are passed on as they are.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: `ptr` and `layout` come from this allocator, i.e. from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` and `layout` come from this allocator, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// Runs `f` and returns how many allocations the current thread made meanwhile.
fn count_allocations(f: impl FnOnce()) -> usize {
    let before = allocations();
    f();
    allocations() - before
}

#[test]
fn the_counter_sees_heap_allocations() {
    // Guards against a counter that always reads 0.
    let n = count_allocations(|| drop(std::hint::black_box(vec![1u8; 16])));
    assert_eq!(n, 1);
}

#[test]
fn ring_buf_4096_on_the_stack_never_allocates() {
    // Socket pair created outside the counted region: only the ring's use is measured.
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let payload = [0x5Au8; 4096];

    let n = count_allocations(|| {
        let mut ring = RingBuf::<4096>::new();
        let mut out = [0u8; 4096];
        for round in 0..50usize {
            // Inherent API, across the wrap.
            assert_eq!(ring.push_slice(&payload[..3000]), 3000);
            assert_eq!(ring.pop_slice(&mut out[..2000]), 2000);
            ring.consume(ring.len());

            // bytes::BufMut / Buf.
            ring.put_slice(&payload[..2500]);
            ring.put_u64(round as u64);
            let mut io = [IoSlice::new(&[]); 2];
            assert!(ring.chunks_vectored(&mut io) >= 1);
            ring.copy_to_slice(&mut out[..2500]);
            assert_eq!(ring.get_u64(), round as u64);
            let chunk = ring.chunk_mut();
            let len = chunk.len().min(100);
            chunk[..len].copy_from_slice(&payload[..len]);
            ring.commit(len);
            ring.advance(len);

            // One vectored syscall each way through a real socket.
            ring.push_slice(&payload[..1000]);
            ring.consume(500); // shifts the head so the halves wrap soon
            a.write_all(&payload[..3500]).unwrap();
            let mut got = 0;
            while got < 3500 {
                let n = b.read_vectored(&mut ring.writable_io_slices()).unwrap();
                ring.commit(n);
                got += n;
                let n = b.write_vectored(&ring.readable_io_slices()).unwrap();
                ring.consume(n);
            }
            let mut echoed = 0;
            while echoed < 3500 + 500 {
                echoed += a.read(&mut out).unwrap();
            }

            // std::io on the ring itself.
            ring.write_all(&payload[..64]).unwrap();
            ring.read_exact(&mut out[..64]).unwrap();
            ring.clear();
        }
        assert!(ring.is_empty());
    });
    assert_eq!(n, 0, "RingBuf<4096> allocated {n} times");
}
