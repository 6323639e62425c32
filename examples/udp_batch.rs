//! Packets per second over loopback: 64-byte datagrams sent and received one per syscall
//! (`send_to`/`recv_from`) versus batched (`send_many`/`recv_many`, up to 64 per syscall),
//! and, where the kernel has it, GSO sends (`send_gso`) with and without GRO receives.
//!
//! One thread sends a burst of 64 datagrams, then receives them (waiting on a `Poll` only if
//! they are not all there yet), so every mode moves the same datagrams through the same two
//! sockets and nothing is lost. Single and batched runs alternate three times, 400 ms each,
//! and the best of each is reported (the least disturbed by other load on the machine); the
//! whole run takes about four seconds.
//!
//! Run with `cargo run --release --example udp_batch`.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ferrio::udp::{RecvMeta, UdpSocket, MAX_BATCH};
use ferrio::{EventSet, Events, Poll, PollOpt, Token};

const SIZE: usize = 64;
const BURST: usize = MAX_BATCH;
const RUN: Duration = Duration::from_millis(400);
const ROUNDS: usize = 3;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    /// `send_to` + `recv_from`, one datagram per syscall.
    Single,
    /// `send_many` + `recv_many`.
    Batched,
    /// `send_gso` (one syscall per burst) + `recv_many`.
    Gso,
    /// `send_gso` + `recv_many` on a GRO socket (one buffer per burst).
    GsoGro,
}

struct Bench {
    tx: UdpSocket,
    rx: UdpSocket,
    to: SocketAddr,
    poll: Poll,
    events: Events,
    msgs: Vec<([u8; SIZE], SocketAddr)>,
    gso_buf: Vec<u8>,
    bufs: Vec<[u8; 2048]>,
    big: Vec<u8>,
    meta: [RecvMeta; MAX_BATCH],
}

impl Bench {
    fn new() -> io::Result<Bench> {
        let tx = UdpSocket::bound(&"127.0.0.1:0".parse().unwrap())?;
        let rx = UdpSocket::bound(&"127.0.0.1:0".parse().unwrap())?;
        rx.set_recv_buffer_size(4 << 20)?;
        let to = rx.local_addr()?;
        let poll = Poll::new()?;
        poll.register(&rx, Token(0), EventSet::readable(), PollOpt::level())?;
        let msgs = (0..BURST).map(|i| ([i as u8; SIZE], to)).collect();
        let gso_buf = (0..BURST * SIZE).map(|i| (i / SIZE) as u8).collect();
        Ok(Bench {
            tx,
            rx,
            to,
            poll,
            events: Events::with_capacity(4),
            msgs,
            gso_buf,
            bufs: vec![[0; 2048]; MAX_BATCH],
            big: vec![0; 65536],
            meta: [RecvMeta::new(); MAX_BATCH],
        })
    }

    /// Sends one burst of `BURST` datagrams and receives all of them.
    fn burst(&mut self, mode: Mode) -> io::Result<()> {
        match mode {
            Mode::Single => {
                for (payload, to) in &self.msgs {
                    self.tx.send_to(payload, to)?.expect("send buffer full");
                }
            }
            Mode::Batched => {
                let mut sent = 0;
                while sent < BURST {
                    sent += self
                        .tx
                        .send_many(&self.msgs[sent..])?
                        .expect("send buffer full");
                }
            }
            Mode::Gso | Mode::GsoGro => {
                self.tx
                    .send_gso(&self.gso_buf, SIZE as u16, &self.to)?
                    .expect("send buffer full");
            }
        }
        let mut received = 0;
        while received < BURST {
            let got = match mode {
                Mode::Single => self.rx.recv_from(&mut self.bufs[0])?.map(|(n, _)| {
                    debug_assert_eq!(n, SIZE);
                    1
                }),
                Mode::Batched | Mode::Gso => self.rx.recv_many(&mut self.bufs, &mut self.meta)?,
                Mode::GsoGro => self
                    .rx
                    .recv_many(&mut [&mut self.big[..]], &mut self.meta[..1])?
                    .map(|_| self.meta[0].len / SIZE),
            };
            match got {
                Some(n) => received += n,
                None => {
                    self.poll
                        .poll(&mut self.events, Some(Duration::from_secs(1)))?;
                }
            }
        }
        assert_eq!(received, BURST, "lost or extra datagrams");
        Ok(())
    }

    /// Runs `mode` for about `RUN` and returns datagrams per second.
    fn measure(&mut self, mode: Mode) -> io::Result<f64> {
        if mode == Mode::GsoGro {
            self.rx.set_gro(true)?;
        }
        for _ in 0..100 {
            self.burst(mode)?;
        }
        let start = Instant::now();
        let mut bursts = 0u64;
        while start.elapsed() < RUN {
            for _ in 0..16 {
                self.burst(mode)?;
            }
            bursts += 16;
        }
        Ok((bursts * BURST as u64) as f64 / start.elapsed().as_secs_f64())
    }
}

fn main() -> io::Result<()> {
    let mut bench = Bench::new()?;
    println!(
        "{SIZE}-byte datagrams over 127.0.0.1, bursts of {BURST}, one thread sends and receives:"
    );
    let (mut single, mut batched) = (0f64, 0f64);
    for round in 1..=ROUNDS {
        let s = bench.measure(Mode::Single)?;
        let b = bench.measure(Mode::Batched)?;
        println!(
            "  round {round}: single {s:>10.0}/s, batched {b:>10.0}/s ({:.2}x)",
            b / s
        );
        single = single.max(s);
        batched = batched.max(b);
    }
    println!("  send_to + recv_from (1 per syscall):   {single:>12.0} datagrams/s (best)");
    println!("  send_many + recv_many (batched):       {batched:>12.0} datagrams/s (best)");
    println!(
        "  batched / single:                      {:>12.2}x",
        batched / single
    );
    let gro_ok = bench.rx.set_gro(false).is_ok();
    if UdpSocket::gso_supported() && gro_ok {
        // GRO is off until the last mode turns it on.
        let gso = bench.measure(Mode::Gso)?;
        println!(
            "  send_gso + recv_many:                  {:>12.0} datagrams/s ({:.2}x single)",
            gso,
            gso / single
        );
        let gro = bench.measure(Mode::GsoGro)?;
        println!(
            "  send_gso + recv_many with GRO:         {:>12.0} datagrams/s ({:.2}x single)",
            gro,
            gro / single
        );
    } else {
        println!("  (GSO/GRO not supported by this kernel: skipped)");
    }
    Ok(())
}
