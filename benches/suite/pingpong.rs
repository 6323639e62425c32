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
//! **ferrio EventLoop**: the same, driven by ferrio's `EventLoop` and a `Handler`. With 2
//! threads, each side runs its own loop with `run`: the server's handler echoes, the client's
//! handler checks the echo, records the round trip and sends the next byte from `ready`. With
//! 1 thread, both ends are on one loop ([`EventLoopOnePoller`]) and each round trip calls
//! `run_once` until the echo is back; the `+timer` and `+channel` rows add one pending timeout
//! an hour away, or a live but idle channel `Sender`, to show what those features cost per
//! iteration when in use (`scripts/callgrind.sh` counts the same in instructions).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};
use std::thread;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::one_poller::{
    self, EpollOnePoller, EventLoopOnePoller, FerrioOnePoller, MioOnePoller, OnePoller,
    PollingOnePoller, CHANNEL, PLAIN, TIMER,
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
                implementation("ferrio EventLoop", eventloop_two_threads),
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
                implementation("ferrio EventLoop", one_thread::<EventLoopOnePoller<PLAIN>>),
                implementation(
                    "ferrio EventLoop+timer",
                    one_thread::<EventLoopOnePoller<TIMER>>,
                ),
                implementation(
                    "ferrio EventLoop+channel",
                    one_thread::<EventLoopOnePoller<CHANNEL>>,
                ),
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
    cfg.pick(10_000, 100_000)
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

/// ferrio `EventLoop`: each side runs its own loop in its own thread.
fn eventloop_two_threads(cfg: &Config) -> Sample {
    let rounds = rounds(cfg);
    let (client, server) = pair();
    let server = thread::spawn(move || {
        let mut event_loop = ferrio::EventLoop::new().expect("server loop");
        let stream = ferrio::tcp::TcpStream::from_std(server).expect("ferrio stream");
        event_loop
            .register(
                &stream,
                ferrio::Token(TOKEN),
                ferrio::EventSet::readable(),
                ferrio::PollOpt::edge(),
            )
            .expect("register");
        event_loop
            .run(&mut EchoHandler { stream })
            .expect("server loop");
    });
    let mut event_loop = ferrio::EventLoop::new().expect("client loop");
    let stream = ferrio::tcp::TcpStream::from_std(client).expect("ferrio stream");
    event_loop
        .register(
            &stream,
            ferrio::Token(TOKEN),
            ferrio::EventSet::readable(),
            ferrio::PollOpt::edge(),
        )
        .expect("register");
    let mut client = ClientHandler {
        stream,
        sent: 0,
        warmup_left: WARMUP,
        rounds_left: rounds,
        recorder: None,
    };
    client.send_next();
    event_loop.run(&mut client).expect("client loop");
    let sample = client.recorder.take().expect("measured").finish();
    drop(client); // the server sees end of stream and shuts its loop down
    server.join().expect("server thread");
    sample
}

/// The server side: reads the byte in flight and sends it back; end of stream stops the loop.
struct EchoHandler {
    stream: ferrio::tcp::TcpStream,
}

impl ferrio::Handler for EchoHandler {
    type Timeout = ();
    type Message = ();

    #[inline]
    fn ready(
        &mut self,
        event_loop: &mut ferrio::EventLoop<Self>,
        _token: ferrio::Token,
        events: ferrio::EventSet,
    ) {
        use ferrio::{TryRead, TryWrite};
        if !events.is_readable() && !events.is_hup() {
            return;
        }
        let mut buf = [0u8; 1];
        match self.stream.try_read(&mut buf) {
            Ok(Some(0)) | Err(_) => event_loop.shutdown(),
            Ok(Some(_)) => assert_eq!(self.stream.try_write(&buf).expect("ferrio write"), Some(1)),
            Ok(None) => {}
        }
    }
}

/// The client side: checks each echo, records the round trip (after the warm-up) and sends
/// the next byte; shuts its loop down after the last measured round trip.
struct ClientHandler {
    stream: ferrio::tcp::TcpStream,
    /// Bytes sent so far (the byte value is this count, truncated).
    sent: usize,
    warmup_left: usize,
    rounds_left: usize,
    /// Started when the warm-up ends.
    recorder: Option<Recorder>,
}

impl ClientHandler {
    #[inline]
    fn send_next(&mut self) {
        use ferrio::TryWrite;
        let byte = self.sent as u8;
        assert_eq!(
            self.stream.try_write(&[byte]).expect("ferrio write"),
            Some(1)
        );
        self.sent += 1;
    }
}

impl ferrio::Handler for ClientHandler {
    type Timeout = ();
    type Message = ();

    #[inline]
    fn ready(
        &mut self,
        event_loop: &mut ferrio::EventLoop<Self>,
        _token: ferrio::Token,
        events: ferrio::EventSet,
    ) {
        use ferrio::TryRead;
        if !events.is_readable() {
            return;
        }
        let mut buf = [0u8; 1];
        match self.stream.try_read(&mut buf).expect("ferrio read") {
            None => return,
            Some(n) => {
                assert_eq!(n, 1, "ping-pong: server closed");
                assert_eq!(
                    buf[0],
                    (self.sent - 1) as u8,
                    "ping-pong: wrong byte came back"
                );
            }
        }
        if self.warmup_left > 0 {
            self.warmup_left -= 1;
            if self.warmup_left == 0 {
                self.recorder = Some(Recorder::start(self.rounds_left));
            }
        } else {
            self.recorder.as_mut().expect("recording").record();
            self.rounds_left -= 1;
            if self.rounds_left == 0 {
                event_loop.shutdown();
                return;
            }
        }
        self.send_next();
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
