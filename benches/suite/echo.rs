//! Echo throughput: 1, 64 and 1,024 connections to an echo server thread.
//!
//! The client thread is the same for every implementation (hand-written level-triggered
//! epoll): each connection sends a 64-byte message and sends the next one when the echo of
//! the previous one is complete, for a fixed time. Figures: messages per second (client side)
//! and the server thread's CPU time per message echoed (`CLOCK_THREAD_CPUTIME_ID`, from the
//! moment the server is ready to when it has seen every connection close).
//!
//! Servers register every connection edge-triggered and, for each readable event, read until
//! the socket would block and write back what they read. With one message in flight per
//! connection a socket's send buffer never fills, so a server that cannot write everything
//! at once has found a bug and panics.
//!
//! An implementation is a [`ServeFn`]. **ferrio EventLoop** is ferrio's `EventLoop` running a
//! `Handler` that echoes from `ready` and shuts the loop down when every connection has
//! closed.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::util::{thread_cpu_ns, tokio_runtime};
use crate::{allocations, one_poller, raw, Bench, Config, Implementation, Row, Sample, Show};

const MESSAGE: usize = 64;
const READ_BUF: usize = 4096;

/// An echo server: serves `streams` until every one has been closed by the client, calls
/// `ctx.ready()` once everything is registered, and returns the number of bytes echoed.
pub type ServeFn = fn(streams: Vec<TcpStream>, ctx: &ServerCtx) -> u64;

/// The echo benches, one per connection count.
pub fn benches(_cfg: &Config) -> Vec<Bench> {
    let servers: [(&'static str, ServeFn); 6] = [
        ("ferrio", serve_ferrio),
        ("ferrio EventLoop", serve_eventloop),
        ("epoll", serve_epoll),
        ("mio", serve_mio),
        ("polling", serve_polling),
        ("tokio", serve_tokio),
    ];
    [1usize, 64, 1024]
        .into_iter()
        .map(|conns| Bench {
            rows: vec![Row {
                name: format!("echo {conns} conn"),
                show: Show::Rate("msg/s"),
            }],
            extra: Some("server CPU/msg"),
            implementations: servers
                .iter()
                .map(|&(name, serve)| Implementation {
                    name,
                    run: Box::new(move |cfg| vec![run(cfg, conns, serve)]),
                })
                .collect(),
        })
        .collect()
}

/// Handed to the server thread: says when the server is ready and starts its CPU clock.
pub struct ServerCtx {
    barrier: Arc<Barrier>,
    cpu_start: std::cell::Cell<u64>,
}

impl ServerCtx {
    /// Call once, after registering every connection and before serving.
    pub fn ready(&self) {
        self.barrier.wait();
        self.cpu_start.set(thread_cpu_ns());
    }
}

fn run(cfg: &Config, conns: usize, serve: ServeFn) -> Sample {
    let duration = Duration::from_millis(cfg.pick(200, 1000));
    let listener = one_poller::loopback_listener().expect("bind");
    let (clients, servers): (Vec<TcpStream>, Vec<TcpStream>) = (0..conns)
        .map(|_| one_poller::tcp_pair(&listener).expect("tcp pair"))
        .unzip();
    drop(listener);

    let barrier = Arc::new(Barrier::new(2));
    let server_barrier = Arc::clone(&barrier);
    let server = thread::spawn(move || {
        let ctx = ServerCtx {
            barrier: server_barrier,
            cpu_start: std::cell::Cell::new(0),
        };
        let bytes = serve(servers, &ctx);
        (bytes, thread_cpu_ns() - ctx.cpu_start.get())
    });

    // The client: level-triggered epoll, one message in flight per connection.
    let epoll = raw::Epoll::new().expect("epoll");
    for (i, c) in clients.iter().enumerate() {
        epoll
            .add(c.as_raw_fd(), libc::EPOLLIN, i as u64)
            .expect("epoll add");
    }
    let fds: Vec<i32> = clients.iter().map(|c| c.as_raw_fd()).collect();
    let mut received = vec![0usize; conns];
    let mut events = vec![raw::EMPTY_EVENT; 1024];
    let mut buf = [0u8; READ_BUF];
    let message = [0xA5u8; MESSAGE];
    barrier.wait();

    let allocs_at_start = allocations();
    let start = Instant::now();
    let deadline = start + duration;
    for &fd in &fds {
        send_all(fd, &message);
    }
    let mut completed = 0u64;
    let mut now = start;
    while now < deadline {
        let n = epoll.wait(&mut events, 100).expect("epoll_wait");
        for ev in &events[..n] {
            let i = ev.u64 as usize;
            match raw::recv(fds[i], &mut buf).expect("client recv") {
                Some(0) => panic!("echo server closed connection {i}"),
                Some(r) => {
                    received[i] += r;
                    if received[i] >= MESSAGE {
                        assert_eq!(received[i], MESSAGE, "echo: more bytes than sent");
                        received[i] = 0;
                        completed += 1;
                        send_all(fds[i], &message);
                    }
                }
                None => {}
            }
        }
        now = Instant::now();
    }
    let elapsed = now - start;
    let allocs = allocations() - allocs_at_start;
    drop(clients); // every connection closes; the server returns
    let (bytes, server_cpu) = server.join().expect("server thread");
    let echoed = (bytes / MESSAGE as u64).max(1);
    Sample {
        ns_per_op: elapsed.as_nanos() as f64 / completed.max(1) as f64,
        p50_ns: None,
        p99_ns: None,
        extra_ns: Some(server_cpu as f64 / echoed as f64),
        allocs_per_op: allocs as f64 / completed.max(1) as f64,
        syscalls: None,
        failure: None,
    }
}

fn send_all(fd: i32, msg: &[u8]) {
    match raw::send(fd, msg) {
        Ok(Some(n)) if n == msg.len() => {}
        other => panic!("echo client: 64-byte send did not complete at once: {other:?}"),
    }
}

/// Echoes what `read` returns until it would block. Returns `(bytes echoed, still open)`.
#[inline]
fn echo_until_would_block(
    buf: &mut [u8],
    mut read: impl FnMut(&mut [u8]) -> io::Result<usize>,
    mut write: impl FnMut(&[u8]) -> io::Result<usize>,
) -> (u64, bool) {
    let mut echoed = 0;
    loop {
        match read(buf) {
            Ok(0) => return (echoed, false),
            Ok(n) => match write(&buf[..n]) {
                Ok(w) if w == n => echoed += n as u64,
                Ok(_) => panic!("echo server: partial write with one message in flight"),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    panic!("echo server: send buffer full with one message in flight")
                }
                Err(_) => return (echoed, false),
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return (echoed, true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return (echoed, false),
        }
    }
}

fn serve_ferrio(streams: Vec<TcpStream>, ctx: &ServerCtx) -> u64 {
    let mut poll = ferrio::Poll::new().expect("ferrio poll");
    let mut conns: Vec<Option<ferrio::tcp::TcpStream>> = Vec::with_capacity(streams.len());
    for (i, s) in streams.into_iter().enumerate() {
        let s = ferrio::tcp::TcpStream::from_std(s).expect("ferrio stream");
        poll.register(
            &s,
            ferrio::Token(i),
            ferrio::EventSet::readable(),
            ferrio::PollOpt::edge(),
        )
        .expect("ferrio register");
        conns.push(Some(s));
    }
    let mut events = ferrio::Events::with_capacity(1024);
    let mut buf = [0u8; READ_BUF];
    let mut open = conns.len();
    let mut bytes = 0;
    ctx.ready();
    while open > 0 {
        poll.poll(&mut events, None).expect("ferrio poll");
        for event in &events {
            let i = event.token().0;
            let Some(s) = conns[i].as_ref() else { continue };
            let (n, still_open) =
                echo_until_would_block(&mut buf, |b| (&*s).read(b), |b| (&*s).write(b));
            bytes += n;
            if !still_open {
                conns[i] = None; // dropping deregisters and closes
                open -= 1;
            }
        }
    }
    bytes
}

/// The EventLoop echo server's handler: connection `i` is registered under `Token(i)`.
struct EchoServer {
    conns: Vec<Option<ferrio::tcp::TcpStream>>,
    buf: [u8; READ_BUF],
    open: usize,
    bytes: u64,
}

impl ferrio::Handler for EchoServer {
    type Timeout = ();
    type Message = ();

    fn ready(
        &mut self,
        event_loop: &mut ferrio::EventLoop<Self>,
        token: ferrio::Token,
        _events: ferrio::EventSet,
    ) {
        let i = token.0;
        let Some(s) = self.conns[i].as_ref() else {
            return;
        };
        let (n, still_open) =
            echo_until_would_block(&mut self.buf, |b| (&*s).read(b), |b| (&*s).write(b));
        self.bytes += n;
        if !still_open {
            self.conns[i] = None; // dropping deregisters and closes
            self.open -= 1;
            if self.open == 0 {
                event_loop.shutdown();
            }
        }
    }
}

fn serve_eventloop(streams: Vec<TcpStream>, ctx: &ServerCtx) -> u64 {
    let mut event_loop = ferrio::EventLoop::new().expect("ferrio event loop");
    let mut conns = Vec::with_capacity(streams.len());
    for (i, s) in streams.into_iter().enumerate() {
        let s = ferrio::tcp::TcpStream::from_std(s).expect("ferrio stream");
        event_loop
            .register(
                &s,
                ferrio::Token(i),
                ferrio::EventSet::readable(),
                ferrio::PollOpt::edge(),
            )
            .expect("ferrio register");
        conns.push(Some(s));
    }
    let mut server = EchoServer {
        open: conns.len(),
        conns,
        buf: [0u8; READ_BUF],
        bytes: 0,
    };
    ctx.ready();
    event_loop.run(&mut server).expect("ferrio event loop");
    server.bytes
}

fn serve_epoll(streams: Vec<TcpStream>, ctx: &ServerCtx) -> u64 {
    let epoll = raw::Epoll::new().expect("epoll");
    for (i, s) in streams.iter().enumerate() {
        epoll
            .add(
                s.as_raw_fd(),
                libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET,
                i as u64,
            )
            .expect("epoll add");
    }
    let fds: Vec<i32> = streams.iter().map(|s| s.as_raw_fd()).collect();
    let mut conns: Vec<Option<TcpStream>> = streams.into_iter().map(Some).collect();
    let mut events = vec![raw::EMPTY_EVENT; 1024];
    let mut buf = [0u8; READ_BUF];
    let mut open = conns.len();
    let mut bytes = 0;
    ctx.ready();
    while open > 0 {
        let n = epoll.wait(&mut events, -1).expect("epoll_wait");
        for ev in &events[..n] {
            let i = ev.u64 as usize;
            if conns[i].is_none() {
                continue;
            }
            let fd = fds[i];
            let (n, still_open) = echo_until_would_block(
                &mut buf,
                |b| raw::recv(fd, b)?.ok_or(io::ErrorKind::WouldBlock.into()),
                |b| raw::send(fd, b)?.ok_or(io::ErrorKind::WouldBlock.into()),
            );
            bytes += n;
            if !still_open {
                conns[i] = None; // closing removes it from the epoll set
                open -= 1;
            }
        }
    }
    bytes
}

fn serve_mio(streams: Vec<TcpStream>, ctx: &ServerCtx) -> u64 {
    let mut poll = mio::Poll::new().expect("mio poll");
    let mut conns: Vec<Option<mio::net::TcpStream>> = Vec::with_capacity(streams.len());
    for (i, s) in streams.into_iter().enumerate() {
        let mut s = mio::net::TcpStream::from_std(s);
        poll.registry()
            .register(&mut s, mio::Token(i), mio::Interest::READABLE)
            .expect("mio register");
        conns.push(Some(s));
    }
    let mut events = mio::Events::with_capacity(1024);
    let mut buf = [0u8; READ_BUF];
    let mut open = conns.len();
    let mut bytes = 0;
    ctx.ready();
    while open > 0 {
        poll.poll(&mut events, None).expect("mio poll");
        for event in events.iter() {
            let i = event.token().0;
            let Some(s) = conns[i].as_ref() else { continue };
            let (n, still_open) =
                echo_until_would_block(&mut buf, |b| (&*s).read(b), |b| (&*s).write(b));
            bytes += n;
            if !still_open {
                if let Some(mut s) = conns[i].take() {
                    let _ = poll.registry().deregister(&mut s);
                }
                open -= 1;
            }
        }
    }
    bytes
}

fn serve_polling(streams: Vec<TcpStream>, ctx: &ServerCtx) -> u64 {
    let poller = polling::Poller::new().expect("poller");
    for (i, s) in streams.iter().enumerate() {
        // SAFETY: every stream is deleted from the poller before it is dropped (below, and
        // at the end for any still open).
        unsafe {
            poller
                .add_with_mode(s, polling::Event::readable(i), polling::PollMode::Edge)
                .expect("polling add")
        };
    }
    let mut conns: Vec<Option<TcpStream>> = streams.into_iter().map(Some).collect();
    let mut events = polling::Events::with_capacity(std::num::NonZeroUsize::new(1024).unwrap());
    let mut buf = [0u8; READ_BUF];
    let mut open = conns.len();
    let mut bytes = 0;
    ctx.ready();
    while open > 0 {
        events.clear();
        poller.wait(&mut events, None).expect("polling wait");
        for event in events.iter() {
            let i = event.key;
            let Some(s) = conns[i].as_ref() else { continue };
            let (n, still_open) =
                echo_until_would_block(&mut buf, |b| (&*s).read(b), |b| (&*s).write(b));
            bytes += n;
            if !still_open {
                if let Some(s) = conns[i].take() {
                    let _ = poller.delete(&s);
                }
                open -= 1;
            }
        }
    }
    bytes
}

fn serve_tokio(streams: Vec<TcpStream>, ctx: &ServerCtx) -> u64 {
    let rt = tokio_runtime();
    let tasks: Vec<_> = rt.block_on(async {
        streams
            .into_iter()
            .map(|s| {
                let mut s = tokio::net::TcpStream::from_std(s).expect("tokio stream");
                tokio::spawn(async move {
                    let mut buf = [0u8; READ_BUF];
                    let mut bytes = 0u64;
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return bytes,
                            Ok(n) => {
                                if s.write_all(&buf[..n]).await.is_err() {
                                    return bytes;
                                }
                                bytes += n as u64;
                            }
                        }
                    }
                })
            })
            .collect()
    });
    ctx.ready();
    rt.block_on(async {
        let mut bytes = 0;
        for t in tasks {
            bytes += t.await.expect("echo task");
        }
        bytes
    })
}
