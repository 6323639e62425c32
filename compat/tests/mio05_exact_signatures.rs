// mio 0.5.1: every public function and method called with values of exactly the types its
// signature names (typed variables, not literals that could take any integer type) and its
// result bound to exactly the type it returns. A program that stores results in typed fields
// or passes `usize` variables compiles only if these hold.
#![allow(dead_code, unused_variables)]
extern crate mio;

use std::io;
use std::net::{self, SocketAddr};
use std::os::unix::io::RawFd;
use std::path::Path;

use mio::tcp::{Shutdown, TcpListener, TcpStream};
use mio::udp::UdpSocket;
use mio::unix::{PipeReader, PipeWriter, UnixListener, UnixSocket, UnixStream};
use mio::util::{BoundedQueue, Slab};
use mio::{EventLoop, EventLoopConfig, EventSet, Evented, Handler, IoEvent, IpAddr, NotifyError,
          PollOpt, Sender, Timeout, TimerResult, Token, TryAccept, TryRead, TryWrite};

struct H;

impl Handler for H {
    type Timeout = String;
    type Message = Vec<u8>;
}

// Compiled, not called: the signatures of the event loop and its config.
fn event_loop_signatures(el: &mut EventLoop<H>, stream: &TcpStream, handler: &mut H) {
    let new: io::Result<EventLoop<H>> = EventLoop::new();
    let mut config: EventLoopConfig = EventLoopConfig::new();
    let capacity: usize = 16;
    let per_tick: usize = 8;
    let tick_ms: u64 = 10;
    let wheel: usize = 1024;
    let timers: usize = 4096;
    {
        let r: &mut EventLoopConfig = config.notify_capacity(capacity);
        let r: &mut EventLoopConfig = r.messages_per_tick(per_tick);
        let r: &mut EventLoopConfig = r.timer_tick_ms(tick_ms);
        let r: &mut EventLoopConfig = r.timer_wheel_size(wheel);
        let _: &mut EventLoopConfig = r.timer_capacity(timers);
    }
    let configured: io::Result<EventLoop<H>> = EventLoop::configured(config);
    let sender: Sender<Vec<u8>> = el.channel();
    let sent: Result<(), NotifyError<Vec<u8>>> = sender.send(vec![1]);
    let delay: u64 = 5;
    let timeout: TimerResult<Timeout> = el.timeout_ms(String::from("t"), delay);
    let t: Timeout = timeout.unwrap();
    let cleared: bool = el.clear_timeout(t);
    el.shutdown();
    let running: bool = el.is_running();
    let token: Token = Token(1);
    let interest: EventSet = EventSet::readable();
    let opts: PollOpt = PollOpt::edge();
    let r: io::Result<()> = el.register(stream, token, interest, opts);
    let r: io::Result<()> = el.reregister(stream, token, interest, opts);
    let r: io::Result<()> = el.deregister(stream);
    let r: io::Result<()> = el.run(handler);
    let ms: Option<usize> = Some(1);
    let r: io::Result<()> = el.run_once(handler, ms);
}

fn readiness_signatures() {
    let e: EventSet = EventSet::none();
    let bits: usize = e.bits();
    let p: PollOpt = PollOpt::empty();
    let bits: usize = p.bits();
    let n: usize = Token(3).as_usize();
    let ev: IoEvent = IoEvent::new(e, Token(n));
    let kind: EventSet = ev.kind;
    let token: Token = ev.token;
    let mut e2 = e;
    e2.insert(EventSet::hup());
    e2.remove(EventSet::hup());
    let mut p2 = p;
    p2.insert(PollOpt::oneshot());
    p2.remove(PollOpt::oneshot());
    let c: bool = e2.contains(e) && p2.contains(p);
}

fn tcp_signatures(addr: &SocketAddr, std_stream: net::TcpStream, std_listener: net::TcpListener) {
    let s: io::Result<TcpStream> = TcpStream::connect(addr);
    let s: io::Result<TcpStream> = TcpStream::connect_stream(std_stream, addr);
    let s = s.unwrap();
    let a: io::Result<SocketAddr> = s.peer_addr();
    let a: io::Result<SocketAddr> = s.local_addr();
    let c: io::Result<TcpStream> = s.try_clone();
    let r: io::Result<()> = s.shutdown(Shutdown::Both);
    let on: bool = true;
    let r: io::Result<()> = s.set_nodelay(on);
    let secs: Option<u32> = Some(10);
    let r: io::Result<()> = s.set_keepalive(secs);
    let r: io::Result<()> = s.take_socket_error();

    let l: io::Result<TcpListener> = TcpListener::bind(addr);
    let l: io::Result<TcpListener> = TcpListener::from_listener(std_listener, addr);
    let l = l.unwrap();
    let acc: io::Result<Option<(TcpStream, SocketAddr)>> = l.accept();
    let acc: io::Result<Option<TcpStream>> = TryAccept::accept(&l);
    let a: io::Result<SocketAddr> = l.local_addr();
    let c: io::Result<TcpListener> = l.try_clone();
    let r: io::Result<()> = l.take_socket_error();
}

fn udp_signatures(addr: &SocketAddr, group: &IpAddr) {
    let u: io::Result<UdpSocket> = UdpSocket::v4();
    let u: io::Result<UdpSocket> = UdpSocket::v6();
    let u: io::Result<UdpSocket> = UdpSocket::bound(addr);
    let u = u.unwrap();
    let r: io::Result<()> = u.bind(addr);
    let a: io::Result<SocketAddr> = u.local_addr();
    let c: io::Result<UdpSocket> = u.try_clone();
    let sent: io::Result<Option<usize>> = u.send_to(b"x", addr);
    let mut buf = [0u8; 8];
    let got: io::Result<Option<(usize, SocketAddr)>> = u.recv_from(&mut buf);
    let on: bool = false;
    let r: io::Result<()> = u.set_broadcast(on);
    let r: io::Result<()> = u.set_multicast_loop(on);
    let r: io::Result<()> = u.join_multicast(group);
    let r: io::Result<()> = u.leave_multicast(group);
    let ttl: i32 = 4;
    let r: io::Result<()> = u.set_multicast_time_to_live(ttl);
}

fn unix_signatures(path: &Path, fd: RawFd) {
    let s: io::Result<UnixSocket> = UnixSocket::stream();
    let s = s.unwrap();
    let r: io::Result<()> = s.bind(path);
    let c: io::Result<UnixSocket> = s.try_clone();
    let backlog: usize = 128;
    let l: io::Result<UnixListener> = s.listen(backlog);
    let connected: io::Result<(UnixStream, bool)> = UnixSocket::stream().unwrap().connect(path);
    let stream: io::Result<UnixStream> = UnixStream::connect(path);
    let mut stream = stream.unwrap();
    let c: io::Result<UnixStream> = stream.try_clone();
    let mut buf = [0u8; 8];
    let r: io::Result<(usize, Option<RawFd>)> = stream.read_recv_fd(&mut buf);
    let r: io::Result<Option<(usize, Option<RawFd>)>> = stream.try_read_recv_fd(&mut buf);
    let r: io::Result<usize> = stream.write_send_fd(b"x", fd);
    let r: io::Result<Option<usize>> = stream.try_write_send_fd(b"x", fd);
    let l: io::Result<UnixListener> = UnixListener::bind(path);
    let l = l.unwrap();
    let acc: io::Result<Option<UnixStream>> = l.accept();
    let acc: io::Result<Option<UnixStream>> = TryAccept::accept(&l);
    let c: io::Result<UnixListener> = l.try_clone();
    let p: io::Result<(PipeReader, PipeWriter)> = mio::unix::pipe();
}

fn try_write_signature<S: TryWrite>(s: &mut S) -> io::Result<Option<usize>> {
    s.try_write(b"four")
}

fn try_read_signature<S: TryRead>(s: &mut S, buf: &mut [u8]) -> io::Result<Option<usize>> {
    s.try_read(buf)
}

fn util_signatures() {
    let capacity: usize = 4;
    let mut slab: Slab<String> = Slab::new(capacity);
    let slab2: Slab<String> = Slab::new_starting_at(Token(2), capacity);
    let n: usize = slab.count();
    let e: bool = slab.is_empty();
    let r: usize = slab.remaining();
    let h: bool = slab.has_remaining();
    let t: Result<Token, String> = slab.insert(String::new());
    let t = t.unwrap();
    let c: bool = slab.contains(t);
    let g: Option<&String> = slab.get(t);
    let g: Option<&mut String> = slab.get_mut(t);
    let w: Option<Token> = slab.insert_with(|token: Token| format!("{:?}", token));
    let old: Option<String> = slab.replace(t, String::new());
    let rw: Result<(), ()> = slab.replace_with(t, |s: String| -> Option<String> { Some(s) });
    slab.retain(|s: &String| s.is_empty());
    let values: Vec<&String> = slab.iter().collect();
    let values: Vec<&mut String> = slab.iter_mut().collect();
    let gone: Option<String> = slab.remove(t);
    slab.grow(capacity);
    slab.clear();
    let q: BoundedQueue<u8> = BoundedQueue::with_capacity(capacity);
    let pushed: Result<(), u8> = q.push(1);
    let popped: Option<u8> = q.pop();
}

fn evented_bound<E: Evented>(_: &E) {}

#[test]
fn signatures_hold_and_a_few_run() {
    // The functions above are type checks; run the ones that need nothing from the network.
    readiness_signatures();
    util_signatures();
    let (r, w) = mio::unix::pipe().unwrap();
    evented_bound(&r);
    evented_bound(&w);
    let mut w = w;
    let mut r = r;
    assert_eq!(try_write_signature(&mut w).unwrap(), Some(4));
    let mut buf = [0u8; 4];
    assert_eq!(try_read_signature(&mut r, &mut buf).unwrap(), Some(4));
    assert_eq!(&buf, b"four");
    let _ = (event_loop_signatures as fn(&mut EventLoop<H>, &TcpStream, &mut H),
             tcp_signatures as fn(&SocketAddr, net::TcpStream, net::TcpListener),
             udp_signatures as fn(&SocketAddr, &IpAddr),
             unix_signatures as fn(&Path, RawFd));
}
