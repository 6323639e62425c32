// mio 0.5: UDP sockets, `bound` (which, like std, refuses a port in use), slices in and out,
// `Option` for would-block, and the multicast calls taking an `IpAddr`.
extern crate mio;

use std::io;
use std::str::FromStr;

use mio::udp::UdpSocket;
use mio::{EventLoop, EventSet, Handler, IpAddr, Ipv4Addr, PollOpt, Token};

const RX: Token = Token(0);

struct Receiver {
    socket: UdpSocket,
    got: Option<(Vec<u8>, ::std::net::SocketAddr)>,
}

impl Handler for Receiver {
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<Receiver>, token: Token, events: EventSet) {
        assert_eq!(token, RX);
        assert!(events.is_readable());
        let mut buf = [0; 1500];
        if let Some((n, from)) = self.socket.recv_from(&mut buf).unwrap() {
            self.got = Some((buf[..n].to_vec(), from));
            event_loop.shutdown();
        }
    }
}

#[test]
fn datagram_through_the_event_loop() {
    let rx = UdpSocket::bound(&"127.0.0.1:0".parse().unwrap()).unwrap();
    let tx = UdpSocket::v4().unwrap();
    tx.bind(&"127.0.0.1:0".parse().unwrap()).unwrap();
    tx.set_broadcast(true).unwrap();
    let target = rx.local_addr().unwrap();
    assert_eq!(tx.send_to(b"hello", &target).unwrap(), Some(5));

    let mut event_loop = EventLoop::new().unwrap();
    event_loop.register(&rx, RX, EventSet::readable(), PollOpt::level()).unwrap();
    let mut receiver = Receiver { socket: rx, got: None };
    event_loop.run(&mut receiver).unwrap();
    let (data, from) = receiver.got.unwrap();
    assert_eq!(&data[..], b"hello");
    assert_eq!(from, tx.local_addr().unwrap());
    // Nothing more: would block is None.
    let mut buf = [0; 16];
    assert!(receiver.socket.recv_from(&mut buf).unwrap().is_none());
}

#[test]
fn bound_refuses_a_port_in_use() {
    let first = UdpSocket::bound(&"127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = first.local_addr().unwrap();
    let err = UdpSocket::bound(&addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    let clone = first.try_clone().unwrap();
    assert_eq!(clone.local_addr().unwrap(), addr);
}

#[test]
fn multicast_with_ip_addr() {
    let socket = UdpSocket::bound(&"0.0.0.0:0".parse().unwrap()).unwrap();
    let group = IpAddr::from_str("239.255.10.20").unwrap();
    socket.join_multicast(&group).unwrap();
    socket.set_multicast_loop(true).unwrap();
    socket.set_multicast_time_to_live(1).unwrap();
    socket.leave_multicast(&group).unwrap();
    // The original's own address type, built by hand.
    let group = IpAddr::V4(Ipv4Addr::new(239, 255, 10, 21));
    socket.join_multicast(&group).unwrap();
    socket.leave_multicast(&group).unwrap();
    // Leaving a group never joined is an error.
    assert!(socket.leave_multicast(&group).is_err());
}
