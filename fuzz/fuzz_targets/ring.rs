//! Fuzzes `RingBuf` and `SliceRing` against a `VecDeque<u8>` model of the readable bytes:
//! every operation's result and every view of the ring must match the model.
#![no_main]

use std::collections::VecDeque;
use std::io::{IoSlice, Read, Write};

use arbitrary::Arbitrary;
use bytes::{Buf, BufMut};
use ferrio::buf::{RingBuf, SliceRing};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Op {
    Push(Vec<u8>),
    Pop(u16),
    Advance(u16),
    Consume(u16),
    AdvanceMut(u16, u8),
    ChunkMut(u16, u8),
    PutSlice(Vec<u8>),
    CopyToSlice(u16),
    ReadVectored(Vec<u8>),
    WriteVectored,
    GetU32,
    InvertInPlace,
    Clear,
}

#[derive(Arbitrary, Debug)]
enum Storage {
    /// `SliceRing` over a heap slice of this many bytes (taken modulo 4097).
    Slice(u16),
    Inline0,
    Inline1,
    Inline7,
    Inline64,
    Inline4096,
}

#[derive(Arbitrary, Debug)]
struct Input {
    storage: Storage,
    ops: Vec<Op>,
}

/// Forwards the shared inherent API of both ring types, so one driver runs both.
macro_rules! drive {
    ($ring:expr, $ops:expr) => {{
        let ring = $ring;
        let mut model = VecDeque::<u8>::new();
        let cap = ring.capacity();
        for op in $ops {
            let free = cap - model.len();
            match op {
                Op::Push(data) => {
                    let n = ring.push_slice(data);
                    assert_eq!(n, data.len().min(free));
                    model.extend(&data[..n]);
                }
                Op::Pop(size) => {
                    let mut dst = vec![0u8; usize::from(*size)];
                    let n = ring.pop_slice(&mut dst);
                    assert_eq!(n, dst.len().min(model.len()));
                    assert!(model.drain(..n).eq(dst[..n].iter().copied()));
                }
                Op::Advance(n) => {
                    let n = usize::from(*n) % (model.len() + 1);
                    ring.advance(n);
                    model.drain(..n);
                }
                Op::Consume(n) => {
                    let n = usize::from(*n) % (model.len() + 1);
                    ring.consume(n);
                    model.drain(..n);
                }
                Op::AdvanceMut(n, byte) => {
                    let n = usize::from(*n) % (free + 1);
                    let (first, second) = ring.free_slices_mut();
                    let split = n.min(first.len());
                    first[..split].fill(*byte);
                    second[..n - split].fill(*byte);
                    // SAFETY: the `n` bytes were written above, in write order.
                    unsafe { ring.advance_mut(n) };
                    model.extend(std::iter::repeat(*byte).take(n));
                }
                Op::ChunkMut(n, byte) => {
                    let chunk = ring.chunk_mut();
                    assert_eq!(chunk.len() == 0, free == 0);
                    let n = usize::from(*n).min(chunk.len());
                    for i in 0..n {
                        chunk.write_byte(i, *byte);
                    }
                    ring.commit(n);
                    model.extend(std::iter::repeat(*byte).take(n));
                }
                Op::PutSlice(data) => {
                    if data.len() <= free {
                        ring.put_slice(data);
                        model.extend(data);
                    }
                }
                Op::CopyToSlice(n) => {
                    let n = usize::from(*n);
                    if n <= model.len() {
                        let mut dst = vec![0u8; n];
                        ring.copy_to_slice(&mut dst);
                        assert!(model.drain(..n).eq(dst.iter().copied()));
                    }
                }
                Op::ReadVectored(data) => {
                    let mut source = &data[..];
                    let n = source
                        .read_vectored(&mut ring.writable_io_slices())
                        .unwrap();
                    assert_eq!(n, data.len().min(free));
                    ring.commit(n);
                    model.extend(&data[..n]);
                }
                Op::WriteVectored => {
                    let mut sink = Vec::new();
                    let n = sink.write_vectored(&ring.readable_io_slices()).unwrap();
                    assert_eq!(n, model.len());
                    ring.consume(n);
                    assert!(model.drain(..).eq(sink.iter().copied()));
                }
                Op::GetU32 => {
                    if model.len() >= 4 {
                        let bytes: Vec<u8> = model.drain(..4).collect();
                        assert_eq!(
                            ring.get_u32(),
                            u32::from_be_bytes(bytes.try_into().unwrap())
                        );
                    }
                }
                Op::InvertInPlace => {
                    let (first, second) = ring.as_mut_slices();
                    first.iter_mut().chain(second).for_each(|b| *b = !*b);
                    model.iter_mut().for_each(|b| *b = !*b);
                }
                Op::Clear => {
                    ring.clear();
                    model.clear();
                }
            }

            // Every view agrees with the model.
            assert_eq!(ring.len(), model.len());
            assert_eq!(ring.remaining(), model.len());
            assert_eq!(ring.free_len(), cap - model.len());
            assert_eq!(ring.remaining_mut(), cap - model.len());
            assert_eq!(ring.is_empty(), model.is_empty());
            assert_eq!(ring.is_full(), model.len() == cap);
            let (first, second) = ring.as_slices();
            assert!(first.iter().chain(second).eq(model.iter()));
            assert_eq!(ring.chunk(), first);
            assert!(second.is_empty() || !first.is_empty());
            let mut io = [IoSlice::new(&[]); 2];
            let n = ring.chunks_vectored(&mut io);
            assert!(io[..n].iter().flat_map(|s| s.iter()).eq(model.iter()));
            let (free_first, free_second) = ring.free_slices_mut();
            assert_eq!(free_first.len() + free_second.len(), cap - model.len());
            assert!(free_second.is_empty() || !free_first.is_empty());
        }
    }};
}

fuzz_target!(|input: Input| {
    match input.storage {
        Storage::Slice(len) => {
            let mut storage = vec![0u8; usize::from(len) % 4097];
            drive!(&mut SliceRing::new(&mut storage), &input.ops);
        }
        Storage::Inline0 => drive!(&mut RingBuf::<0>::new(), &input.ops),
        Storage::Inline1 => drive!(&mut RingBuf::<1>::new(), &input.ops),
        Storage::Inline7 => drive!(&mut RingBuf::<7>::new(), &input.ops),
        Storage::Inline64 => drive!(&mut RingBuf::<64>::new(), &input.ops),
        Storage::Inline4096 => drive!(&mut RingBuf::<4096>::new(), &input.ops),
    }
});
