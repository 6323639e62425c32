//! Every public constructor and setter with extreme values: each returns `Ok` or a clean
//! `io::Error`, never panics or aborts, and leaves the object usable.
#![cfg(unix)]

mod util;

use std::time::Duration;

use ferrio::tcp::{TcpBuilder, TcpListener, TcpStream};
use ferrio::udp::{UdpBuilder, UdpSocket};
use ferrio::unix::{UnixDatagram, UnixListener, UnixStream};
use ferrio::{EventSet, Events, Poll, PollOpt, Token, TryWrite};

use util::*;

#[test]
fn tcp_setters_take_extreme_values() {
    let (a, _b) = tcp_pair();
    for ttl in [0, 1, 255, 256, u32::MAX] {
        let _ = a.set_ttl(ttl);
    }
    assert!(a.set_ttl(0).is_err() || a.ttl().is_ok());
    for s in [None, Some(0), Some(1), Some(u32::MAX)] {
        let _ = a.set_keepalive(s);
    }
    for d in [
        None,
        Some(Duration::ZERO),
        Some(Duration::from_nanos(1)),
        Some(Duration::from_secs(u32::MAX as u64 + 1)),
        Some(Duration::MAX),
    ] {
        let _ = a.set_keepalive_time(d);
        let _ = a.keepalive();
        let _ = a.set_linger(d);
    }
    a.set_nodelay(true).unwrap();
    assert!(a.nodelay().unwrap());
    let _ = a.peek(&mut []);
    // Still usable.
    (&a).try_write(b"x").unwrap();
}

#[test]
fn builders_take_extreme_values() {
    for size in [
        0usize,
        1,
        i32::MAX as usize,
        i32::MAX as usize + 1,
        usize::MAX,
    ] {
        if let Ok(b) = TcpBuilder::v4() {
            let _ = b
                .send_buffer_size(size)
                .and_then(|b| b.recv_buffer_size(size));
        }
        if let Ok(b) = UdpBuilder::v4() {
            let _ = b
                .send_buffer_size(size)
                .and_then(|b| b.recv_buffer_size(size));
        }
        let u = UdpSocket::bound(&any_local_addr()).unwrap();
        let _ = u.set_recv_buffer_size(size);
        let _ = u.set_send_buffer_size(size);
    }
    for backlog in [i32::MIN, -1, 0, 1, i32::MAX] {
        let l = TcpBuilder::v4()
            .unwrap()
            .bind(&any_local_addr())
            .unwrap()
            .listen(backlog);
        if let Ok(l) = l {
            let c = TcpStream::connect(&l.local_addr().unwrap()).unwrap();
            drop(c);
        }
    }
    let dir = std::env::temp_dir().join(format!("ferrio-adv-set-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for backlog in [0usize, 1, usize::MAX] {
        let path = dir.join(format!("l{backlog}"));
        let s = ferrio::unix::UnixSocket::stream().unwrap();
        s.bind(&path).unwrap();
        let l = s.listen(backlog).unwrap();
        let _c = UnixStream::connect(&path).unwrap();
        drop(l);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn udp_setters_take_extreme_values() {
    let u = UdpSocket::bound(&any_local_addr()).unwrap();
    for ttl in [0, 1, 255, 256, u32::MAX] {
        let _ = u.set_ttl(ttl);
        let _ = u.set_multicast_ttl_v4(ttl);
        let _ = u.set_multicast_hops_v6(ttl);
    }
    for ttl in [i32::MIN, -1, 0, 255, 256, i32::MAX] {
        let _ = u.set_multicast_time_to_live(ttl);
    }
    let _ = u.join_multicast_v6(&"ff02::1".parse().unwrap(), u32::MAX);
    let _ = u.join_multicast(&"127.0.0.1".parse().unwrap());
    let _ = u.leave_multicast(&"224.0.0.1".parse().unwrap());
    let _ = u.set_only_v6(true);
    // A datagram larger than any UDP datagram: a clean error.
    let big = vec![0u8; 70_000];
    let r = u.send_to(&big, &u.local_addr().unwrap());
    assert!(r.is_err(), "{r:?}");
    // Sending to port 0 and to a broadcast address without SO_BROADCAST: clean errors.
    let _ = u.send_to(b"x", &"127.0.0.1:0".parse().unwrap());
    let r = u.send_to(b"x", &"255.255.255.255:9".parse().unwrap());
    assert!(r.is_err(), "{r:?}");
    // An IPv6 destination on an IPv4 socket.
    let r = u.send_to(b"x", &"[::1]:9".parse().unwrap());
    assert!(r.is_err(), "{r:?}");
    u.send_to(b"ok", &u.local_addr().unwrap()).unwrap();
}

#[test]
fn unix_paths_out_of_range_are_clean_errors() {
    let long = "/tmp/".to_string() + &"x".repeat(200);
    assert!(UnixListener::bind(&long).is_err());
    assert!(UnixStream::connect(&long).is_err());
    assert!(UnixDatagram::bind(&long).is_err());
    let d = UnixDatagram::unbound().unwrap();
    assert!(d.send_to(b"x", &long).is_err());
    assert!(d.connect(&long).is_err());
    // An interior NUL.
    assert!(UnixListener::bind("/tmp/a\0b").is_err());
    assert!(UnixStream::connect("/tmp/a\0b").is_err());
    assert!(d.send_to(b"x", "/tmp/a\0b").is_err());
    // Empty path.
    assert!(UnixStream::connect("").is_err());
    // A path of exactly the maximum length (107 bytes + NUL).
    let dir = std::env::temp_dir();
    let _ = dir;
}

#[test]
fn events_and_poll_take_extreme_values() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(usize::MAX);
    assert_eq!(events.capacity(), Events::MAX_CAPACITY);
    let (a, mut b) = UnixStream::pair().unwrap();
    poll.register(&a, Token(1), EventSet::all(), PollOpt::level())
        .unwrap();
    b.try_write(b"x").unwrap();
    poll.poll(&mut events, Some(Duration::from_secs(5)))
        .unwrap();
    assert!(events.get(usize::MAX).is_none());
    assert!(events.get(events.len()).is_none());
    let mut zero = Events::with_capacity(0);
    let e = poll.poll(&mut zero, Some(Duration::ZERO)).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    // Every interest bit combination registers (or is refused cleanly).
    let (c, _d) = UnixStream::pair().unwrap();
    let sets = [
        EventSet::none(),
        EventSet::all(),
        EventSet::hup(),
        EventSet::error(),
        EventSet::hup() | EventSet::error(),
    ];
    for (i, set) in sets.iter().enumerate() {
        let r = if i == 0 {
            poll.register(&c, Token(2), *set, PollOpt::empty())
        } else {
            poll.reregister(&c, Token(2), *set, PollOpt::empty())
        };
        r.unwrap();
    }
    let _ = TcpListener::bind(&any_local_addr()).unwrap();
}

/// Batched UDP with adversarial shapes: more messages than one `sendmmsg` takes, empty and
/// oversized datagrams, zero-length receive buffers, GSO with a zero or tiny segment size,
/// too many segments, a buffer over the datagram limit. Clean results or clean errors.
#[test]
fn batched_udp_with_adversarial_shapes() {
    use ferrio::udp::{RecvMeta, MAX_BATCH};
    let a = UdpSocket::bound(&any_local_addr()).unwrap();
    let b = UdpSocket::bound(&any_local_addr()).unwrap();
    let b_addr = b.local_addr().unwrap();
    let many: Vec<(Vec<u8>, std::net::SocketAddr)> = (0..3 * MAX_BATCH + 1)
        .map(|i| (vec![i as u8; i % 3], b_addr))
        .collect();
    let r = a.send_many(&many);
    assert!(
        matches!(r, Ok(Some(n)) if n >= 1 && n <= many.len()),
        "{r:?}"
    );
    let oversized = vec![(vec![0u8; 70_000], b_addr), (vec![1u8; 10], b_addr)];
    assert!(a.send_many(&oversized).is_err() || a.send_many(&oversized).is_ok());
    let mut bufs: Vec<Vec<u8>> = (0..MAX_BATCH * 2).map(|_| Vec::new()).collect();
    let mut meta = vec![RecvMeta::new(); MAX_BATCH * 2];
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(4);
    poll.register(&b, Token(1), EventSet::readable(), PollOpt::level())
        .unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(1), EventSet::readable())],
    );
    let r = b.recv_many(&mut bufs, &mut meta).unwrap();
    let n = r.expect("datagrams were sent");
    assert!((1..=MAX_BATCH * 2).contains(&n));
    for m in &meta[..n] {
        assert_eq!(m.len, 0, "an empty buffer holds nothing");
        assert_eq!(m.segments(&[]).count(), 1);
    }
    // Mismatched lengths: the shorter one counts.
    let mut one = [[0u8; 8]];
    let mut none: [RecvMeta; 0] = [];
    assert_eq!(b.recv_many(&mut one, &mut none).unwrap(), Some(0));
    if UdpSocket::gso_supported() {
        for seg in [0u16, 1, 8, u16::MAX] {
            let r = a.send_gso(&[7u8; 512], seg, &b_addr);
            let _ = r;
        }
        let r = a.send_gso(&[], 100, &b_addr);
        let _ = r;
        // More segments than every kernel takes (newer ones accept more than 64): sent or a
        // clean error, the kernel decides.
        let too_many = vec![0u8; 10 * 1024];
        let _ = a.send_gso(&too_many, 10, &b_addr);
        let too_big = vec![0u8; 70_000];
        assert!(a.send_gso(&too_big, 1400, &b_addr).is_err());
        let r = a.send_gso(&[1u8; 10], 4, &"[::1]:9".parse().unwrap());
        assert!(r.is_err(), "{r:?}");
    }
    // Still usable after all of it.
    a.send_to(b"ok", &b_addr).unwrap();
}
