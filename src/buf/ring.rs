//! The ring: one generic type, [`Ring<S>`](Ring), over its byte storage `S`. The two public
//! names are its instances: [`RingBuf<N>`](RingBuf) over `[u8; N]` and [`SliceRing<'a>`](SliceRing)
//! over `&'a mut [u8]`. Every method and trait impl below exists once, for both.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::ops::{Deref, DerefMut};

use bytes::buf::UninitSlice;
use bytes::{Buf, BufMut};

pub(crate) mod sealed {
    /// What a ring needs from its storage: bytes of a fixed length (the capacity), through
    /// `AsRef`/`AsMut`. Crate-private, so [`Storage`](super::Storage) is implemented only by
    /// the two storages below.
    pub trait Sealed: AsRef<[u8]> + AsMut<[u8]> {
        /// The name `Debug` prints: the public alias of `Ring<Self>`.
        const NAME: &'static str;
    }
}

/// The memory a [`Ring`] keeps its bytes in: `[u8; N]` inline ([`RingBuf<N>`](RingBuf)) or a
/// borrowed `&mut [u8]` ([`SliceRing<'a>`](SliceRing)).
///
/// Sealed: only those two types implement it. Both hand the ring initialised bytes of a fixed
/// length, which the ring's [`BufMut`] impl relies on.
pub trait Storage: sealed::Sealed {}

impl<const N: usize> sealed::Sealed for [u8; N] {
    const NAME: &'static str = "RingBuf";
}

impl<const N: usize> Storage for [u8; N] {}

impl sealed::Sealed for &mut [u8] {
    const NAME: &'static str = "SliceRing";
}

impl Storage for &mut [u8] {}

/// A fixed-capacity byte ring over storage `S`; use it as [`RingBuf<N>`](RingBuf) (inline
/// `[u8; N]`) or [`SliceRing<'a>`](SliceRing) (a borrowed `&'a mut [u8]`).
///
/// See the [module docs](crate::buf) for the layout and how its two halves map to one vectored
/// syscall. The ring never allocates and never zeroes its storage after construction.
///
/// Implements [`Buf`] over the readable bytes and [`BufMut`] over the free space. The `bytes`
/// methods that must move a fixed amount panic when it does not fit, as the `bytes` docs say:
/// [`Buf::advance`], [`Buf::copy_to_slice`], [`BufMut::advance_mut`], [`BufMut::put_slice`]
/// (and the `get_*`/`put_*` helpers). The inherent [`push_slice`](Self::push_slice) and
/// [`pop_slice`](Self::pop_slice) copy what fits instead.
///
/// # Implementation notes
///
/// Besides the storage the ring holds two numbers, `head` (index of the oldest readable byte)
/// and `len` (readable bytes), with `len <= capacity` and `head < capacity` (`head == 0` when
/// the capacity is 0). The readable bytes are `head .. head + len` modulo the capacity.
pub struct Ring<S: Storage> {
    storage: S,
    head: usize,
    len: usize,
}

/// A fixed-capacity byte ring that owns its `N` bytes inline: no heap, usable on the stack.
///
/// The storage is zeroed once by [`new`](RingBuf::new) and never again. All the
/// methods and trait impls are those of [`Ring`], shared with [`SliceRing`].
///
/// # Examples
///
/// ```
/// use bytes::{Buf, BufMut};
/// use ferrio::buf::RingBuf;
///
/// let mut ring = RingBuf::<8>::new();
/// ring.put_slice(b"abcdef");
/// assert_eq!(ring.get_u8(), b'a');
/// ring.advance(4); // "bcde"
/// ring.put_slice(b"ghij"); // wraps around the end of the storage
/// assert_eq!(ring.as_slices(), (&b"fgh"[..], &b"ij"[..]));
///
/// let mut out = [0u8; 5];
/// ring.copy_to_slice(&mut out);
/// assert_eq!(&out, b"fghij");
/// assert!(ring.is_empty());
/// ```
pub type RingBuf<const N: usize> = Ring<[u8; N]>;

/// A fixed-capacity byte ring over a caller-provided `&'a mut [u8]`.
///
/// The same ring as [`RingBuf`], for when the capacity is chosen at run time or the memory is
/// owned elsewhere (an arena, a `Box<[u8]>`, a stack array). The ring starts empty; whatever the
/// slice held is treated as free space and overwritten as data arrives. All the methods and
/// trait impls are those of [`Ring`], shared with [`RingBuf`].
///
/// # Examples
///
/// ```
/// use bytes::Buf;
/// use ferrio::buf::SliceRing;
///
/// let mut storage = vec![0u8; 4].into_boxed_slice();
/// let mut ring = SliceRing::new(&mut storage);
/// assert_eq!(ring.push_slice(b"abcdef"), 4); // copies what fits
/// assert!(ring.is_full());
/// assert_eq!(ring.get_u16(), u16::from_be_bytes(*b"ab"));
/// assert_eq!(ring.push_slice(b"ef"), 2);
/// assert_eq!(ring.as_slices(), (&b"cd"[..], &b"ef"[..]));
/// ```
pub type SliceRing<'a> = Ring<&'a mut [u8]>;

impl<const N: usize> Ring<[u8; N]> {
    /// Creates an empty [`RingBuf`] of capacity `N`, zeroing its storage once.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::buf::RingBuf;
    ///
    /// let ring = RingBuf::<64>::new();
    /// assert_eq!(ring.capacity(), 64);
    /// assert!(ring.is_empty());
    ///
    /// // `new` is a `const fn`:
    /// const EMPTY: RingBuf<16> = RingBuf::new();
    /// assert_eq!(EMPTY.free_len(), 16);
    /// ```
    #[inline]
    pub const fn new() -> Self {
        Ring {
            storage: [0; N],
            head: 0,
            len: 0,
        }
    }
}

impl<const N: usize> Default for Ring<[u8; N]> {
    /// Same as [`RingBuf::new`](RingBuf::new).
    #[inline]
    fn default() -> Self {
        Self::new()
    }
}

/// Copies the data and the positions; only [`RingBuf`] can be cloned (a [`SliceRing`]
/// borrows its storage uniquely).
impl<const N: usize> Clone for Ring<[u8; N]> {
    #[inline]
    fn clone(&self) -> Self {
        Ring {
            storage: self.storage,
            head: self.head,
            len: self.len,
        }
    }
}

impl<'a> Ring<&'a mut [u8]> {
    /// Creates an empty [`SliceRing`] whose capacity is `storage.len()`.
    ///
    /// Nothing is copied or zeroed: the ring writes into `storage` as data arrives.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::buf::SliceRing;
    ///
    /// let mut storage = [0xAAu8; 32];
    /// let ring = SliceRing::new(&mut storage);
    /// assert_eq!(ring.capacity(), 32);
    /// assert!(ring.is_empty(), "old contents are free space, not data");
    /// ```
    #[inline]
    pub fn new(storage: &'a mut [u8]) -> Self {
        Ring {
            storage,
            head: 0,
            len: 0,
        }
    }

    /// Gives the storage back, ending the ring. The readable bytes are somewhere in it; read
    /// them first if they matter.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::buf::SliceRing;
    ///
    /// let mut storage = [0u8; 4];
    /// let mut ring = SliceRing::new(&mut storage);
    /// ring.push_slice(b"ab");
    /// let storage = ring.into_inner();
    /// assert_eq!(&storage[..2], b"ab");
    /// ```
    #[inline]
    pub fn into_inner(self) -> &'a mut [u8] {
        self.storage
    }
}

impl<S: Storage> Ring<S> {
    /// Total number of bytes the ring can hold.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::buf::{RingBuf, SliceRing};
    ///
    /// assert_eq!(RingBuf::<8>::new().capacity(), 8);
    /// let mut storage = vec![0u8; 100];
    /// assert_eq!(SliceRing::new(&mut storage).capacity(), 100);
    /// ```
    #[inline]
    pub fn capacity(&self) -> usize {
        self.storage.as_ref().len()
    }

    /// Number of readable bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if there is nothing to read.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True if there is no free space (always true for capacity 0).
    #[inline]
    pub fn is_full(&self) -> bool {
        self.free_len() == 0
    }

    /// Number of bytes that can still be written: `capacity() - len()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::buf::RingBuf;
    ///
    /// let mut ring = RingBuf::<8>::new();
    /// ring.push_slice(b"abc");
    /// assert_eq!((ring.len(), ring.free_len()), (3, 5));
    /// assert!(!ring.is_empty() && !ring.is_full());
    /// ```
    #[inline]
    pub fn free_len(&self) -> usize {
        self.capacity() - self.len
    }

    /// Drops all readable bytes, making the whole capacity free and contiguous again.
    #[inline]
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// Reduces an index below `2 * capacity` to one below `capacity`, without a division.
    #[inline]
    fn wrap(&self, index: usize) -> usize {
        let capacity = self.capacity();
        if index >= capacity {
            index - capacity
        } else {
            index
        }
    }

    /// Index one past the last readable byte: where the next write goes.
    #[inline]
    fn tail(&self) -> usize {
        self.wrap(self.head + self.len)
    }

    #[inline]
    fn debug_check(&self) {
        debug_assert!(self.len <= self.capacity());
        debug_assert!(self.head < self.capacity() || self.head == 0);
    }

    /// The readable bytes, oldest first, as two halves: the second is non-empty only when the
    /// data wraps around the end of the storage.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::buf::RingBuf;
    ///
    /// let mut ring = RingBuf::<8>::new();
    /// ring.push_slice(b"abcdef");
    /// let mut skipped = [0u8; 5];
    /// ring.pop_slice(&mut skipped);
    /// ring.push_slice(b"xyz0");
    /// assert_eq!(ring.as_slices(), (&b"fxy"[..], &b"z0"[..]));
    /// ```
    #[inline]
    pub fn as_slices(&self) -> (&[u8], &[u8]) {
        self.debug_check();
        let len = self.len;
        let (wrapped, from_head) = self.storage.as_ref().split_at(self.head);
        let first = len.min(from_head.len());
        (&from_head[..first], &wrapped[..len - first])
    }

    /// The readable bytes as two mutable halves, oldest first, e.g. to decode or unmask them
    /// in place.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::buf::RingBuf;
    ///
    /// let mut ring = RingBuf::<4>::new();
    /// ring.push_slice(b"xyab");
    /// ring.consume(2);
    /// ring.push_slice(b"c"); // wraps: "ab" at the end of the storage, "c" at its start
    /// let (first, second) = ring.as_mut_slices();
    /// first.make_ascii_uppercase();
    /// second.make_ascii_uppercase();
    /// assert_eq!(ring.as_slices(), (&b"AB"[..], &b"C"[..]));
    /// ```
    #[inline]
    pub fn as_mut_slices(&mut self) -> (&mut [u8], &mut [u8]) {
        self.debug_check();
        let len = self.len;
        let (wrapped, from_head) = self.storage.as_mut().split_at_mut(self.head);
        let first = len.min(from_head.len());
        (&mut from_head[..first], &mut wrapped[..len - first])
    }

    /// The free space as two mutable halves, in write order: fill a prefix of the first half
    /// (then of the second), then [`commit`](Self::commit) the count.
    ///
    /// The bytes are initialised (stale data or zeroes) but their values mean nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::buf::SliceRing;
    ///
    /// let mut storage = [0u8; 8];
    /// let mut ring = SliceRing::new(&mut storage);
    /// let (first, _second) = ring.free_slices_mut();
    /// first[..3].copy_from_slice(b"abc");
    /// ring.commit(3);
    /// assert_eq!(ring.as_slices(), (&b"abc"[..], &b""[..]));
    /// ```
    #[inline]
    pub fn free_slices_mut(&mut self) -> (&mut [u8], &mut [u8]) {
        self.debug_check();
        let tail = self.tail();
        let free = self.free_len();
        let (before_tail, from_tail) = self.storage.as_mut().split_at_mut(tail);
        // Not wrapped: free is `tail..capacity` then `0..head`. Wrapped: just `tail..head`.
        let first = free.min(from_tail.len());
        (&mut from_tail[..first], &mut before_tail[..free - first])
    }

    /// The readable halves as `IoSlice`s for one vectored write (`writev`,
    /// [`Write::write_vectored`](std::io::Write::write_vectored)); then
    /// [`consume`](Self::consume) the count written.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// use ferrio::buf::RingBuf;
    ///
    /// let mut ring = RingBuf::<8>::new();
    /// ring.push_slice(b"hello");
    /// let mut sink = Vec::new();
    /// let n = sink.write_vectored(&ring.readable_io_slices())?;
    /// ring.consume(n);
    /// assert_eq!(sink, b"hello");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[inline]
    pub fn readable_io_slices(&self) -> RingIoSlices<'_> {
        let (first, second) = self.as_slices();
        // The first half is empty only when the ring is, so the used slices are a prefix.
        let count = usize::from(!first.is_empty()) + usize::from(!second.is_empty());
        RingIoSlices {
            slices: [IoSlice::new(first), IoSlice::new(second)],
            count,
        }
    }

    /// The free halves as `IoSliceMut`s for one vectored read (`readv`,
    /// [`Read::read_vectored`](std::io::Read::read_vectored)); then [`commit`](Self::commit)
    /// the count read.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    /// use ferrio::buf::RingBuf;
    ///
    /// let mut ring = RingBuf::<8>::new();
    /// let mut source: &[u8] = b"hello";
    /// let n = source.read_vectored(&mut ring.writable_io_slices())?;
    /// ring.commit(n);
    /// assert_eq!(ring.as_slices().0, b"hello");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[inline]
    pub fn writable_io_slices(&mut self) -> RingIoSlicesMut<'_> {
        let (first, second) = self.free_slices_mut();
        let count = usize::from(!first.is_empty()) + usize::from(!second.is_empty());
        RingIoSlicesMut {
            slices: [IoSliceMut::new(first), IoSliceMut::new(second)],
            count,
        }
    }

    /// Reads from `src` into the free space with **one** vectored read covering both halves,
    /// and commits what was read: `Ok(Some(n))`, `Ok(Some(0))` at end of stream or when the
    /// ring is full (check [`is_full`](Self::is_full)), `Ok(None)` if the read would block.
    /// Retries on `Interrupted`.
    ///
    /// # Errors
    ///
    /// Any other error of the read.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::buf::RingBuf;
    ///
    /// let mut ring = RingBuf::<8>::new();
    /// let mut source: &[u8] = b"hello";
    /// assert_eq!(ring.read_from(&mut source)?, Some(5));
    /// assert_eq!(ring.as_slices().0, b"hello");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_from<R: io::Read + ?Sized>(&mut self, src: &mut R) -> io::Result<Option<usize>> {
        if self.is_full() {
            return Ok(Some(0));
        }
        let res = crate::try_io::would_block(|| src.read_vectored(&mut self.writable_io_slices()));
        if let Ok(Some(n)) = res {
            self.commit(n);
        }
        res
    }

    /// Writes the readable data to `dst` with **one** vectored write covering both halves, and
    /// consumes what was written: `Ok(Some(n))` (`Some(0)` if the ring is empty), or
    /// `Ok(None)` if the write would block. Retries on `Interrupted`.
    ///
    /// # Errors
    ///
    /// Any other error of the write.
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::buf::SliceRing;
    ///
    /// let mut storage = [0u8; 8];
    /// let mut ring = SliceRing::new(&mut storage);
    /// ring.push_slice(b"hello");
    /// let mut sink = Vec::new();
    /// assert_eq!(ring.write_to(&mut sink)?, Some(5));
    /// assert!(ring.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_to<W: io::Write + ?Sized>(&mut self, dst: &mut W) -> io::Result<Option<usize>> {
        if self.is_empty() {
            return Ok(Some(0));
        }
        let res = crate::try_io::would_block(|| dst.write_vectored(&self.readable_io_slices()));
        if let Ok(Some(n)) = res {
            self.consume(n);
        }
        res
    }

    /// Drops the `count` oldest readable bytes (they were written out).
    ///
    /// # Panics
    ///
    /// If `count > self.len()`.
    #[inline]
    #[track_caller]
    pub fn consume(&mut self, count: usize) {
        if count > self.len {
            panic_consume(count, self.len);
        }
        self.len -= count;
        // An empty ring restarts at index 0 so its whole capacity is one contiguous region.
        self.head = if self.len == 0 {
            0
        } else {
            self.wrap(self.head + count)
        };
    }

    /// Publishes the first `count` bytes of the free space as readable (they were read in
    /// through [`free_slices_mut`](Self::free_slices_mut) or
    /// [`writable_io_slices`](Self::writable_io_slices)).
    ///
    /// # Panics
    ///
    /// If `count > self.free_len()`.
    #[inline]
    #[track_caller]
    pub fn commit(&mut self, count: usize) {
        let free = self.free_len();
        if count > free {
            panic_commit(count, free);
        }
        self.len += count;
    }

    /// Copies as much of `src` as fits into the free space and returns how many bytes that was
    /// (0 if the ring is full).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::buf::RingBuf;
    ///
    /// let mut ring = RingBuf::<8>::new();
    /// assert_eq!(ring.push_slice(b"0123456789"), 8);
    /// assert_eq!(ring.push_slice(b"more"), 0);
    /// ```
    #[inline]
    pub fn push_slice(&mut self, src: &[u8]) -> usize {
        let (first, second) = self.free_slices_mut();
        let count = src.len().min(first.len() + second.len());
        let split = count.min(first.len());
        first[..split].copy_from_slice(&src[..split]);
        second[..count - split].copy_from_slice(&src[split..count]);
        self.len += count;
        count
    }

    /// Moves as many readable bytes as fit into `dst` and returns how many that was (0 if the
    /// ring is empty).
    ///
    /// # Examples
    ///
    /// ```
    /// use ferrio::buf::RingBuf;
    ///
    /// let mut ring = RingBuf::<8>::new();
    /// ring.push_slice(b"abc");
    /// let mut dst = [0u8; 2];
    /// assert_eq!(ring.pop_slice(&mut dst), 2);
    /// assert_eq!(&dst, b"ab");
    /// assert_eq!(ring.pop_slice(&mut dst), 1);
    /// assert_eq!(ring.pop_slice(&mut dst), 0);
    /// ```
    #[inline]
    pub fn pop_slice(&mut self, dst: &mut [u8]) -> usize {
        let (first, second) = self.as_slices();
        let count = dst.len().min(first.len() + second.len());
        let split = count.min(first.len());
        dst[..split].copy_from_slice(&first[..split]);
        dst[split..count].copy_from_slice(&second[..count - split]);
        self.consume(count);
        count
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn panic_consume(count: usize, len: usize) -> ! {
    panic!("cannot consume {count} bytes from a ring holding only {len} readable bytes");
}

#[cold]
#[inline(never)]
#[track_caller]
fn panic_commit(count: usize, free: usize) -> ! {
    panic!("cannot commit {count} bytes to a ring with only {free} bytes of free space");
}

impl<S: Storage> Buf for Ring<S> {
    #[inline]
    fn remaining(&self) -> usize {
        self.len
    }

    /// The first readable half.
    #[inline]
    fn chunk(&self) -> &[u8] {
        self.as_slices().0
    }

    /// Both readable halves (at most 2 `IoSlice`s, fewer if `dst` is shorter).
    #[inline]
    fn chunks_vectored<'b>(&'b self, dst: &mut [IoSlice<'b>]) -> usize {
        let io = self.readable_io_slices();
        let count = io.count.min(dst.len());
        dst[..count].copy_from_slice(&io.slices[..count]);
        count
    }

    /// Same as [`consume`](Self::consume).
    ///
    /// # Panics
    ///
    /// If `cnt > self.remaining()`.
    #[inline]
    #[track_caller]
    fn advance(&mut self, cnt: usize) {
        self.consume(cnt);
    }
}

// SAFETY: `BufMut` callers trust `chunk_mut` to be valid writable memory of at most
// `remaining_mut()` bytes and `advance_mut(n)` to expose only bytes they initialised.
// `chunk_mut` is a real `&mut [u8]` inside the storage, the first free half, so it is valid and
// no longer than the free space; `advance_mut` panics past the free space. Both `Storage` types
// (sealed: `[u8; N]`, `&mut [u8]`) are initialised `u8`s of a fixed length from construction on,
// so exposing bytes the caller did not write reveals stale data at worst, never uninitialised
// memory.
unsafe impl<S: Storage> BufMut for Ring<S> {
    #[inline]
    fn remaining_mut(&self) -> usize {
        self.free_len()
    }

    /// Same as [`commit`](Self::commit).
    ///
    /// # Panics
    ///
    /// If `cnt > self.remaining_mut()`.
    #[inline]
    #[track_caller]
    unsafe fn advance_mut(&mut self, cnt: usize) {
        self.commit(cnt);
    }

    /// The first free half: empty exactly when the ring is full.
    #[inline]
    fn chunk_mut(&mut self) -> &mut UninitSlice {
        UninitSlice::new(self.free_slices_mut().0)
    }
}

/// Reads by [`pop_slice`](Self::pop_slice): never fails, and returns `Ok(0)` when the ring is
/// empty.
impl<S: Storage> io::Read for Ring<S> {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.pop_slice(buf))
    }
}

/// Writes by [`push_slice`](Self::push_slice): never fails, and returns `Ok(0)` when the ring
/// is full (so `write_all` reports `WriteZero`).
impl<S: Storage> io::Write for Ring<S> {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(self.push_slice(buf))
    }

    #[inline]
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Shows the alias name (`RingBuf` or `SliceRing`), the capacity and positions, not the
/// contents.
impl<S: Storage> fmt::Debug for Ring<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(S::NAME)
            .field("capacity", &self.capacity())
            .field("len", &self.len)
            .field("head", &self.head)
            .finish()
    }
}

/// The readable halves of a ring as `IoSlice`s, ready for one vectored write.
///
/// Dereferences to a slice of 0, 1 or 2 non-empty `IoSlice`s (0 when the ring is empty), so it
/// can be passed straight to [`Write::write_vectored`](std::io::Write::write_vectored).
/// Returned by [`Ring::readable_io_slices`].
#[derive(Debug)]
pub struct RingIoSlices<'a> {
    slices: [IoSlice<'a>; 2],
    count: usize,
}

impl<'a> Deref for RingIoSlices<'a> {
    type Target = [IoSlice<'a>];

    #[inline]
    fn deref(&self) -> &[IoSlice<'a>] {
        &self.slices[..self.count]
    }
}

/// The free halves of a ring as `IoSliceMut`s, ready for one vectored read.
///
/// Dereferences to a mutable slice of 0, 1 or 2 non-empty `IoSliceMut`s (0 when the ring is
/// full), so `&mut` of it can be passed straight to
/// [`Read::read_vectored`](std::io::Read::read_vectored). After the read, publish the bytes with
/// [`commit`](Ring::commit). Returned by [`Ring::writable_io_slices`].
#[derive(Debug)]
pub struct RingIoSlicesMut<'a> {
    slices: [IoSliceMut<'a>; 2],
    count: usize,
}

impl<'a> Deref for RingIoSlicesMut<'a> {
    type Target = [IoSliceMut<'a>];

    #[inline]
    fn deref(&self) -> &[IoSliceMut<'a>] {
        &self.slices[..self.count]
    }
}

impl<'a> DerefMut for RingIoSlicesMut<'a> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [IoSliceMut<'a>] {
        &mut self.slices[..self.count]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A ring whose readable bytes are `data` starting at storage index `head`.
    fn wrapped_ring<const N: usize>(head: usize, data: &[u8]) -> RingBuf<N> {
        let mut ring = RingBuf::<N>::new();
        assert_eq!(ring.push_slice(&vec![0xEE; head]), head);
        // Keep one byte of `data` in the ring so consuming the filler does not reset the head.
        assert_eq!(ring.push_slice(&data[..1]), 1);
        ring.consume(head);
        assert_eq!(ring.push_slice(&data[1..]), data.len() - 1);
        assert_eq!(ring.head, head);
        ring
    }

    fn contents(ring: &impl Buf) -> Vec<u8> {
        let mut slices = [IoSlice::new(&[]); 4];
        let n = ring.chunks_vectored(&mut slices);
        slices[..n].iter().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn type_promises() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<RingBuf<16>>();
        send_sync::<SliceRing<'static>>();
        send_sync::<RingIoSlices<'static>>();
        send_sync::<RingIoSlicesMut<'static>>();
        // Inline storage plus two indices, nothing else (no pointer to a heap block).
        let word = std::mem::size_of::<usize>();
        assert_eq!(std::mem::size_of::<RingBuf<4096>>(), 4096 + 2 * word);
        assert_eq!(std::mem::size_of::<RingBuf<0>>(), 2 * word);
        assert_eq!(std::mem::size_of::<SliceRing<'_>>(), 4 * word);
    }

    #[test]
    fn new_ring_is_empty_with_all_space_free() {
        let ring = RingBuf::<8>::new();
        assert_eq!(ring.capacity(), 8);
        assert_eq!(ring.len(), 0);
        assert!(ring.is_empty());
        assert!(!ring.is_full());
        assert_eq!(ring.free_len(), 8);
        assert_eq!(ring.remaining(), 0);
        assert_eq!(ring.remaining_mut(), 8);
        assert_eq!(ring.as_slices(), (&[][..], &[][..]));
        assert_eq!(ring.readable_io_slices().len(), 0);
    }

    #[test]
    fn default_equals_new() {
        let ring: RingBuf<5> = RingBuf::default();
        assert_eq!(ring.capacity(), 5);
        assert!(ring.is_empty());
    }

    #[test]
    fn fill_to_full_then_drain_to_empty() {
        let mut ring = RingBuf::<4>::new();
        assert_eq!(ring.push_slice(b"abcdef"), 4);
        assert!(ring.is_full());
        assert_eq!(ring.free_len(), 0);
        assert_eq!(ring.push_slice(b"x"), 0);
        assert_eq!(ring.writable_io_slices().len(), 0);
        assert_eq!(ring.chunk_mut().len(), 0);
        let mut out = [0u8; 8];
        assert_eq!(ring.pop_slice(&mut out), 4);
        assert_eq!(&out[..4], b"abcd");
        assert!(ring.is_empty());
        assert_eq!(ring.pop_slice(&mut out), 0);
    }

    #[test]
    fn data_wraps_around_the_end() {
        let mut ring = RingBuf::<8>::new();
        ring.push_slice(b"abcdef");
        ring.consume(5); // head = 5, "f"
        assert_eq!(ring.push_slice(b"ghijk"), 5); // "fgh" + "ijk"
        assert_eq!(ring.as_slices(), (&b"fgh"[..], &b"ijk"[..]));
        assert_eq!(ring.len(), 6);
        assert_eq!(ring.free_len(), 2);
        // The free space is now the single gap between the halves.
        let (free_a, free_b) = ring.free_slices_mut();
        assert_eq!((free_a.len(), free_b.len()), (2, 0));
        assert_eq!(ring.chunk(), b"fgh");
        ring.advance(3);
        assert_eq!(ring.as_slices(), (&b"ijk"[..], &b""[..]));
    }

    #[test]
    fn free_space_wraps_when_data_does_not() {
        let mut ring = RingBuf::<8>::new();
        ring.push_slice(b"abcdef");
        ring.consume(3); // data "def" at 3..6, free 6..8 then 0..3
        let (a, b) = ring.free_slices_mut();
        assert_eq!((a.len(), b.len()), (2, 3));
        let io = ring.writable_io_slices();
        assert_eq!(io.len(), 2);
        assert_eq!((io[0].len(), io[1].len()), (2, 3));
    }

    #[test]
    fn consuming_everything_resets_to_contiguous() {
        let mut ring = RingBuf::<8>::new();
        ring.push_slice(b"abcde");
        ring.consume(5);
        assert_eq!(ring.free_slices_mut().0.len(), 8);
        assert_eq!(ring.chunk_mut().len(), 8);
        ring.push_slice(b"xy");
        ring.clear();
        assert!(ring.is_empty());
        assert_eq!(ring.free_slices_mut().0.len(), 8);
    }

    #[test]
    fn chunks_vectored_gives_both_halves_when_wrapped() {
        let mut ring = wrapped_ring::<8>(6, b"abcde");
        assert_eq!(ring.as_slices(), (&b"ab"[..], &b"cde"[..]));
        let mut dst = [IoSlice::new(&[]); 3];
        assert_eq!(ring.chunks_vectored(&mut dst), 2);
        assert_eq!(&*dst[0], b"ab");
        assert_eq!(&*dst[1], b"cde");
        // A shorter destination gets only the first half.
        let mut one = [IoSlice::new(&[])];
        assert_eq!(ring.chunks_vectored(&mut one), 1);
        assert_eq!(&*one[0], b"ab");
        assert_eq!(ring.chunks_vectored(&mut []), 0);
        let io = ring.readable_io_slices();
        assert_eq!(io.len(), 2);
        assert_eq!((&*io[0], &*io[1]), (&b"ab"[..], &b"cde"[..]));
        ring.consume(2);
        let mut again = [IoSlice::new(&[]); 2];
        assert_eq!(ring.chunks_vectored(&mut again), 1);
        assert_eq!(&*again[0], b"cde");
    }

    #[test]
    fn copy_to_slice_reads_across_the_wrap() {
        let mut ring = wrapped_ring::<8>(5, b"0123456");
        assert_eq!(ring.as_slices(), (&b"012"[..], &b"3456"[..]));
        let mut out = [0u8; 6];
        ring.copy_to_slice(&mut out);
        assert_eq!(&out, b"012345");
        assert_eq!(ring.as_slices(), (&b"6"[..], &b""[..]));
    }

    #[test]
    fn put_slice_writes_across_the_wrap() {
        let mut ring = RingBuf::<8>::new();
        ring.put_slice(b"abcdef");
        ring.advance(4);
        ring.put_slice(b"ghijkl"); // 2 at the end, 4 at the start
        assert!(ring.is_full());
        assert_eq!(ring.as_slices(), (&b"efgh"[..], &b"ijkl"[..]));
        assert_eq!(contents(&ring), b"efghijkl");
    }

    #[test]
    fn bufmut_chunk_and_advance_mut() {
        let mut ring = RingBuf::<4>::new();
        ring.chunk_mut()[..3].copy_from_slice(b"abc");
        // SAFETY: the 3 bytes were just written (and the ring's storage is initialised anyway).
        unsafe { ring.advance_mut(3) };
        assert_eq!(ring.as_slices().0, b"abc");
        ring.advance(2);
        // Free space: 3..4 then 0..2; chunk_mut is the first half only.
        assert_eq!(ring.chunk_mut().len(), 1);
        assert_eq!(ring.remaining_mut(), 3);
        ring.put_u8(b'd');
        ring.put_u8(b'e');
        assert_eq!(contents(&ring), b"cde");
    }

    #[test]
    fn get_and_put_integers_across_the_wrap() {
        let mut ring = RingBuf::<6>::new();
        ring.put_u32(0);
        ring.put_u8(7);
        ring.advance(4);
        ring.put_u32(0xDEAD_BEEF);
        assert_eq!(ring.as_slices(), (&[7, 0xDE][..], &[0xAD, 0xBE, 0xEF][..]));
        assert_eq!(ring.get_u8(), 7);
        assert_eq!(ring.chunk(), &[0xDE]);
        assert_eq!(ring.get_u32(), 0xDEAD_BEEF);
        assert!(ring.is_empty());
    }

    #[test]
    fn capacity_zero_never_panics() {
        let mut ring = RingBuf::<0>::new();
        assert_eq!(ring.capacity(), 0);
        assert!(ring.is_empty());
        assert!(ring.is_full());
        assert_eq!(ring.push_slice(b"abc"), 0);
        assert_eq!(ring.pop_slice(&mut [0u8; 3]), 0);
        assert_eq!(ring.as_slices(), (&[][..], &[][..]));
        assert_eq!(ring.as_mut_slices().0.len(), 0);
        let (a, b) = ring.free_slices_mut();
        assert_eq!((a.len(), b.len()), (0, 0));
        assert_eq!(ring.readable_io_slices().len(), 0);
        assert_eq!(ring.writable_io_slices().len(), 0);
        assert_eq!(ring.chunk(), b"");
        assert_eq!(ring.chunk_mut().len(), 0);
        assert_eq!(ring.chunks_vectored(&mut [IoSlice::new(&[])]), 0);
        ring.consume(0);
        ring.commit(0);
        ring.advance(0);
        // SAFETY: zero bytes.
        unsafe { ring.advance_mut(0) };
        ring.clear();
        assert_eq!(ring.write(b"x").unwrap(), 0);
        assert_eq!(ring.read(&mut [0u8; 1]).unwrap(), 0);

        let mut nothing: [u8; 0] = [];
        let mut slice_ring = SliceRing::new(&mut nothing);
        assert_eq!(slice_ring.capacity(), 0);
        assert!(slice_ring.is_full() && slice_ring.is_empty());
        assert_eq!(slice_ring.push_slice(b"abc"), 0);
        assert_eq!(slice_ring.chunk_mut().len(), 0);
    }

    #[test]
    fn capacity_one() {
        let mut ring = RingBuf::<1>::new();
        for byte in 0..5u8 {
            assert_eq!(ring.push_slice(&[byte, 99]), 1);
            assert!(ring.is_full());
            assert_eq!(ring.as_slices(), (&[byte][..], &[][..]));
            assert_eq!(ring.get_u8(), byte);
            assert!(ring.is_empty());
        }
        ring.put_u8(7);
        assert_eq!(ring.remaining_mut(), 0);
        assert_eq!(ring.chunks_vectored(&mut [IoSlice::new(&[]); 2]), 1);
    }

    #[test]
    fn slice_ring_behaves_like_ring_buf() {
        let mut storage = [0xAAu8; 8];
        let mut ring = SliceRing::new(&mut storage);
        assert!(ring.is_empty(), "old slice contents are not data");
        ring.push_slice(b"abcdef");
        ring.consume(5);
        ring.push_slice(b"ghijk");
        assert_eq!(ring.as_slices(), (&b"fgh"[..], &b"ijk"[..]));
        let mut out = [0u8; 6];
        ring.copy_to_slice(&mut out);
        assert_eq!(&out, b"fghijk");
        let storage = ring.into_inner();
        assert_eq!(storage.len(), 8);
    }

    #[test]
    fn as_mut_slices_edits_data_in_place() {
        let mut ring = wrapped_ring::<4>(3, b"abc");
        let (a, b) = ring.as_mut_slices();
        assert_eq!((a.len(), b.len()), (1, 2));
        a.make_ascii_uppercase();
        b.make_ascii_uppercase();
        assert_eq!(contents(&ring), b"ABC");
    }

    #[test]
    fn io_read_and_write() {
        let mut ring = RingBuf::<4>::new();
        assert_eq!(ring.write(b"abcdef").unwrap(), 4);
        let err = ring.write_all(b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
        ring.flush().unwrap();
        let mut out = Vec::new();
        ring.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abcd");
    }

    #[test]
    fn vectored_io_through_both_halves() {
        let mut ring = RingBuf::<8>::new();
        ring.push_slice(b"abcdef");
        ring.consume(4); // data "ef" at 4..6, free 6..8 + 0..4
        let mut source: &[u8] = b"123456";
        let n = source
            .read_vectored(&mut ring.writable_io_slices())
            .unwrap();
        // `&[u8]`'s read_vectored fills every slice in turn.
        assert_eq!(n, 6);
        ring.commit(n);
        assert!(ring.is_full());
        assert_eq!(ring.as_slices(), (&b"ef12"[..], &b"3456"[..]));
        let mut sink = Vec::new();
        let n = sink.write_vectored(&ring.readable_io_slices()).unwrap();
        assert_eq!(n, 8);
        ring.consume(n);
        assert_eq!(sink, b"ef123456");
    }

    #[test]
    fn debug_shows_positions_not_contents() {
        let mut ring = RingBuf::<4>::new();
        ring.push_slice(b"ab");
        assert_eq!(
            format!("{ring:?}"),
            "RingBuf { capacity: 4, len: 2, head: 0 }"
        );
        let mut storage = [0u8; 3];
        let ring = SliceRing::new(&mut storage);
        assert_eq!(
            format!("{ring:?}"),
            "SliceRing { capacity: 3, len: 0, head: 0 }"
        );
    }

    #[test]
    fn clone_copies_data_and_positions() {
        let ring = wrapped_ring::<4>(2, b"xyz");
        let copy = ring.clone();
        assert_eq!(contents(&copy), b"xyz");
        assert_eq!(copy.as_slices(), ring.as_slices());
    }

    #[test]
    #[should_panic(expected = "cannot consume 3 bytes from a ring holding only 2 readable bytes")]
    fn consume_past_len_panics() {
        let mut ring = RingBuf::<4>::new();
        ring.push_slice(b"ab");
        ring.consume(3);
    }

    #[test]
    #[should_panic(expected = "cannot consume 1 bytes")]
    fn advance_past_remaining_panics() {
        let mut ring = RingBuf::<0>::new();
        ring.advance(1);
    }

    #[test]
    #[should_panic(expected = "cannot commit 3 bytes to a ring with only 2 bytes of free space")]
    fn commit_past_free_space_panics() {
        let mut ring = RingBuf::<4>::new();
        ring.push_slice(b"ab");
        ring.commit(3);
    }

    #[test]
    #[should_panic(expected = "cannot commit 1 bytes")]
    fn advance_mut_past_remaining_mut_panics() {
        let mut storage = [0u8; 2];
        let mut ring = SliceRing::new(&mut storage);
        ring.push_slice(b"ab");
        // SAFETY: this panics before exposing anything; the storage is initialised regardless.
        unsafe { ring.advance_mut(1) };
    }

    #[test]
    #[should_panic]
    fn copy_to_slice_past_remaining_panics() {
        let mut ring = RingBuf::<4>::new();
        ring.push_slice(b"ab");
        ring.copy_to_slice(&mut [0u8; 3]);
    }

    #[test]
    #[should_panic]
    fn put_slice_past_free_space_panics() {
        let mut ring = RingBuf::<4>::new();
        ring.put_slice(b"abcde");
    }
}
