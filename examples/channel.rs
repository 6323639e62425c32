//! Worker threads sending messages to an `EventLoop` through its channel.
//!
//! ```sh
//! cargo run --release --example channel
//! ```
//!
//! Runs twice: 1 producer sending 2,000,000 messages, then 4 producers sending 500,000 each.
//! Each producer retries on `Full` (yielding, never sleeping). Prints messages per second
//! (from the first send to the last `notify`), the number of loop iterations, and messages
//! per iteration: the loop only sleeps (and a send only makes a wake-up syscall) when the
//! queue runs dry, so busy producers fill whole batches of `messages_per_tick`.
//!
//! Checks that every producer's messages arrive complete and in order; exits 0 (1 if not).

use std::process;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use ferrio::{EventLoop, Handler, NotifyError, Sender};

const TOTAL: u64 = 2_000_000;

/// `(producer, sequence number)`.
type Msg = (u32, u64);

struct Counter {
    /// Next expected sequence number per producer.
    next: Vec<u64>,
    received: u64,
    target: u64,
    iterations: u64,
    out_of_order: u64,
}

impl Handler for Counter {
    type Timeout = ();
    type Message = Msg;

    fn notify(&mut self, event_loop: &mut EventLoop<Counter>, (producer, seq): Msg) {
        let next = &mut self.next[producer as usize];
        if seq != *next {
            self.out_of_order += 1;
        }
        *next = seq + 1;
        self.received += 1;
        if self.received == self.target {
            event_loop.shutdown();
        }
    }

    fn timeout(&mut self, _: &mut EventLoop<Counter>, _: ()) {
        eprintln!("gave up after 30 s: {} messages", self.received);
        process::exit(1);
    }

    fn tick(&mut self, _: &mut EventLoop<Counter>) {
        self.iterations += 1;
    }
}

fn produce(tx: Sender<Msg>, producer: u32, count: u64) {
    for seq in 0..count {
        let mut msg = (producer, seq);
        loop {
            match tx.send(msg) {
                Ok(()) => break,
                Err(NotifyError::Full(back)) => {
                    msg = back;
                    thread::yield_now();
                }
                Err(e) => panic!("send failed: {e}"),
            }
        }
    }
}

fn run(event_loop: &mut EventLoop<Counter>, producers: u32) -> std::io::Result<bool> {
    let per_producer = TOTAL / u64::from(producers);
    let mut handler = Counter {
        next: vec![0; producers as usize],
        received: 0,
        target: per_producer * u64::from(producers),
        iterations: 0,
        out_of_order: 0,
    };
    let start = Arc::new(Barrier::new(producers as usize + 1));
    let threads: Vec<_> = (0..producers)
        .map(|p| {
            let tx = event_loop.channel();
            let start = Arc::clone(&start);
            thread::spawn(move || {
                start.wait();
                produce(tx, p, per_producer);
            })
        })
        .collect();
    let watchdog = event_loop
        .timeout((), Duration::from_secs(30))
        .expect("timer full");
    start.wait();
    let began = Instant::now();
    event_loop.run(&mut handler)?;
    let elapsed = began.elapsed();
    let _ = event_loop.clear_timeout(watchdog);
    for t in threads {
        t.join().expect("producer panicked");
    }
    let complete = handler.next.iter().all(|&n| n == per_producer);
    println!(
        "{producers} producer(s): {} messages in {:.1} ms = {:.1} M msgs/s; {} loop iterations ({:.0} messages per iteration)",
        handler.received,
        elapsed.as_secs_f64() * 1e3,
        handler.received as f64 / elapsed.as_secs_f64() / 1e6,
        handler.iterations,
        handler.received as f64 / handler.iterations as f64,
    );
    Ok(complete && handler.out_of_order == 0)
}

fn main() -> std::io::Result<()> {
    let mut event_loop = EventLoop::new()?;
    let ok1 = run(&mut event_loop, 1)?;
    let ok4 = run(&mut event_loop, 4)?;
    if !(ok1 && ok4) {
        eprintln!("FAILED: messages missing or out of order");
        process::exit(1);
    }
    Ok(())
}
