//! Measures `TryWrite::try_write_buf` on a wrapped ring (both halves in one `writev`) against
//! two plain `write` calls (one per half), over a Unix stream pair drained by another thread.
//!
//! ```sh
//! cargo run --release --example ring_write
//! ```
//!
//! Both variants move the same bytes; the rounds alternate (A B A B ...) and the best of
//! each is printed with the ratio, since the machine may be shared and noisy.

use std::io::{self, Read};
use std::thread;
use std::time::{Duration, Instant};

use ferrio::buf::RingBuf;
use ferrio::unix::UnixStream;
use ferrio::TryWrite;

const RING: usize = 64 * 1024;
/// Sizes of each half, in bytes: small halves show the syscall saved, large ones the copy.
const HALVES: [usize; 3] = [64, 1024, 8 * 1024];

/// A ring holding `2 * HALF` bytes split (about evenly) across the end of its storage.
fn wrapped_ring(half: usize) -> Box<RingBuf<RING>> {
    let mut ring = Box::new(RingBuf::<RING>::new());
    let filler = vec![0u8; RING - half];
    assert_eq!(ring.push_slice(&filler), filler.len());
    // Keep one byte: an emptied ring rewinds to the start of its storage.
    let mut sink = vec![0u8; RING - half - 1];
    assert_eq!(ring.pop_slice(&mut sink), sink.len());
    let data = vec![7u8; 2 * half - 1];
    assert_eq!(ring.push_slice(&data), data.len());
    let (a, b) = ring.as_slices();
    assert!(a.len() == half + 1 && b.len() == half - 1, "data must wrap");
    ring
}

/// Writes everything until `deadline`, blocking on the socket (set blocking for the
/// measurement, so both variants make the same number of syscalls per completed round).
fn run(
    stream: &mut UnixStream,
    half: usize,
    vectored: bool,
    deadline: Instant,
) -> io::Result<(u64, u64)> {
    let template = wrapped_ring(half);
    let mut bytes = 0u64;
    let mut calls = 0u64;
    while Instant::now() < deadline {
        let mut ring = template.clone();
        if vectored {
            while !ring.is_empty() {
                calls += 1;
                match stream.try_write_buf(&mut *ring)? {
                    Some(n) => bytes += n as u64,
                    None => thread::yield_now(),
                }
            }
        } else {
            let (a, b) = ring.as_slices();
            for half in [a, b] {
                let mut off = 0;
                while off < half.len() {
                    calls += 1;
                    match stream.try_write(&half[off..])? {
                        Some(n) => {
                            off += n;
                            bytes += n as u64;
                        }
                        None => thread::yield_now(),
                    }
                }
            }
        }
    }
    Ok((bytes, calls))
}

fn main() -> io::Result<()> {
    let (mut writer, reader) = UnixStream::pair()?;
    let drain = thread::spawn(move || {
        let mut reader = reader;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::yield_now(),
                Err(e) => panic!("drain: {e}"),
            }
        }
    });
    let round = Duration::from_millis(200);
    let mut results = Vec::new();
    for half in HALVES {
        let mut best = [0f64; 2];
        let mut calls_per_ring = [0f64; 2];
        for _ in 0..4 {
            for (i, vectored) in [true, false].into_iter().enumerate() {
                let start = Instant::now();
                let (bytes, calls) = run(&mut writer, half, vectored, start + round)?;
                let rate = bytes as f64 / start.elapsed().as_secs_f64() / (1024.0 * 1024.0);
                if rate > best[i] {
                    best[i] = rate;
                    calls_per_ring[i] = calls as f64 / (bytes as f64 / (2 * half) as f64);
                }
            }
        }
        results.push((half, best, calls_per_ring));
    }
    drop(writer);
    drain.join().expect("drain thread");
    println!("wrapped ring over a Unix stream pair (best of 4 alternating 200 ms rounds):");
    println!("| halves | try_write_buf (one writev) | two plain writes | ratio |");
    println!("|---|---:|---:|---:|");
    for (half, best, calls) in results {
        println!(
            "| 2 x {} B | {:.1} MiB/s ({:.2} calls/ring) | {:.1} MiB/s ({:.2} calls/ring) | {:.2}x |",
            half,
            best[0],
            calls[0],
            best[1],
            calls[1],
            best[0] / best[1]
        );
    }
    Ok(())
}
