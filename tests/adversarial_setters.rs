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
