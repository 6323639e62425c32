//! TCP ping-pong: one byte back and forth over a loopback connection (`TCP_NODELAY`).
//!
//! * **2 threads**: client and server each in their own thread with their own poller; the
//!   server blocks in its poller between messages, so a round trip includes two thread
//!   wake-ups. Implementations provide an [`Endpoint`].
//! * **1 thread**: both ends on one poller in one thread ([`OnePoller`], shared with the
//!   callgrind binary); no thread ever sleeps, so this is the libraries' overhead plus syscalls.
//!
//! Figures: round trips per second (from the mean), p50 and p99 of single round trips.
//! Every implementation makes the same syscalls: edge-triggered readiness and one `recv` of
//! the single byte in flight (which drains the socket), except tokio, whose `read` tries the
//! socket again until it would block (one more `recv` per message), as tokio always does.
//!
//! To add ferrio's `EventLoop`: write `fn eventloop_two_threads(cfg: &Config) -> Sample` (a
//! `Handler` that echoes on the server side, and one that counts round trips with a
//! [`Recorder`] on the client side) and add it to [`benches`].

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};
use std::thread;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::one_poller::{
    self, EpollOnePoller, FerrioOnePoller, MioOnePoller, OnePoller, PollingOnePoller,
};
use crate::util::{tokio_runtime, Recorder};
use crate::{implementation, raw, Bench, Config, Sample, Show};

/// The ping-pong benches.
pub fn benches(_cfg: &Config) -> Vec<Bench> {
    vec![
        Bench::single(
            "pingpong 2 threads",
            Show::Rate("rt/s"),
            vec![
                implementation("ferrio", two_threads::<FerrioEnd>),
                implementation("epoll", two_threads::<EpollEnd>),
                implementation("mio", two_threads::<MioEnd>),
                implementation("polling", two_threads::<PollingEnd>),
                implementation("tokio", tokio_two_threads),
            ],
        ),
        Bench::single(
            "pingpong 1 thread",
            Show::Rate("rt/s"),
            vec![
                implementation("ferrio", one_thread::<FerrioOnePoller>),
                implementation("epoll", one_thread::<EpollOnePoller>),
                implementation("mio", one_thread::<MioOnePoller>),
                implementation("polling", one_thread::<PollingOnePoller>),
                implementation("tokio", tokio_one_thread),
            ],
        ),
    ]
}

const WARMUP: usize = 1_000;

fn rounds(cfg: &Config) -> usize {
    cfg.pick(20_000, 100_000)
}

fn pair() -> (TcpStream, TcpStream) {
    let listener = one_poller::loopback_listener().expect("bind");
    one_poller::tcp_pair(&listener).expect("tcp pair")
}

// ---------------------------------------------------------------------------------------------
// Two threads

/// One end of a connection with its own poller.
pub trait Endpoint: Sized {
    /// Registers `stream` (connected, non-blocking, `TCP_NODELAY`).
    fn new(stream: TcpStream) -> io::Result<Self>;
    /// Sends one byte.
    fn send(&mut self, byte: u8);
    /// Blocks in the poller until a byte arrives and returns it; `None` at end of stream.
    fn recv(&mut self) -> Option<u8>;
}

fn two_threads<E: Endpoint>(cfg: &Config) -> Sample {
    let rounds = rounds(cfg);
    let (client, server) = pair();
    let server = thread::spawn(move || {
        let mut end = E::new(server).expect("server endpoint");
        while let Some(b) = end.recv() {
            end.send(b);
        }
    });
    let mut client = E::new(client).expect("client endpoint");
    for i in 0..WARMUP {
        client.send(i as u8);
        client.recv().expect("echo");
    }
    let mut rec = Recorder::start(rounds);
    for i in 0..rounds {
        client.send(i as u8);
        assert_eq!(
            client.recv(),
            Some(i as u8),
            "ping-pong: wrong byte came back"
        );
        rec.record();
    }
    let sample = rec.finish();
    drop(client); // the server sees end of stream and exits
    server.join().expect("server thread");
    sample
}

const TOKEN: usize = 0;

/// ferrio `Poll`, edge-triggered.
struct FerrioEnd {
    poll: ferrio::Poll,
    events: ferrio::Events,
    stream: ferrio::tcp::TcpStream,
}

impl Endpoint for FerrioEnd {
    fn new(stream: TcpStream) -> io::Result<Self> {
        let poll = ferrio::Poll::new()?;
        let stream = ferrio::tcp::TcpStream::from_std(stream)?;
        poll.register(
            &stream,
            ferrio::Token(TOKEN),
            ferrio::EventSet::readable(),
            ferrio::PollOpt::edge(),
        )?;
        Ok(FerrioEnd {
            poll,
            events: ferrio::Events::with_capacity(8),
            stream,
        })
    }

    #[inline]
    fn send(&mut self, byte: u8) {
        use ferrio::TryWrite;
        assert_eq!(
            self.stream.try_write(&[byte]).expect("ferrio write"),
            Some(1)
        );
    }

    #[inline]
    fn recv(&mut self) -> Option<u8> {
        use ferrio::TryRead;
        let mut buf = [0u8; 1];
        loop {
            self.poll.poll(&mut self.events, None).expect("ferrio poll");
            for event in &self.events {
                if event.token() == ferrio::Token(TOKEN) && event.kind().is_readable() {
                    match self.stream.try_read(&mut buf) {
                        Ok(Some(0)) | Err(_) => return None,
                        Ok(Some(_)) => return Some(buf[0]),
                        Ok(None) => {}
                    }
                }
            }
        }
    }
}

/// Hand-written epoll, edge-triggered.
struct EpollEnd {
    epoll: raw::Epoll,
    events: [libc::epoll_event; 8],
    _stream: TcpStream,
    fd: RawFd,
}

impl Endpoint for EpollEnd {
    fn new(stream: TcpStream) -> io::Result<Self> {
        let epoll = raw::Epoll::new()?;
        let fd = stream.as_raw_fd();
        epoll.add(
            fd,
            libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET,
            TOKEN as u64,
        )?;
        Ok(EpollEnd {
            epoll,
            events: [raw::EMPTY_EVENT; 8],
            _stream: stream,
            fd,
        })
    }

    #[inline]
    fn send(&mut self, byte: u8) {
        assert_eq!(raw::send(self.fd, &[byte]).expect("send"), Some(1));
    }

    #[inline]
    fn recv(&mut self) -> Option<u8> {
        let mut buf = [0u8; 1];
        loop {
            let n = self.epoll.wait(&mut self.events, -1).expect("epoll_wait");
            for ev in &self.events[..n] {
                let (data, bits) = (ev.u64, ev.events);
                if data == TOKEN as u64 && bits & libc::EPOLLIN as u32 != 0 {
                    match raw::recv(self.fd, &mut buf) {
                        Ok(Some(0)) | Err(_) => return None,
                        Ok(Some(_)) => return Some(buf[0]),
                        Ok(None) => {}
                    }
                }
            }
        }
    }
}

/// mio `Poll` (edge-triggered).
struct MioEnd {
    poll: mio::Poll,
    events: mio::Events,
    stream: mio::net::TcpStream,
}

impl Endpoint for MioEnd {
    fn new(stream: TcpStream) -> io::Result<Self> {
        let poll = mio::Poll::new()?;
        let mut stream = mio::net::TcpStream::from_std(stream);
        poll.registry()
            .register(&mut stream, mio::Token(TOKEN), mio::Interest::READABLE)?;
        Ok(MioEnd {
            poll,
            events: mio::Events::with_capacity(8),
            stream,
        })
    }

    #[inline]
    fn send(&mut self, byte: u8) {
        assert_eq!((&self.stream).write(&[byte]).expect("mio write"), 1);
    }

    #[inline]
    fn recv(&mut self) -> Option<u8> {
        let mut buf = [0u8; 1];
        loop {
            self.poll.poll(&mut self.events, None).expect("mio poll");
            for event in self.events.iter() {
                if event.token() == mio::Token(TOKEN) && event.is_readable() {
                    match (&self.stream).read(&mut buf) {
                        Ok(0) => return None,
                        Ok(_) => return Some(buf[0]),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => return None,
                    }
                }
            }
        }
    }
}

/// `polling::Poller` in edge mode.
struct PollingEnd {
    poller: polling::Poller,
    events: polling::Events,
    stream: TcpStream,
}

impl Endpoint for PollingEnd {
    fn new(stream: TcpStream) -> io::Result<Self> {
        let poller = polling::Poller::new()?;
        // SAFETY: `Drop` deletes the stream from the poller before the stream closes.
        unsafe {
            poller.add_with_mode(
                &stream,
                polling::Event::readable(TOKEN),
                polling::PollMode::Edge,
            )?
        };
        Ok(PollingEnd {
            poller,
            events: polling::Events::new(),
            stream,
        })
    }

    #[inline]
    fn send(&mut self, byte: u8) {
        assert_eq!((&self.stream).write(&[byte]).expect("write"), 1);
    }

    #[inline]
    fn recv(&mut self) -> Option<u8> {
        let mut buf = [0u8; 1];
        loop {
            self.events.clear();
            self.poller
                .wait(&mut self.events, None)
                .expect("polling wait");
            for event in self.events.iter() {
                if event.key == TOKEN && event.readable {
                    match (&self.stream).read(&mut buf) {
                        Ok(0) => return None,
                        Ok(_) => return Some(buf[0]),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => return None,
                    }
                }
            }
        }
    }
}

impl Drop for PollingEnd {
    fn drop(&mut self) {
        let _ = self.poller.delete(&self.stream);
    }
}

/// tokio: a current-thread runtime in each thread.
fn tokio_two_threads(cfg: &Config) -> Sample {
    let rounds = rounds(cfg);
    let (client, server) = pair();
    let server = thread::spawn(move || {
        tokio_runtime().block_on(async move {
            let mut s = tokio::net::TcpStream::from_std(server).expect("tokio stream");
            let mut buf = [0u8; 1];
            while let Ok(1) = s.read(&mut buf).await {
                s.write_all(&buf).await.expect("tokio write");
            }
        })
    });
    let sample = tokio_runtime().block_on(async move {
        let mut c = tokio::net::TcpStream::from_std(client).expect("tokio stream");
        tokio_client(&mut c, rounds).await
    });
    server.join().expect("server thread");
    sample
}

/// The client side of tokio ping-pong: warm-up, then `rounds` measured round trips.
async fn tokio_client(c: &mut tokio::net::TcpStream, rounds: usize) -> Sample {
    let mut buf = [0u8; 1];
    for i in 0..WARMUP {
        c.write_all(&[i as u8]).await.expect("tokio write");
        c.read_exact(&mut buf).await.expect("tokio read");
    }
    let mut rec = Recorder::start(rounds);
    for i in 0..rounds {
        c.write_all(&[i as u8]).await.expect("tokio write");
        c.read_exact(&mut buf).await.expect("tokio read");
        assert_eq!(buf[0], i as u8, "ping-pong: wrong byte came back");
        rec.record();
    }
    rec.finish()
}

// ---------------------------------------------------------------------------------------------
// One thread

fn one_thread<P: OnePoller>(cfg: &Config) -> Sample {
    let rounds = rounds(cfg);
    let (client, server) = pair();
    let mut pair = P::new(client, server).expect("one-poller pair");
    for i in 0..WARMUP {
        pair.round_trip(i as u8);
    }
    let mut rec = Recorder::start(rounds);
    for i in 0..rounds {
        pair.round_trip(i as u8);
        rec.record();
    }
    rec.finish()
}

/// tokio: the server is a task on the same current-thread runtime as the client.
fn tokio_one_thread(cfg: &Config) -> Sample {
    let rounds = rounds(cfg);
    let (client, server) = pair();
    let rt = tokio_runtime();
    rt.block_on(async move {
        let mut s = tokio::net::TcpStream::from_std(server).expect("tokio stream");
        let mut c = tokio::net::TcpStream::from_std(client).expect("tokio stream");
        let echo = tokio::spawn(async move {
            let mut buf = [0u8; 1];
            while let Ok(1) = s.read(&mut buf).await {
                s.write_all(&buf).await.expect("tokio write");
            }
        });
        let sample = tokio_client(&mut c, rounds).await;
        drop(c);
        echo.await.expect("echo task");
        sample
    })
}
