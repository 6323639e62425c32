//! Stress: 4 producers send to an `EventLoop` that shuts down and is dropped while the sends
//! race with it. Every message is accounted for exactly once (delivered to the handler,
//! handed back by `send`, or discarded by the close) and dropped exactly once; nothing hangs
//! (each round runs under a watchdog).

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use ferrio::{EventLoop, Handler, NotifyError};

const PRODUCERS: usize = 4;
const PER_PRODUCER: usize = 5_000;
const TOTAL: usize = PRODUCERS * PER_PRODUCER;
const ROUNDS: usize = 40;
const WATCHDOG: Duration = Duration::from_secs(60);

/// Per message: how often it was delivered, handed back, and dropped.
struct Ledger {
    delivered: Vec<AtomicU32>,
    returned: Vec<AtomicU32>,
    dropped: Vec<AtomicU32>,
    /// Whether its `send` returned `Ok` (it was enqueued).
    enqueued: Vec<AtomicBool>,
}

impl Ledger {
    fn new() -> Ledger {
        let counters = || (0..TOTAL).map(|_| AtomicU32::new(0)).collect();
        Ledger {
            delivered: counters(),
            returned: counters(),
            dropped: counters(),
            enqueued: (0..TOTAL).map(|_| AtomicBool::new(false)).collect(),
        }
    }
}

struct Msg {
    id: usize,
    ledger: Arc<Ledger>,
}

impl Drop for Msg {
    fn drop(&mut self) {
        self.ledger.dropped[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

struct Consumer {
    received: usize,
    stop_after: usize,
}

impl Handler for Consumer {
    type Timeout = ();
    type Message = Msg;

    fn notify(&mut self, event_loop: &mut EventLoop<Self>, msg: Msg) {
        msg.ledger.delivered[msg.id].fetch_add(1, Ordering::SeqCst);
        self.received += 1;
        if self.received == self.stop_after {
            event_loop.shutdown();
        }
    }
}

fn round(stop_after: usize) -> (usize, usize, usize) {
    let ledger = Arc::new(Ledger::new());
    let mut event_loop: EventLoop<Consumer> = EventLoop::new().unwrap();
    let tx = event_loop.channel();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = tx.clone();
            let ledger = Arc::clone(&ledger);
            thread::spawn(move || {
                for i in 0..PER_PRODUCER {
                    let id = p * PER_PRODUCER + i;
                    let mut msg = Msg {
                        id,
                        ledger: Arc::clone(&ledger),
                    };
                    loop {
                        match tx.send(msg) {
                            Ok(()) => {
                                ledger.enqueued[id].store(true, Ordering::SeqCst);
                                break;
                            }
                            Err(NotifyError::Full(back)) => {
                                // Handed back untouched: try again.
                                msg = back;
                                thread::yield_now();
                            }
                            Err(NotifyError::Closed(Some(back))) => {
                                ledger.returned[back.id].fetch_add(1, Ordering::SeqCst);
                                break;
                            }
                            Err(e) => panic!("unexpected send error: {e}"),
                        }
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let mut consumer = Consumer {
        received: 0,
        stop_after,
    };
    event_loop.run(&mut consumer).unwrap();
    // Drop the loop (and with it the receiver) while the producers are still sending.
    drop(event_loop);
    for p in producers {
        p.join().unwrap();
    }

    let (mut delivered, mut returned, mut discarded) = (0, 0, 0);
    for id in 0..TOTAL {
        let d = ledger.delivered[id].load(Ordering::SeqCst);
        let r = ledger.returned[id].load(Ordering::SeqCst);
        let enqueued = ledger.enqueued[id].load(Ordering::SeqCst);
        assert_eq!(
            ledger.dropped[id].load(Ordering::SeqCst),
            1,
            "message {id} dropped more or less than once"
        );
        match (d, r, enqueued) {
            (1, 0, true) => delivered += 1,
            (0, 1, false) => returned += 1,
            (0, 0, true) => discarded += 1, // enqueued, then discarded by the close
            other => panic!("message {id}: delivered/returned/enqueued = {other:?}"),
        }
    }
    assert!(delivered >= stop_after);
    (delivered, returned, discarded)
}

#[test]
fn racing_shutdown_accounts_for_every_message_exactly_once() {
    let (done_tx, done_rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        let mut totals = (0, 0, 0);
        for r in 0..ROUNDS {
            // Shut down at a different point each round, from very early to after most.
            let stop_after = 1 + (r * 2_477) % (TOTAL - 1);
            let (d, ret, disc) = round(stop_after);
            totals = (totals.0 + d, totals.1 + ret, totals.2 + disc);
        }
        done_tx.send(totals).unwrap();
    });
    let (delivered, returned, discarded) = done_rx
        .recv_timeout(WATCHDOG)
        .expect("the stress test hung (watchdog)");
    worker.join().unwrap();
    println!(
        "{ROUNDS} rounds x {TOTAL} messages: delivered {delivered}, handed back {returned}, \
         discarded by close {discarded}"
    );
    assert_eq!(delivered + returned + discarded, ROUNDS * TOTAL);
}
