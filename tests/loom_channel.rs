//! Loom model of the channel's sleep/wake handshake and close path, on the real channel code.
//!
//! Run with: `RUSTFLAGS="--cfg loom" cargo test --release --test loom_channel`
//!
//! Under `cfg(loom)` the channel's wake-up is a loom `Notify`, and a "sleep" waits on it
//! (`Receiver::__model_park`): a lost wake-up leaves the receiver blocked forever, which loom
//! reports as a deadlock. The ring is a loom-instrumented stand-in (see the channel's
//! module docs), so the model checks the handshake, not crossbeam's queue.
#![cfg(loom)]

use ferrio::channel::{__model_channel, NotifyError, Receiver};
use loom::thread;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}

/// The receiving loop: drain, announce a sleep, "poll" (park), repeat until `n` messages.
/// Returns how many sleeps it announced.
fn receive(rx: &Receiver<usize>, n: usize) -> usize {
    let mut got = 0;
    let mut announced = 0;
    loop {
        while rx.try_recv().is_some() {
            got += 1;
        }
        if got == n {
            return announced;
        }
        announced += 1;
        if rx.prepare_sleep() {
            // Blocks until a send wakes us; a lost wake-up is a loom deadlock.
            rx.__model_park();
        }
        rx.after_wake();
    }
}

#[test]
fn sleeping_receiver_is_woken() {
    model(|| {
        let (tx, rx) = __model_channel::<usize>(1);
        let t = thread::spawn(move || tx.send(7).unwrap());
        let sleeping = rx.prepare_sleep();
        t.join().unwrap();
        if sleeping {
            // The queue was empty when the sleep was announced, so the send came after it.
            assert_eq!(
                rx.__model_wakes(),
                1,
                "slept with a message queued and no wake"
            );
        }
        assert_eq!(rx.try_recv(), Some(7));
    });
}

#[test]
fn two_senders_no_lost_wakeup() {
    model(|| {
        let (tx, rx) = __model_channel::<usize>(2);
        let tx2 = tx.clone();
        let a = thread::spawn(move || tx.send(1).unwrap());
        let b = thread::spawn(move || tx2.send(2).unwrap());
        let announced = receive(&rx, 2);
        a.join().unwrap();
        b.join().unwrap();
        // At most one wake-up per announced sleep, however the senders race.
        assert!(rx.__model_wakes() <= announced);
    });
}

#[test]
fn one_sender_two_messages_across_sleeps() {
    model(|| {
        let (tx, rx) = __model_channel::<usize>(2);
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        let announced = receive(&rx, 2);
        t.join().unwrap();
        assert!(rx.__model_wakes() <= announced);
    });
}

#[test]
fn busy_receiver_gets_no_wakeup() {
    model(|| {
        let (tx, rx) = __model_channel::<usize>(2);
        let t = thread::spawn(move || tx.send(1).unwrap());
        t.join().unwrap();
        assert_eq!(rx.try_recv(), Some(1));
        assert_eq!(rx.__model_wakes(), 0);
    });
}

/// A message that counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn close_drops_every_message_exactly_once() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = __model_channel::<Counted>(2);
        let senders: Vec<_> = (0..2)
            .map(|_| {
                let tx = tx.clone();
                let drops = Arc::clone(&drops);
                thread::spawn(move || match tx.send(Counted(drops)) {
                    Ok(()) => {}
                    // Refused before enqueuing: handed back, dropped here.
                    Err(NotifyError::Closed(Some(_))) => {}
                    Err(e) => panic!("unexpected {e:?}"),
                })
            })
            .collect();
        // Maybe receive one, then close while the senders run.
        drop(rx.try_recv());
        drop(rx);
        for t in senders {
            t.join().unwrap();
        }
        // Both messages are gone (received, refused or drained) while `tx` still keeps the
        // channel alive: nothing lingers in the queue, nothing was dropped twice.
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        // A send after the close is refused with its message.
        match tx.send(Counted(Arc::clone(&drops))) {
            Err(NotifyError::Closed(Some(msg))) => drop(msg),
            other => panic!("expected Closed(Some), got {other:?}"),
        }
        drop(tx);
        assert_eq!(drops.load(Ordering::SeqCst), 3);
    });
}

/// The loom limitation behind the channel writing its state word only with RMWs. C11 forbids
/// this outcome: `fa == 0` puts the RMW before `x = 1` in x's modification order, so whichever
/// `SeqCst` fence comes first, one of the two loads must see the other thread's write. loom 0.7
/// reports it anyway, because it leaves the plain store and the concurrent RMW unordered. If
/// this test starts failing, loom was fixed.
#[test]
#[should_panic(expected = "forbidden store-buffering outcome")]
fn loom_fence_false_alarm() {
    use loom::sync::atomic::{fence, AtomicUsize as LoomUsize, Ordering::*};
    loom::model(|| {
        let x = loom::sync::Arc::new(LoomUsize::new(0));
        let y = loom::sync::Arc::new(LoomUsize::new(0));
        let (x1, y1) = (x.clone(), y.clone());
        let t = thread::spawn(move || {
            let fa = x1.fetch_and(0, AcqRel);
            y1.store(1, Relaxed);
            fence(SeqCst);
            (fa, x1.load(Relaxed))
        });
        x.store(1, SeqCst);
        fence(SeqCst);
        let r2 = y.load(Relaxed);
        let (fa, r1) = t.join().unwrap();
        assert!(
            !(fa == 0 && r1 == 0 && r2 == 0),
            "forbidden store-buffering outcome"
        );
    });
}
