//! The notification channel with a real `Poll`.

use ferrio::channel::{channel, NotifyError, Receiver, Sender};
use ferrio::{Events, Poll, Token};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const CHANNEL: Token = Token(7);

fn new_channel<M>(capacity: usize) -> (Poll, Sender<M>, Receiver<M>) {
    let poll = Poll::new().unwrap();
    let (tx, rx) = channel(poll.registry(), CHANNEL, capacity).unwrap();
    (poll, tx, rx)
}

/// A message that counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn messages_arrive_in_fifo_order() {
    let (_poll, tx, rx) = new_channel(16);
    for i in 0..16 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.len(), 16);
    let got: Vec<i32> = std::iter::from_fn(|| rx.try_recv()).collect();
    assert_eq!(got, (0..16).collect::<Vec<_>>());
    assert!(rx.is_empty());
    assert_eq!(rx.try_recv(), None);
}

#[test]
fn full_at_capacity_then_recovers() {
    let (_poll, tx, rx) = new_channel(3);
    assert_eq!(tx.capacity(), 3);
    for i in 0..3 {
        tx.send(i).unwrap();
    }
    match tx.send(99) {
        Err(NotifyError::Full(99)) => {}
        other => panic!("expected Full(99), got {other:?}"),
    }
    assert_eq!(rx.try_recv(), Some(0));
    tx.send(3).unwrap();
    assert!(matches!(tx.send(4), Err(NotifyError::Full(4))));
    let got: Vec<i32> = std::iter::from_fn(|| rx.try_recv()).collect();
    assert_eq!(got, [1, 2, 3]);
    for i in 10..13 {
        tx.send(i).unwrap();
    }
}

#[test]
fn send_after_receiver_drop_is_closed_with_message() {
    let (_poll, tx, rx) = new_channel(4);
    assert!(!tx.is_closed());
    drop(rx);
    assert!(tx.is_closed());
    match tx.send(String::from("late")) {
        Err(NotifyError::Closed(Some(msg))) => assert_eq!(msg, "late"),
        other => panic!("expected Closed(Some), got {other:?}"),
    }
    let err: io::Error = tx.send(String::new()).unwrap_err().into();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
}

#[test]
fn every_message_dropped_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (_poll, tx, rx) = new_channel(8);
    for _ in 0..5 {
        tx.send(Counted(Arc::clone(&drops))).unwrap();
    }
    // One received and dropped by the user.
    drop(rx.try_recv().unwrap());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    // The four still queued are dropped by the receiver's drop, not later.
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), 5);
    // A refused message comes back, and is dropped once by us.
    let refused = tx.send(Counted(Arc::clone(&drops))).unwrap_err();
    assert_eq!(drops.load(Ordering::SeqCst), 5);
    drop(refused);
    assert_eq!(drops.load(Ordering::SeqCst), 6);
    drop(tx);
    assert_eq!(drops.load(Ordering::SeqCst), 6);
}

#[test]
fn full_message_is_handed_back_not_dropped() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (_poll, tx, rx) = new_channel(1);
    tx.send(Counted(Arc::clone(&drops))).unwrap();
    let back = tx.send(Counted(Arc::clone(&drops))).unwrap_err();
    assert!(matches!(back, NotifyError::Full(_)));
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(back);
    drop(rx);
    drop(tx);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn close_racing_with_senders_drops_each_message_once() {
    // Senders keep sending while the receiver is dropped. Afterwards every message created is
    // dropped exactly once (received, refused, or drained) while a Sender still keeps the
    // channel's memory alive: nothing lingers in the queue, nothing is dropped twice.
    for _ in 0..20 {
        let drops = Arc::new(AtomicUsize::new(0));
        let (_poll, tx, rx) = new_channel(64);
        let senders: Vec<_> = (0..3)
            .map(|_| {
                let tx = tx.clone();
                let drops = Arc::clone(&drops);
                thread::spawn(move || {
                    let mut created = 0;
                    loop {
                        created += 1;
                        match tx.send(Counted(Arc::clone(&drops))) {
                            Ok(()) => {}
                            Err(NotifyError::Full(_)) => thread::yield_now(),
                            Err(NotifyError::Closed(Some(_))) => return created,
                            Err(e) => panic!("unexpected {e:?}"),
                        }
                    }
                })
            })
            .collect();
        // Receive a little, then close while the senders are busy.
        let mut received = 0;
        while received < 100 {
            if rx.try_recv().is_some() {
                received += 1;
            } else {
                thread::yield_now();
            }
        }
        drop(rx);
        let created: usize = senders.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(drops.load(Ordering::SeqCst), created);
        drop(tx);
        assert_eq!(drops.load(Ordering::SeqCst), created);
    }
}

#[test]
fn capacity_zero_is_invalid_input() {
    let poll = Poll::new().unwrap();
    let err = channel::<u8>(poll.registry(), CHANNEL, 0).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("capacity"), "{err}");
    // The failed construction did not take the Poll's waker slot.
    channel::<u8>(poll.registry(), CHANNEL, 1).unwrap();
}

#[test]
fn reserved_token_and_second_waker_are_errors() {
    let poll = Poll::new().unwrap();
    let err = channel::<u8>(poll.registry(), Token(usize::MAX), 4).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let (_tx, _rx) = channel::<u8>(poll.registry(), CHANNEL, 4).unwrap();
    let err = channel::<u8>(poll.registry(), Token(8), 4).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
}

#[test]
fn send_to_sleeping_receiver_wakes_poll() {
    let (mut poll, tx, rx) = new_channel(4);
    let mut events = Events::with_capacity(4);
    assert!(rx.prepare_sleep());
    let t = thread::spawn(move || tx.send(42u32).unwrap());
    // Blocks until the send's wake-up (or a spurious event; loop on the channel state).
    let mut got = None;
    while got.is_none() {
        poll.poll(&mut events, Some(Duration::from_secs(30)))
            .unwrap();
        assert!(!events.is_empty(), "send did not wake the sleeping poll");
        assert!(events.iter().all(|e| e.token() == CHANNEL));
        rx.after_wake();
        got = rx.try_recv();
        if got.is_none() {
            assert!(rx.prepare_sleep());
        }
    }
    assert_eq!(got, Some(42));
    t.join().unwrap();
}

#[test]
fn busy_receiver_is_not_woken() {
    let (mut poll, tx, rx) = new_channel(8);
    let mut events = Events::with_capacity(4);
    // No sleep announced: sends make no wake-up, so a zero-timeout poll sees nothing.
    for i in 0..8 {
        tx.send(i).unwrap();
    }
    poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
    assert!(events.is_empty());
    // Pending messages: no sleep.
    assert!(!rx.prepare_sleep());
    rx.after_wake();
    while rx.try_recv().is_some() {}
    // Announced sleep: exactly the first send wakes.
    assert!(rx.prepare_sleep());
    tx.send(100).unwrap();
    tx.send(101).unwrap();
    poll.poll(&mut events, Some(Duration::from_secs(30)))
        .unwrap();
    assert_eq!(events.iter().count(), 1);
    rx.after_wake();
    poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
    assert!(events.is_empty());
}

#[test]
fn four_producers_one_sleeping_consumer() {
    const PRODUCERS: usize = 4;
    const PER_PRODUCER: u64 = 10_000;
    let (mut poll, tx, rx) = new_channel::<(usize, u64)>(256);

    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for seq in 0..PER_PRODUCER {
                    let mut msg = (p, seq);
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
            })
        })
        .collect();
    drop(tx);

    // The consumer sleeps in poll with a long timeout; a lost wake-up shows as a poll that
    // returns with nothing while messages are queued, and the overall deadline stops a hang.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut events = Events::with_capacity(8);
    let mut next = [0u64; PRODUCERS];
    let mut total = 0;
    let mut sleeps = 0;
    while total < PRODUCERS as u64 * PER_PRODUCER {
        while let Some((p, seq)) = rx.try_recv() {
            assert_eq!(seq, next[p], "producer {p}: out of order or duplicated");
            next[p] += 1;
            total += 1;
        }
        if total == PRODUCERS as u64 * PER_PRODUCER {
            break;
        }
        let now = Instant::now();
        assert!(
            now < deadline,
            "consumer gave up: {total} messages received"
        );
        if rx.prepare_sleep() {
            sleeps += 1;
            poll.poll(&mut events, Some(deadline - now)).unwrap();
            rx.after_wake();
            if events.is_empty() {
                assert!(
                    rx.is_empty(),
                    "lost wake-up: poll timed out with {} messages queued",
                    rx.len()
                );
            }
        } else {
            poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
            rx.after_wake();
        }
    }
    for t in producers {
        t.join().unwrap();
    }
    assert_eq!(next, [PER_PRODUCER; PRODUCERS]);
    assert_eq!(rx.try_recv(), None);
    println!("{total} messages, {sleeps} sleeps");
}
