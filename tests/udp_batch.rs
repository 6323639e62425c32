//! Batched UDP: 1,000 datagrams each way through `send_many`/`recv_many` (and against plain
//! `send_to`/`recv_from`), driven by readiness events, over IPv4 and IPv6; truncation; empty
//! datagrams; empty batches; partial batches; connected sockets; GSO and GRO where the
//! kernel has them.

// Not built on Windows: batched UDP (recvmmsg/sendmmsg, GSO/GRO) is Unix-only.
#![cfg(unix)]

mod util;

use std::io;
use std::net::SocketAddr;

use ferrio::udp::{RecvMeta, UdpSocket, MAX_BATCH};
use ferrio::{EventSet, Events, Poll, PollOpt, Token};
use util::{any_local_addr, any_local_ipv6_addr, assert_error_kind, ipv6_available, poll_once};

const RX: Token = Token(1);
const COUNT: usize = 1_000;
/// Bounded waiting: give up after this many polls without progress.
const MAX_IDLE_POLLS: usize = 20;
const POLL_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(250);

/// Datagram `i`: its index (4 bytes, little-endian) then a pattern; lengths vary from 4 to
/// 203 bytes so that every length check means something.
fn payload(i: usize) -> Vec<u8> {
    let len = 4 + (i * 7) % 200;
    let mut p = (i as u32).to_le_bytes().to_vec();
    p.extend((4..len).map(|j| (i + j) as u8));
    p
}

/// Checks one received datagram against `payload`, recording its index in `seen`.
#[track_caller]
fn check_datagram(data: &[u8], from: SocketAddr, expected_from: SocketAddr, seen: &mut [bool]) {
    assert_eq!(from, expected_from, "wrong source address");
    assert!(
        data.len() >= 4,
        "datagram of {} bytes is too short",
        data.len()
    );
    let i = u32::from_le_bytes(data[..4].try_into().unwrap()) as usize;
    assert!(i < seen.len(), "datagram index {i} out of range");
    assert!(!seen[i], "datagram {i} received twice");
    seen[i] = true;
    assert_eq!(data, &payload(i)[..], "payload of datagram {i}");
}

/// A socket bound to `addr` with a large receive buffer.
fn receiver(addr: SocketAddr) -> UdpSocket {
    let socket = UdpSocket::bound(&addr).unwrap();
    socket.set_recv_buffer_size(4 << 20).unwrap();
    socket
}

/// Receives with `recv` until `total` datagrams arrived, starting from `received`; returns
/// the new count. `recv(received so far)` returns how many datagrams it took, `None` when
/// the queue is empty. Drains to `None` (or `total`), then waits for the next readable
/// event, failing after `MAX_IDLE_POLLS` polls without progress.
fn receive_until(
    poll: &mut Poll,
    events: &mut Events,
    mut received: usize,
    total: usize,
    mut recv: impl FnMut(usize) -> Option<usize>,
) -> usize {
    let mut idle = 0;
    loop {
        while received < total {
            let Some(n) = recv(received) else { break };
            assert!(n > 0, "recv returned Some(0) for a non-empty batch");
            received += n;
            idle = 0;
        }
        assert!(received <= total, "more datagrams than were sent");
        if received == total {
            return received;
        }
        idle += 1;
        assert!(
            idle <= MAX_IDLE_POLLS,
            "only {received} of {total} datagrams arrived"
        );
        poll_once(poll, events, POLL_TIMEOUT);
    }
}

/// Sends `COUNT` datagrams from `tx` to `rx` in bursts of at most `MAX_BATCH`; after each
/// burst the receiver drains what was sent, so the receive buffer never overflows and no
/// datagram may be lost.
fn transfer(tx: &UdpSocket, rx: &UdpSocket, batched_send: bool, batched_recv: bool) -> Vec<bool> {
    let to = rx.local_addr().unwrap();
    let from = tx.local_addr().unwrap();
    let mut poll = Poll::new().unwrap();
    poll.register(rx, RX, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    let payloads: Vec<Vec<u8>> = (0..COUNT).map(payload).collect();
    let msgs: Vec<(&[u8], SocketAddr)> = payloads.iter().map(|p| (&p[..], to)).collect();

    let mut bufs = vec![[0u8; 256]; MAX_BATCH];
    let mut meta = [RecvMeta::new(); MAX_BATCH];
    let mut one = [0u8; 256];
    let mut seen = vec![false; COUNT];
    let (mut sent, mut received) = (0, 0);
    while sent < COUNT {
        let burst_end = (sent + MAX_BATCH).min(COUNT);
        if batched_send {
            // A UDP send on loopback never waits for the receiver, so a burst that fits in
            // the receive buffer goes out at once.
            let n = tx.send_many(&msgs[sent..burst_end]).unwrap();
            let n = n.expect("send buffer full");
            assert!(n >= 1 && n <= burst_end - sent, "sent {n}");
            sent += n;
        } else {
            for msg in &msgs[sent..burst_end] {
                assert_eq!(tx.send_to(msg.0, &msg.1).unwrap(), Some(msg.0.len()));
            }
            sent = burst_end;
        }
        received = receive_until(&mut poll, &mut events, received, sent, |_| {
            if batched_recv {
                let n = rx.recv_many(&mut bufs, &mut meta).unwrap()?;
                for (buf, meta) in bufs.iter().zip(&meta[..n]) {
                    assert!(!meta.truncated);
                    assert_eq!(meta.segment_size, None);
                    check_datagram(&buf[..meta.len], meta.addr, from, &mut seen);
                }
                Some(n)
            } else {
                let (len, addr) = rx.recv_from(&mut one).unwrap()?;
                check_datagram(&one[..len], addr, from, &mut seen);
                Some(1)
            }
        });
    }
    assert_eq!(received, COUNT);
    seen
}

fn assert_all_seen(seen: &[bool]) {
    let missing: Vec<usize> = (0..seen.len()).filter(|&i| !seen[i]).collect();
    assert!(missing.is_empty(), "datagrams lost: {missing:?}");
}

#[test]
fn thousand_datagrams_send_many_to_recv_many() {
    let tx = UdpSocket::bound(&any_local_addr()).unwrap();
    let rx = receiver(any_local_addr());
    assert_all_seen(&transfer(&tx, &rx, true, true));
}

#[test]
fn thousand_datagrams_send_many_to_recv_from() {
    let tx = UdpSocket::bound(&any_local_addr()).unwrap();
    let rx = receiver(any_local_addr());
    assert_all_seen(&transfer(&tx, &rx, true, false));
}

#[test]
fn thousand_datagrams_send_to_to_recv_many() {
    let tx = UdpSocket::bound(&any_local_addr()).unwrap();
    let rx = receiver(any_local_addr());
    assert_all_seen(&transfer(&tx, &rx, false, true));
}

#[test]
fn thousand_datagrams_both_ways_ipv6() {
    if !ipv6_available() {
        util::precondition_missing("IPv6: the loopback ::1 cannot be bound here");
        return;
    }
    let a = receiver(any_local_ipv6_addr());
    let b = receiver(any_local_ipv6_addr());
    assert_all_seen(&transfer(&a, &b, true, true));
    assert_all_seen(&transfer(&b, &a, true, true));
}

/// Sends `msgs` (all at once) and receives exactly `msgs.len()` datagrams into `bufs`.
fn send_and_receive<B: AsMut<[u8]>>(
    tx: &UdpSocket,
    rx: &UdpSocket,
    msgs: &[&[u8]],
    bufs: &mut [B],
    meta: &mut [RecvMeta],
) {
    let to = rx.local_addr().unwrap();
    let batch: Vec<(&[u8], SocketAddr)> = msgs.iter().map(|m| (*m, to)).collect();
    assert_eq!(tx.send_many(&batch).unwrap(), Some(msgs.len()));
    let mut poll = Poll::new().unwrap();
    poll.register(rx, RX, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    receive_until(&mut poll, &mut events, 0, msgs.len(), |got| {
        rx.recv_many(&mut bufs[got..], &mut meta[got..]).unwrap()
    });
    poll.deregister(rx).unwrap();
}

#[test]
fn truncation_is_reported() {
    let tx = UdpSocket::bound(&any_local_addr()).unwrap();
    let rx = receiver(any_local_addr());
    let long: Vec<u8> = (0..100u8).collect();
    let exact: Vec<u8> = (0..32u8).rev().collect();
    let mut bufs = [[0u8; 32]; 4];
    let mut meta = [RecvMeta::new(); 4];
    send_and_receive(&tx, &rx, &[&long, b"short", &exact], &mut bufs, &mut meta);

    assert_eq!(meta[0].len, 32);
    assert!(meta[0].truncated, "a 100-byte datagram in 32 bytes");
    assert_eq!(&bufs[0][..], &long[..32]);
    assert_eq!((meta[1].len, meta[1].truncated), (5, false));
    assert_eq!(&bufs[1][..5], b"short");
    assert_eq!(
        (meta[2].len, meta[2].truncated),
        (32, false),
        "an exact fit"
    );
    assert_eq!(&bufs[2][..], &exact[..]);
    for m in &meta[..3] {
        assert_eq!(m.addr, tx.local_addr().unwrap());
        assert_eq!(m.segment_size, None);
    }
    // The slot after the received ones is untouched.
    assert_eq!(meta[3], RecvMeta::new());
    assert_eq!(rx.recv_many(&mut bufs, &mut meta).unwrap(), None);
}

#[test]
fn empty_datagrams() {
    let tx = UdpSocket::bound(&any_local_addr()).unwrap();
    let rx = receiver(any_local_addr());
    // Into a normal buffer, an empty buffer (empty datagram: a fit) and an empty buffer
    // (one byte: truncated).
    let mut bufs: [&mut [u8]; 3] = [&mut [9u8; 8], &mut [], &mut []];
    let mut meta = [RecvMeta::new(); 3];
    send_and_receive(&tx, &rx, &[b"", b"", b"x"], &mut bufs, &mut meta);
    let from = tx.local_addr().unwrap();
    assert_eq!(
        (meta[0].len, meta[0].truncated, meta[0].addr),
        (0, false, from)
    );
    assert_eq!(bufs[0], &[9u8; 8], "an empty datagram writes nothing");
    assert_eq!(meta[0].segments(bufs[0]).collect::<Vec<_>>(), [&[][..]]);
    assert_eq!(
        (meta[1].len, meta[1].truncated, meta[1].addr),
        (0, false, from)
    );
    assert_eq!(
        (meta[2].len, meta[2].truncated, meta[2].addr),
        (0, true, from)
    );
}

#[test]
fn empty_batches_make_no_call_and_consume_nothing() {
    let tx = UdpSocket::bound(&any_local_addr()).unwrap();
    let rx = receiver(any_local_addr());
    let no_msgs: [(&[u8], SocketAddr); 0] = [];
    assert_eq!(tx.send_many(&no_msgs).unwrap(), Some(0));
    assert_eq!(tx.send_many_connected::<&[u8]>(&[]).unwrap(), Some(0));

    let mut bufs = [[0u8; 8]; 2];
    let mut meta = [RecvMeta::new(); 2];
    send_and_receive(&tx, &rx, &[b"first"], &mut bufs, &mut meta);
    tx.send_to(b"kept", &rx.local_addr().unwrap()).unwrap();
    let mut no_bufs: [[u8; 8]; 0] = [];
    assert_eq!(rx.recv_many(&mut no_bufs, &mut meta).unwrap(), Some(0));
    assert_eq!(rx.recv_many(&mut bufs, &mut []).unwrap(), Some(0));
    // The datagram is still queued for a real receive.
    let mut one = [0u8; 8];
    let mut poll = Poll::new().unwrap();
    poll.register(&rx, RX, EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(4);
    receive_until(&mut poll, &mut events, 0, 1, |_| {
        rx.recv_from(&mut one).unwrap().map(|(n, _)| {
            assert_eq!(&one[..n], b"kept");
            1
        })
    });
}

#[test]
fn recv_many_would_block_is_none() {
    let rx = receiver(any_local_addr());
    let mut bufs = [[0u8; 8]; 4];
    let mut meta = [RecvMeta::new(); 4];
    assert_eq!(rx.recv_many(&mut bufs, &mut meta).unwrap(), None);
}

#[test]
fn batches_are_cut_to_max_batch() {
    let tx = UdpSocket::bound(&any_local_addr()).unwrap();
    let rx = receiver(any_local_addr());
    let to = rx.local_addr().unwrap();
    let msgs: Vec<([u8; 1], SocketAddr)> = (0..MAX_BATCH + 10).map(|i| ([i as u8], to)).collect();
    assert_eq!(tx.send_many(&msgs).unwrap(), Some(MAX_BATCH));
    assert_eq!(tx.send_many(&msgs[MAX_BATCH..]).unwrap(), Some(10));

    let mut poll = Poll::new().unwrap();
    poll.register(&rx, RX, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(4);
    let mut bufs = vec![[0u8; 4]; MAX_BATCH + 10];
    let mut meta = vec![RecvMeta::new(); MAX_BATCH + 10];
    let got = receive_until(&mut poll, &mut events, 0, MAX_BATCH + 10, |got| {
        let n = rx.recv_many(&mut bufs[got..], &mut meta[got..]).unwrap()?;
        assert!(n <= MAX_BATCH, "one call returned {n} datagrams");
        Some(n)
    });
    let mut values: Vec<u8> = (0..got).map(|i| bufs[i][0]).collect();
    values.sort_unstable();
    assert_eq!(values, (0..(MAX_BATCH + 10) as u8).collect::<Vec<_>>());
}

#[test]
fn partial_batch_stops_at_a_failing_datagram() {
    let tx = UdpSocket::bound(&any_local_addr()).unwrap();
    let rx = receiver(any_local_addr());
    let to = rx.local_addr().unwrap();
    // An IPv6 destination is invalid for an IPv4 socket.
    let bad: SocketAddr = "[::1]:9".parse().unwrap();
    let msgs: [(&[u8], SocketAddr); 3] = [(b"ok", to), (b"bad", bad), (b"never", to)];
    assert_eq!(tx.send_many(&msgs).unwrap(), Some(1));
    // Retrying from the failing datagram reports its error, and sends nothing.
    let err = tx.send_many(&msgs[1..]).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EAFNOSUPPORT), "{err}");

    let mut bufs = [[0u8; 8]; 3];
    let mut meta = [RecvMeta::new(); 3];
    let mut poll = Poll::new().unwrap();
    poll.register(&rx, RX, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(4);
    receive_until(&mut poll, &mut events, 0, 1, |_| {
        rx.recv_many(&mut bufs, &mut meta).unwrap()
    });
    assert_eq!(&bufs[0][..meta[0].len], b"ok");
}

#[test]
fn connected_send_many() {
    let tx = UdpSocket::bound(&any_local_addr()).unwrap();
    let rx = receiver(any_local_addr());
    let err = tx.send_many_connected(&[b"nowhere"]).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EDESTADDRREQ), "{err}");
    tx.connect(&rx.local_addr().unwrap()).unwrap();
    rx.connect(&tx.local_addr().unwrap()).unwrap();
    assert_eq!(
        tx.send_many_connected(&[&b"a"[..], b"bc"]).unwrap(),
        Some(2)
    );
    let mut bufs = [[0u8; 4]; 2];
    let mut meta = [RecvMeta::new(); 2];
    let mut poll = Poll::new().unwrap();
    poll.register(&rx, RX, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(4);
    receive_until(&mut poll, &mut events, 0, 2, |got| {
        rx.recv_many(&mut bufs[got..], &mut meta[got..]).unwrap()
    });
    assert_eq!(&bufs[0][..meta[0].len], b"a");
    assert_eq!(&bufs[1][..meta[1].len], b"bc");
    assert_eq!(meta[1].addr, tx.local_addr().unwrap());
}

/// Linux only: UDP segmentation offload (see `no_offload_off_linux` for the rest).
#[cfg(target_os = "linux")]
#[test]
fn gso_splits_into_datagrams() {
    if !UdpSocket::gso_supported() {
        let tx = UdpSocket::bound(&any_local_addr()).unwrap();
        assert_error_kind(
            tx.send_gso(b"x", 1, &tx.local_addr().unwrap()),
            io::ErrorKind::Unsupported,
        );
        util::precondition_missing("GSO: this kernel has no UDP_SEGMENT");
        return;
    }
    assert!(UdpSocket::max_gso_segments() >= 64);
    let tx = UdpSocket::bound(&any_local_addr()).unwrap();
    let rx = receiver(any_local_addr());
    let to = rx.local_addr().unwrap();
    assert_error_kind(tx.send_gso(b"x", 0, &to), io::ErrorKind::InvalidInput);

    // 9 full segments of 100 bytes and a last one of 50.
    let data: Vec<u8> = (0..950u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(tx.send_gso(&data, 100, &to).unwrap(), Some(950));
    let mut poll = Poll::new().unwrap();
    poll.register(&rx, RX, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(4);
    let mut bufs = [[0u8; 200]; 16];
    let mut meta = [RecvMeta::new(); 16];
    receive_until(&mut poll, &mut events, 0, 10, |got| {
        rx.recv_many(&mut bufs[got..], &mut meta[got..]).unwrap()
    });
    for (i, (buf, m)) in bufs.iter().zip(&meta[..10]).enumerate() {
        assert_eq!(m.len, if i == 9 { 50 } else { 100 }, "datagram {i}");
        assert_eq!(&buf[..m.len], &data[i * 100..i * 100 + m.len]);
        assert_eq!(m.addr, tx.local_addr().unwrap());
        assert_eq!(m.segment_size, None, "GRO is off");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn gro_coalesces_and_reports_segment_size() {
    if !UdpSocket::gso_supported() {
        util::precondition_missing(
            "GRO: this kernel has no UDP_SEGMENT (GSO) to produce a GRO packet",
        );
        return;
    }
    let tx = UdpSocket::bound(&any_local_addr()).unwrap();
    let rx = receiver(any_local_addr());
    match rx.set_gro(true) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::Unsupported => {
            util::precondition_missing(&format!("GRO: this kernel has no UDP_GRO: {e}"));
            return;
        }
        Err(e) => panic!("set_gro failed: {e}"),
    }
    let to = rx.local_addr().unwrap();
    let data: Vec<u8> = (0..950u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(tx.send_gso(&data, 100, &to).unwrap(), Some(950));

    let mut poll = Poll::new().unwrap();
    poll.register(&rx, RX, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(4);
    let mut bufs = vec![vec![0u8; 65536]; 10];
    let mut meta = [RecvMeta::new(); 10];
    // Count received bytes, not receives: coalesced datagrams arrive as one.
    let mut receives = 0;
    receive_until(&mut poll, &mut events, 0, 950, |_| {
        let n = rx
            .recv_many(&mut bufs[receives..], &mut meta[receives..])
            .unwrap()?;
        let new: usize = meta[receives..receives + n].iter().map(|m| m.len).sum();
        receives += n;
        Some(new)
    });
    // Loopback keeps the GSO packet whole for a GRO socket: one receive of all ten.
    assert_eq!(receives, 1, "{:?}", &meta[..receives]);
    assert_eq!(meta[0].len, 950);
    assert_eq!(meta[0].segment_size, Some(100));
    assert!(!meta[0].truncated);
    assert_eq!(meta[0].addr, tx.local_addr().unwrap());
    let segments: Vec<&[u8]> = meta[0].segments(&bufs[0]).collect();
    assert_eq!(segments.len(), 10);
    for (i, s) in segments.iter().enumerate() {
        assert_eq!(*s, &data[i * 100..(i * 100 + 100).min(950)]);
    }

    // Off again: the next GSO send arrives as separate datagrams.
    rx.set_gro(false).unwrap();
    assert_eq!(tx.send_gso(&data[..300], 100, &to).unwrap(), Some(300));
    receive_until(&mut poll, &mut events, 0, 3, |got| {
        rx.recv_many(&mut bufs[got..], &mut meta[got..]).unwrap()
    });
    assert!(meta[..3]
        .iter()
        .all(|m| m.len == 100 && m.segment_size.is_none()));
}

#[test]
fn recv_meta_is_small_and_thread_safe() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RecvMeta>();
    assert!(std::mem::size_of::<RecvMeta>() <= 64);
}

/// Segmentation offload is Linux-only: elsewhere it is a clear `Unsupported` error, and the
/// batched calls work without it (one syscall per datagram).
#[cfg(not(target_os = "linux"))]
#[test]
fn no_offload_off_linux() {
    assert!(!UdpSocket::gso_supported());
    assert_eq!(UdpSocket::max_gso_segments(), 1);
    let tx = UdpSocket::bound(&any_local_addr()).unwrap();
    let rx = receiver(any_local_addr());
    let to = rx.local_addr().unwrap();
    assert_error_kind(tx.send_gso(b"x", 1, &to), io::ErrorKind::Unsupported);
    assert_error_kind(rx.set_gro(true), io::ErrorKind::Unsupported);
}
