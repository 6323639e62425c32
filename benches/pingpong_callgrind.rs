//! Single-threaded, one-poller TCP ping-pong for counting instructions under callgrind.
//!
//! ```sh
//! cargo bench -p ferrio-benches --bench pingpong_callgrind -- ferrio 10000   # or epoll, mio, polling
//! scripts/callgrind.sh                                                        # instructions per round trip
//! ```
//!
//! Implementations: `epoll` (hand-written, `send`/`recv`), `mio` (std `Read`/`Write`),
//! `polling`, `ferrio` (`Poll`), and ferrio's `EventLoop` (a `Handler` reads and echoes; the
//! round trip drives `run_once`) in three set-ups: `eventloop` (nothing else in use),
//! `eventloop-timers` (one timeout pending an hour away, so every iteration reads the clock and
//! consults the timer) and `eventloop-channel` (the loop's channel created and a `Sender` alive
//! but idle, so every iteration runs the channel's sleep/wake handshake). The ferrio ones read
//! and write with `TryRead::try_read` / `TryWrite::try_write`; the same names with `-std` use
//! std's `Read::read` / `Write::write`, as mio users write it.
//!
//! Both ends of one loopback connection live on one poller in one thread (see
//! `common/one_poller.rs`), so the work per round trip is the same every time and callgrind's
//! count is repeatable, unlike wall time. `scripts/callgrind.sh` runs this at two round-trip
//! counts and divides the difference, which cancels the start-up and setup instructions.

use std::process::ExitCode;

#[path = "common/raw.rs"]
mod raw;

#[path = "common/one_poller.rs"]
mod one_poller;

use one_poller::{
    EpollOnePoller, EventLoopOnePoller, FerrioOnePoller, MioOnePoller, OnePoller, PollingOnePoller,
    CHANNEL, PLAIN, STD, TIMER, TRY,
};

fn run<P: OnePoller>(rounds: u64) -> std::io::Result<()> {
    let listener = one_poller::loopback_listener()?;
    let (client, server) = one_poller::tcp_pair(&listener)?;
    let mut pair = P::new(client, server)?;
    for i in 0..rounds {
        pair.round_trip(i as u8);
    }
    Ok(())
}

fn main() -> ExitCode {
    // `cargo bench` appends `--bench`; ignore it.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let usage = "usage: pingpong_callgrind IMPL ROUND_TRIPS\n  IMPL: epoll mio polling ferrio \
                 eventloop eventloop-timers eventloop-channel (ferrio's TryRead/TryWrite), or \
                 the ferrio ones with -std (std Read/Write): ferrio-std eventloop-std ...";
    let (imp, rounds) = match args.as_slice() {
        [imp, n] => match n.parse::<u64>() {
            Ok(n) => (imp.as_str(), n),
            Err(_) => {
                eprintln!("{usage}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    let result = match imp {
        "epoll" => run::<EpollOnePoller>(rounds),
        "mio" => run::<MioOnePoller>(rounds),
        "polling" => run::<PollingOnePoller>(rounds),
        "ferrio" => run::<FerrioOnePoller<TRY>>(rounds),
        "ferrio-std" => run::<FerrioOnePoller<STD>>(rounds),
        "eventloop" => run::<EventLoopOnePoller<PLAIN, TRY>>(rounds),
        "eventloop-std" => run::<EventLoopOnePoller<PLAIN, STD>>(rounds),
        "eventloop-timers" => run::<EventLoopOnePoller<TIMER, TRY>>(rounds),
        "eventloop-timers-std" => run::<EventLoopOnePoller<TIMER, STD>>(rounds),
        "eventloop-channel" => run::<EventLoopOnePoller<CHANNEL, TRY>>(rounds),
        "eventloop-channel-std" => run::<EventLoopOnePoller<CHANNEL, STD>>(rounds),
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pingpong_callgrind {imp}: {e}");
            ExitCode::FAILURE
        }
    }
}
