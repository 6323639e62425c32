//! `Waker`: wakes a blocked poll from any thread; wakes between two polls coalesce into one
//! event and at most one eventfd write; one waker per `Poll`.

mod util;

use std::io;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use ferrio::{EventSet, Events, Poll, Token, Waker};
use util::{assert_error_kind, expect_events, expect_no_events, poll_events};

const WAKE: Token = Token(10);

#[test]
fn wake_from_another_thread_unblocks_poll() {
    let mut poll = Poll::new().unwrap();
    let waker = Arc::new(Waker::new(poll.registry(), WAKE).unwrap());
    let (result_tx, result_rx) = mpsc::channel();
    let poller = thread::spawn(move || {
        let mut events = Events::with_capacity(4);
        // No timeout: only the wake can end this.
        let got = loop {
            match poll.poll(&mut events, None) {
                Ok(_) => {
                    break events
                        .iter()
                        .map(|e| (e.token(), e.kind()))
                        .collect::<Vec<_>>()
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("poll failed: {e}"),
            }
        };
        result_tx.send(got).unwrap();
    });
    let w = Arc::clone(&waker);
    thread::spawn(move || w.wake().unwrap()).join().unwrap();
    let got = result_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the wake did not unblock the poll");
    assert_eq!(got, vec![(WAKE, EventSet::readable())]);
    poller.join().unwrap();
}

#[test]
fn many_wakes_before_a_poll_coalesce_into_one_event() {
    let mut poll = Poll::new().unwrap();
    let waker = Waker::new(poll.registry(), WAKE).unwrap();
    let mut events = Events::with_capacity(8);
    for _ in 0..100 {
        waker.wake().unwrap();
    }
    assert_eq!(
        poll_events(&mut poll, &mut events),
        vec![(WAKE, EventSet::readable())]
    );
    expect_no_events(&mut poll, &mut events);

    // It keeps working poll after poll, also with wakes from several threads.
    let waker = Arc::new(waker);
    for _ in 0..3 {
        thread::scope(|s| {
            for _ in 0..4 {
                let w = &waker;
                s.spawn(move || {
                    for _ in 0..25 {
                        w.wake().unwrap();
                    }
                });
            }
        });
        assert_eq!(
            poll_events(&mut poll, &mut events),
            vec![(WAKE, EventSet::readable())]
        );
        expect_no_events(&mut poll, &mut events);
    }
}

#[test]
fn one_waker_per_poll() {
    let mut poll = Poll::new().unwrap();
    let first = Waker::new(poll.registry(), WAKE).unwrap();
    assert_error_kind(
        Waker::new(poll.registry(), Token(11)),
        io::ErrorKind::AlreadyExists,
    );
    // Through a registry clone as well: it is the same Poll.
    let registry = poll.registry().clone();
    assert_error_kind(Waker::new(&registry, WAKE), io::ErrorKind::AlreadyExists);
    // Another Poll may have its own.
    let other = Poll::new().unwrap();
    let _other_waker = Waker::new(other.registry(), WAKE).unwrap();

    drop(first);
    let second = Waker::new(poll.registry(), Token(11)).unwrap();
    let mut events = Events::with_capacity(4);
    expect_no_events(&mut poll, &mut events);
    second.wake().unwrap();
    assert_eq!(
        poll_events(&mut poll, &mut events),
        vec![(Token(11), EventSet::readable())]
    );
}

#[test]
fn waker_with_reserved_token_is_invalid_input() {
    let mut poll = Poll::new().unwrap();
    assert_error_kind(
        Waker::new(poll.registry(), Token(usize::MAX)),
        io::ErrorKind::InvalidInput,
    );
    // The failed attempt did not take the Poll's waker slot.
    let waker = Waker::new(poll.registry(), WAKE).unwrap();
    waker.wake().unwrap();
    let mut events = Events::with_capacity(4);
    expect_events(&mut poll, &mut events, vec![(WAKE, EventSet::readable())]);
}

#[test]
fn wake_with_no_poll_running_is_seen_by_the_next_poll() {
    let mut poll = Poll::new().unwrap();
    let waker = Waker::new(poll.registry(), WAKE).unwrap();
    let mut events = Events::with_capacity(4);
    for _ in 0..3 {
        waker.wake().unwrap();
        assert_eq!(
            poll.poll(&mut events, Some(Duration::ZERO)).unwrap(),
            1,
            "a wake before a zero-timeout poll must be reported by it"
        );
        assert_eq!(events.get(0).unwrap().token(), WAKE);
    }
}

/// The scenario traced by `wakes_make_at_most_one_write_per_poll`.
// Linux only: the syscalls are counted with strace.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "a child scenario: traced by wakes_make_at_most_one_write_per_poll"]
fn strace_child_scenario() {
    util::child_scenario("strace_child_scenario");
    let mut poll = Poll::new().unwrap();
    let waker = Arc::new(Waker::new(poll.registry(), WAKE).unwrap());
    let mut events = Events::with_capacity(4);
    // Round 1: 100 wakes from this thread.
    for _ in 0..100 {
        waker.wake().unwrap();
    }
    poll.poll(&mut events, Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(events.len(), 1);
    // Round 2: 4 x 25 wakes from other threads.
    thread::scope(|s| {
        for _ in 0..4 {
            let w = &waker;
            s.spawn(move || {
                for _ in 0..25 {
                    w.wake().unwrap();
                }
            });
        }
    });
    poll.poll(&mut events, Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(events.len(), 1);
    println!("child: two rounds of 100 wakes");
}

// Linux only: the syscalls are counted with strace.
#[cfg(target_os = "linux")]
#[test]
fn wakes_make_at_most_one_write_per_poll() {
    let Some(text) = util::strace_child_test(
        "strace_child_scenario",
        &[],
        &["-e", "trace=write"],
        "child: two rounds of 100 wakes",
    ) else {
        return;
    };
    // The harness's own output proves the scenario ran under the tracer.
    assert!(
        text.contains("strace_child_scenario"),
        "the scenario did not run under strace: {text}"
    );
    // An eventfd write is the 8-byte little-endian 1 (what strace prints as "\1\0\0\0\0\0\0\0");
    // a wake pipe's (poll(2)'s portable form) is one byte, 1.
    let eventfd_writes = text
        .lines()
        .filter(|l| {
            l.contains(r#"write("#)
                && (l.contains(r#""\1\0\0\0\0\0\0\0", 8)"#) || l.contains(r#", "\1", 1)"#))
        })
        .count();
    assert_eq!(
        eventfd_writes, 2,
        "expected one eventfd write per round of wakes, trace:\n{text}"
    );
}
