//! Property tests: random operation sequences on `RingBuf` and `SliceRing`, checked after every
//! step against a `VecDeque<u8>` model of the readable bytes.

use std::collections::VecDeque;
use std::io::{IoSlice, Read, Write};

use bytes::{Buf, BufMut};
use ferrio::buf::{RingBuf, RingIoSlices, RingIoSlicesMut, SliceRing};
use proptest::prelude::*;

/// The inherent API both ring types share, so one harness drives both.
trait Ring: Buf + BufMut + Read + Write {
    fn capacity(&self) -> usize;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool;
    fn is_full(&self) -> bool;
    fn free_len(&self) -> usize;
    fn clear(&mut self);
    fn as_slices(&self) -> (&[u8], &[u8]);
    fn as_mut_slices(&mut self) -> (&mut [u8], &mut [u8]);
    fn free_slices_mut(&mut self) -> (&mut [u8], &mut [u8]);
    fn readable_io_slices(&self) -> RingIoSlices<'_>;
    fn writable_io_slices(&mut self) -> RingIoSlicesMut<'_>;
    fn consume(&mut self, count: usize);
    fn commit(&mut self, count: usize);
    fn push_slice(&mut self, src: &[u8]) -> usize;
    fn pop_slice(&mut self, dst: &mut [u8]) -> usize;
}

macro_rules! impl_ring {
    ([$($generics:tt)*] $ty:ty) => {
        impl<$($generics)*> Ring for $ty {
            fn capacity(&self) -> usize { <$ty>::capacity(self) }
            fn len(&self) -> usize { <$ty>::len(self) }
            fn is_empty(&self) -> bool { <$ty>::is_empty(self) }
            fn is_full(&self) -> bool { <$ty>::is_full(self) }
            fn free_len(&self) -> usize { <$ty>::free_len(self) }
            fn clear(&mut self) { <$ty>::clear(self) }
            fn as_slices(&self) -> (&[u8], &[u8]) { <$ty>::as_slices(self) }
            fn as_mut_slices(&mut self) -> (&mut [u8], &mut [u8]) { <$ty>::as_mut_slices(self) }
            fn free_slices_mut(&mut self) -> (&mut [u8], &mut [u8]) { <$ty>::free_slices_mut(self) }
            fn readable_io_slices(&self) -> RingIoSlices<'_> { <$ty>::readable_io_slices(self) }
            fn writable_io_slices(&mut self) -> RingIoSlicesMut<'_> { <$ty>::writable_io_slices(self) }
            fn consume(&mut self, count: usize) { <$ty>::consume(self, count) }
            fn commit(&mut self, count: usize) { <$ty>::commit(self, count) }
            fn push_slice(&mut self, src: &[u8]) -> usize { <$ty>::push_slice(self, src) }
            fn pop_slice(&mut self, dst: &mut [u8]) -> usize { <$ty>::pop_slice(self, dst) }
        }
    };
}

impl_ring!([const N: usize] RingBuf<N>);
impl_ring!(['a] SliceRing<'a>);

#[derive(Debug, Clone)]
enum Op {
    /// `push_slice`: copies what fits.
    Push(Vec<u8>),
    /// `pop_slice` into a buffer of this size.
    Pop(usize),
    /// `Buf::advance` by this amount modulo `len + 1` (never past the end).
    Advance(usize),
    /// `consume` by this amount modulo `len + 1`.
    Consume(usize),
    /// Fill this many free bytes (modulo `free + 1`) through `free_slices_mut`, then
    /// `BufMut::advance_mut`.
    AdvanceMut(usize, u8),
    /// Write into `BufMut::chunk_mut` (at most its length), then `commit`.
    ChunkMut(usize, u8),
    /// `BufMut::put_slice`, only if it fits.
    PutSlice(Vec<u8>),
    /// `Buf::copy_to_slice`, only if that many bytes are readable.
    CopyToSlice(usize),
    /// `Read::read_vectored` from a byte slice into `writable_io_slices`, then `commit`.
    ReadVectored(Vec<u8>),
    /// `Write::write_vectored` of `readable_io_slices` into a `Vec`, then `consume`.
    WriteVectored,
    /// `Buf::get_u16`, only if 2 bytes are readable.
    GetU16,
    /// `Write::write` of these bytes.
    IoWrite(Vec<u8>),
    /// `Read::read` into a buffer of this size.
    IoRead(usize),
    /// Flip the bits of the readable bytes through `as_mut_slices`.
    InvertInPlace,
    Clear,
}

fn op_strategy(max_len: usize) -> impl Strategy<Value = Op> {
    let bytes = move || proptest::collection::vec(any::<u8>(), 0..=max_len);
    let count = move || 0..=max_len;
    prop_oneof![
        4 => bytes().prop_map(Op::Push),
        3 => count().prop_map(Op::Pop),
        2 => count().prop_map(Op::Advance),
        2 => count().prop_map(Op::Consume),
        2 => (count(), any::<u8>()).prop_map(|(n, b)| Op::AdvanceMut(n, b)),
        2 => (count(), any::<u8>()).prop_map(|(n, b)| Op::ChunkMut(n, b)),
        2 => bytes().prop_map(Op::PutSlice),
        2 => count().prop_map(Op::CopyToSlice),
        2 => bytes().prop_map(Op::ReadVectored),
        1 => Just(Op::WriteVectored),
        1 => Just(Op::GetU16),
        1 => bytes().prop_map(Op::IoWrite),
        1 => count().prop_map(Op::IoRead),
        1 => Just(Op::InvertInPlace),
        1 => Just(Op::Clear),
    ]
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| seed.wrapping_add(i as u8)).collect()
}

fn apply(ring: &mut impl Ring, model: &mut VecDeque<u8>, op: &Op) {
    let cap = ring.capacity();
    match op {
        Op::Push(data) => {
            let expect = data.len().min(cap - model.len());
            assert_eq!(ring.push_slice(data), expect);
            model.extend(&data[..expect]);
        }
        Op::Pop(size) => {
            let mut dst = vec![0u8; *size];
            let n = ring.pop_slice(&mut dst);
            assert_eq!(n, (*size).min(model.len()));
            let expect: Vec<u8> = model.drain(..n).collect();
            assert_eq!(&dst[..n], &expect[..]);
        }
        Op::Advance(n) => {
            let n = n % (model.len() + 1);
            ring.advance(n);
            model.drain(..n);
        }
        Op::Consume(n) => {
            let n = n % (model.len() + 1);
            ring.consume(n);
            model.drain(..n);
        }
        Op::AdvanceMut(n, seed) => {
            let n = n % (cap - model.len() + 1);
            let data = pattern(n, *seed);
            let (first, second) = ring.free_slices_mut();
            let split = n.min(first.len());
            first[..split].copy_from_slice(&data[..split]);
            second[..n - split].copy_from_slice(&data[split..]);
            // SAFETY: the `n` bytes were written above, in write order.
            unsafe { ring.advance_mut(n) };
            model.extend(&data);
        }
        Op::ChunkMut(n, seed) => {
            let chunk = ring.chunk_mut();
            let n = (*n).min(chunk.len());
            let data = pattern(n, *seed);
            chunk[..n].copy_from_slice(&data);
            ring.commit(n);
            model.extend(&data);
        }
        Op::PutSlice(data) => {
            if data.len() <= cap - model.len() {
                ring.put_slice(data);
                model.extend(data);
            }
        }
        Op::CopyToSlice(n) => {
            if *n <= model.len() {
                let mut dst = vec![0u8; *n];
                ring.copy_to_slice(&mut dst);
                let expect: Vec<u8> = model.drain(..n).collect();
                assert_eq!(dst, expect);
            }
        }
        Op::ReadVectored(data) => {
            let mut source = &data[..];
            let n = source
                .read_vectored(&mut ring.writable_io_slices())
                .unwrap();
            assert_eq!(n, data.len().min(cap - model.len()));
            ring.commit(n);
            model.extend(&data[..n]);
        }
        Op::WriteVectored => {
            let mut sink = Vec::new();
            let n = sink.write_vectored(&ring.readable_io_slices()).unwrap();
            assert_eq!(n, model.len());
            ring.consume(n);
            let expect: Vec<u8> = model.drain(..).collect();
            assert_eq!(sink, expect);
        }
        Op::GetU16 => {
            if model.len() >= 2 {
                let expect = u16::from_be_bytes([model[0], model[1]]);
                model.drain(..2);
                assert_eq!(ring.get_u16(), expect);
            }
        }
        Op::IoWrite(data) => {
            let n = ring.write(data).unwrap();
            assert_eq!(n, data.len().min(cap - model.len()));
            model.extend(&data[..n]);
        }
        Op::IoRead(size) => {
            let mut dst = vec![0u8; *size];
            let n = ring.read(&mut dst).unwrap();
            assert_eq!(n, (*size).min(model.len()));
            let expect: Vec<u8> = model.drain(..n).collect();
            assert_eq!(&dst[..n], &expect[..]);
        }
        Op::InvertInPlace => {
            let (first, second) = ring.as_mut_slices();
            first
                .iter_mut()
                .chain(second.iter_mut())
                .for_each(|b| *b = !*b);
            model.iter_mut().for_each(|b| *b = !*b);
        }
        Op::Clear => {
            ring.clear();
            model.clear();
        }
    }
}

/// Every observation the ring offers agrees with the model.
fn check(ring: &mut impl Ring, model: &VecDeque<u8>) {
    let cap = ring.capacity();
    let len = model.len();
    let expect: Vec<u8> = model.iter().copied().collect();

    assert_eq!(ring.len(), len);
    assert_eq!(ring.remaining(), len);
    assert_eq!(ring.free_len(), cap - len);
    assert_eq!(ring.remaining_mut(), cap - len);
    assert_eq!(ring.is_empty(), len == 0);
    assert_eq!(ring.is_full(), len == cap);

    let (first, second) = ring.as_slices();
    assert_eq!([first, second].concat(), expect);
    assert!(
        second.is_empty() || !first.is_empty(),
        "second half used alone"
    );
    assert_eq!(ring.chunk(), first);
    assert_eq!(ring.chunk().is_empty(), len == 0);
    let halves = usize::from(!first.is_empty()) + usize::from(!second.is_empty());

    let mut io = [IoSlice::new(&[]); 3];
    let n = ring.chunks_vectored(&mut io);
    assert_eq!(n, halves);
    let vectored: Vec<u8> = io[..n].iter().flat_map(|s| s.iter().copied()).collect();
    assert_eq!(vectored, expect);

    let readable = ring.readable_io_slices();
    assert_eq!(readable.len(), halves);
    assert!(readable.iter().all(|s| !s.is_empty()));
    let total: usize = readable.iter().map(|s| s.len()).sum();
    assert_eq!(total, len);

    let (free_first, free_second) = ring.free_slices_mut();
    assert_eq!(free_first.len() + free_second.len(), cap - len);
    assert!(free_second.is_empty() || !free_first.is_empty());
    let free_halves = usize::from(!free_first.is_empty()) + usize::from(!free_second.is_empty());
    // Data and free space never both wrap.
    assert!(halves + free_halves <= 3);
    let free_first_len = free_first.len();
    assert_eq!(ring.chunk_mut().len(), free_first_len);
    assert_eq!(ring.chunk_mut().len() == 0, len == cap);
    let writable = ring.writable_io_slices();
    assert_eq!(writable.len(), free_halves);
    assert!(writable.iter().all(|s| !s.is_empty()));
}

fn run(ring: &mut impl Ring, ops: &[Op]) {
    let mut model = VecDeque::new();
    check(ring, &model);
    for op in ops {
        apply(ring, &mut model, op);
        check(ring, &model);
    }
}

fn run_slice_ring(capacity: usize, ops: &[Op]) {
    let mut storage = vec![0x5Au8; capacity];
    let mut ring = SliceRing::new(&mut storage);
    assert_eq!(ring.capacity(), capacity);
    run(&mut ring, ops);
}

proptest! {
    // Bounded shrinking, so a failure is reported in seconds rather than minutes.
    #![proptest_config(ProptestConfig { max_shrink_iters: 2048, ..ProptestConfig::default() })]

    #[test]
    fn slice_ring_small_capacities(
        capacity in 0usize..=17,
        ops in proptest::collection::vec(op_strategy(40), 0..100),
    ) {
        run_slice_ring(capacity, &ops);
    }

    #[test]
    fn slice_ring_large_capacities(
        capacity in 18usize..=1500,
        ops in proptest::collection::vec(op_strategy(2000), 0..50),
    ) {
        run_slice_ring(capacity, &ops);
    }

    #[test]
    fn ring_buf_capacities(ops in proptest::collection::vec(op_strategy(40), 0..100)) {
        run(&mut RingBuf::<0>::new(), &ops);
        run(&mut RingBuf::<1>::new(), &ops);
        run(&mut RingBuf::<2>::new(), &ops);
        run(&mut RingBuf::<3>::new(), &ops);
        run(&mut RingBuf::<7>::new(), &ops);
        run(&mut RingBuf::<8>::new(), &ops);
        run(&mut RingBuf::<16>::new(), &ops);
        run(&mut RingBuf::<17>::new(), &ops);
        run(&mut RingBuf::<31>::new(), &ops);
    }

    #[test]
    fn ring_buf_large(ops in proptest::collection::vec(op_strategy(6000), 0..40)) {
        run(&mut RingBuf::<4096>::new(), &ops);
    }
}
