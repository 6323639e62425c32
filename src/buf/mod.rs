//! Fixed-capacity byte buffers for the IO path.
//!
//! # The data structure
//!
//! A ring buffer keeps its bytes in one fixed array of `capacity` bytes and two numbers: `head`,
//! the index of the oldest readable byte, and `len`, how many bytes are readable. Readable bytes
//! occupy `head .. head + len` *modulo the capacity*; the free space is everything else. Writing
//! appends after the last readable byte, reading removes from `head`, and neither ever moves a
//! byte that is already stored: a socket's data is copied exactly once into the ring and once out.
//!
//! Because the indices wrap, both the readable data and the free space are at most **two**
//! contiguous slices ("halves") of the array:
//!
//! ```text
//!  not wrapped:  [ free B | data .............. | free A ]    data = 1 slice, free = A then B
//!  wrapped:      [ data B ...... | free ...... | data A .. ]   data = A then B, free = 1 slice
//! ```
//!
//! # One vectored syscall for both halves
//!
//! The halves map directly onto `iovec` arrays: [`RingBuf::readable_io_slices`] gives the data
//! halves as `IoSlice`s for one `writev`/`sendmsg` (`Write::write_vectored`), and
//! [`RingBuf::writable_io_slices`] gives the free halves as `IoSliceMut`s for one
//! `readv`/`recvmsg` (`Read::read_vectored`). Afterwards, [`RingBuf::consume`] drops the bytes
//! the kernel took and [`RingBuf::commit`] publishes the bytes it wrote. A buffer that wraps
//! therefore still costs a single syscall, never two. The same halves are also reachable through
//! the `bytes` traits: [`Buf::chunks_vectored`](bytes::Buf::chunks_vectored) yields up to two
//! slices, and [`BufMut::chunk_mut`](bytes::BufMut::chunk_mut) is the first free half.
//!
//! When a ring becomes empty its `head` goes back to index 0, so a drained buffer offers its
//! whole capacity as one contiguous region again.
//!
//! # Which buffer to use
//!
//! - [`RingBuf<N>`](RingBuf) owns a `[u8; N]` inline: no heap at all, the capacity is a
//!   compile-time constant, and it lives wherever you put it (on the stack, inside a
//!   per-connection struct, in a `Slab`). Use it when the capacity is known at compile time.
//! - [`SliceRing<'a>`](SliceRing) runs the same ring over a `&'a mut [u8]` you provide: a
//!   region of a larger preallocated arena, a `Box<[u8]>` sized from configuration, or a
//!   stack array shared between phases. Use it when the capacity is only known at run time or
//!   the memory is owned elsewhere.
//!
//! Both are the one generic type [`Ring<S>`](Ring) over a different [`Storage`] (`[u8; N]` and
//! `&'a mut [u8]`), so every method and trait impl exists once and behaves identically for both:
//! [`bytes::Buf`] (reading the data), [`bytes::BufMut`] (writing into the free space),
//! [`std::io::Read`] and [`std::io::Write`]. A capacity of 0 is allowed; such a ring is always
//! empty and always full.
//!
//! The storage is initialised once, at construction; reading into the free space never zeroes
//! it again.
//!
//! # Examples
//!
//! Relaying bytes from one stream to another through a stack buffer, one vectored call each way:
//!
//! ```
//! use std::io::{Read, Write};
//! use std::os::unix::net::UnixStream;
//! use ferrio::buf::RingBuf;
//!
//! let (mut a, mut b) = UnixStream::pair()?;
//! a.write_all(b"hello ring")?;
//!
//! let mut ring = RingBuf::<16>::new();
//! let n = b.read_vectored(&mut ring.writable_io_slices())?;
//! ring.commit(n);
//! assert_eq!(ring.len(), 10);
//!
//! let n = b.write_vectored(&ring.readable_io_slices())?;
//! ring.consume(n);
//! assert!(ring.is_empty());
//!
//! let mut echoed = [0u8; 10];
//! a.read_exact(&mut echoed)?;
//! assert_eq!(&echoed, b"hello ring");
//! # Ok::<(), std::io::Error>(())
//! ```

// `bytes::BufMut` is an `unsafe trait`; the ring's impl of it is the only unsafe here.
#[allow(unsafe_code)]
mod ring;

pub use ring::{Ring, RingBuf, RingIoSlices, RingIoSlicesMut, SliceRing, Storage};
