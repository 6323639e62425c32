//! Batched UDP makes no allocation: after a warm-up, 1,000 datagrams each way through
//! `send_many`, readiness polling and `recv_many` (plus a GSO send into a GRO receiver when
//! the kernel has them) allocate nothing.

// Not built on Windows: batched UDP (recvmmsg/sendmmsg, GSO/GRO) is Unix-only.
#![cfg(unix)]

mod util;

use ferrio::udp::{RecvMeta, UdpSocket, MAX_BATCH};
use ferrio::{EventSet, Events, Poll, PollOpt, Token};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;
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

const PAYLOAD: usize = 64;

/// One side: a socket, its token, and the datagrams it sends (index in the first 4 bytes).
struct Side {
    socket: UdpSocket,
    token: Token,
    msgs: Vec<([u8; PAYLOAD], SocketAddr)>,
}

/// Sends `count` datagrams from `tx` to `rx` in bursts of `MAX_BATCH`, draining `rx` after
/// each burst (bounded waits), and checks every payload, length and sender, and that each
/// index arrives once (`seen`). Returns the number received. Allocation-free by construction: everything is preallocated.
fn transfer(
    poll: &mut Poll,
    events: &mut Events,
    tx: &Side,
    rx: &Side,
    count: usize,
    scratch: &mut Scratch,
) -> usize {
    let Scratch { bufs, meta, seen } = scratch;
    let from = tx.socket.local_addr().unwrap();
    seen.fill(false);
    let (mut sent, mut received) = (0, 0);
    while sent < count {
        let end = (sent + MAX_BATCH).min(count);
        sent += tx.socket.send_many(&tx.msgs[sent..end]).unwrap().unwrap();
        let mut idle = 0;
        while received < sent {
            match rx.socket.recv_many(bufs, meta).unwrap() {
                Some(n) => {
                    for (buf, m) in bufs.iter().zip(&meta[..n]) {
                        let i = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
                        assert!(i < count && !seen[i], "datagram {i} unexpected or repeated");
                        seen[i] = true;
                        assert_eq!(m.len, PAYLOAD);
                        assert!(!m.truncated);
                        assert_eq!(m.addr, from);
                        assert!(buf[..PAYLOAD] == tx.msgs[i].0[..]);
                        received += 1;
                    }
                    idle = 0;
                }
                None => {
                    idle += 1;
                    assert!(idle < 20, "datagrams did not arrive");
                    poll.poll(events, Some(Duration::from_millis(250))).unwrap();
                    assert!(events.iter().all(|e| e.token() == rx.token));
                }
            }
        }
    }
    received
}

/// Receive buffers and bookkeeping, preallocated once.
struct Scratch {
    bufs: [[u8; 128]; MAX_BATCH],
    meta: [RecvMeta; MAX_BATCH],
    /// `seen[i]`: datagram `i` of the current transfer arrived.
    seen: Vec<bool>,
}

fn side(token: Token, to: SocketAddr, socket: UdpSocket) -> Side {
    let msgs = (0..1_000u32)
        .map(|i| {
            let mut p = [(i % 251) as u8; PAYLOAD];
            p[..4].copy_from_slice(&i.to_le_bytes());
            (p, to)
        })
        .collect();
    Side {
        socket,
        token,
        msgs,
    }
}

#[test]
fn batched_io_makes_no_allocation() {
    let a = UdpSocket::bound(&"127.0.0.1:0".parse().unwrap()).unwrap();
    let b = UdpSocket::bound(&"127.0.0.1:0".parse().unwrap()).unwrap();
    a.set_recv_buffer_size(4 << 20).unwrap();
    b.set_recv_buffer_size(4 << 20).unwrap();
    let (addr_a, addr_b) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    let a = side(Token(1), addr_b, a);
    let b = side(Token(2), addr_a, b);
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    for s in [&a, &b] {
        poll.register(&s.socket, s.token, EventSet::readable(), PollOpt::level())
            .unwrap();
    }
    let mut scratch = Scratch {
        bufs: [[0u8; 128]; MAX_BATCH],
        meta: [RecvMeta::new(); MAX_BATCH],
        seen: vec![false; 1_000],
    };
    let gso = UdpSocket::gso_supported() && b.socket.set_gro(true).is_ok();
    let mut big = vec![0u8; 65536];

    // Warm-up: one burst each way (and one GSO send), so anything lazily set up is.
    transfer(&mut poll, &mut events, &a, &b, MAX_BATCH, &mut scratch);
    transfer(&mut poll, &mut events, &b, &a, MAX_BATCH, &mut scratch);
    let gso_payload = [7u8; 1000];
    if gso {
        gso_round(&mut poll, &mut events, &a, &b, &gso_payload, &mut big);
    }

    COUNT.with(|c| c.set(Some(0)));
    let ab = transfer(&mut poll, &mut events, &a, &b, 1_000, &mut scratch);
    let ba = transfer(&mut poll, &mut events, &b, &a, 1_000, &mut scratch);
    if gso {
        for _ in 0..10 {
            gso_round(&mut poll, &mut events, &a, &b, &gso_payload, &mut big);
        }
    }
    let allocations = COUNT.with(|c| c.replace(None)).unwrap();
    assert_eq!((ab, ba), (1_000, 1_000));
    assert_eq!(allocations, 0, "batched UDP IO allocated in steady state");
    if !gso {
        util::precondition_missing("GSO/GRO part: not supported by this kernel");
    }
}

/// One GSO send of 10 segments into the GRO receiver, received (coalesced or not) in full.
fn gso_round(
    poll: &mut Poll,
    events: &mut Events,
    tx: &Side,
    rx: &Side,
    payload: &[u8],
    big: &mut [u8],
) {
    let to = rx.socket.local_addr().unwrap();
    assert_eq!(
        tx.socket.send_gso(payload, 100, &to).unwrap(),
        Some(payload.len())
    );
    let mut meta = [RecvMeta::new(); 1];
    let mut bytes = 0;
    let mut idle = 0;
    while bytes < payload.len() {
        match rx.socket.recv_many(&mut [&mut *big], &mut meta).unwrap() {
            Some(_) => bytes += meta[0].len,
            None => {
                idle += 1;
                assert!(idle < 20, "GSO datagrams did not arrive");
                poll.poll(events, Some(Duration::from_millis(250))).unwrap();
            }
        }
    }
    assert_eq!(bytes, payload.len());
}
