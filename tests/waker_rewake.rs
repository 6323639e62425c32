//! Regression test: a wake issued after a poll returned must wake the next poll, even when an
//! earlier wake was consumed by the poll that just returned.
//!
//! Linux only: it watches the polling thread's state in `/proc`.
#![cfg(target_os = "linux")]
// Not built on Windows: it watches the blocked thread's state in /proc.
#![cfg(unix)]

use ferrio::{Events, Poll, Token, Waker};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// The scheduler state letter of thread `tid` ('S' while blocked in epoll_wait).
fn thread_state(tid: libc::pid_t) -> char {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    // The state follows the ")" that closes the command name.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.chars().next().unwrap()
}

#[test]
fn wake_after_poll_returned_wakes_next_poll() {
    const WAKE: Token = Token(3);
    let mut poll = Poll::new().unwrap();
    let waker = Arc::new(Waker::new(poll.registry(), WAKE).unwrap());
    let mut events = Events::with_capacity(4);

    // SAFETY: gettid takes no arguments, has no preconditions and cannot fail.
    #[allow(unsafe_code)]
    let main_tid = unsafe { libc::gettid() };
    let w = Arc::clone(&waker);
    let t = thread::spawn(move || {
        // Wake only once the main thread is blocked inside poll (after poll cleared its
        // pending-wake flag), so this wake is consumed by that poll.
        while thread_state(main_tid) != 'S' {
            thread::yield_now();
        }
        w.wake().unwrap();
    });
    poll.poll(&mut events, None).unwrap();
    assert_eq!(events.get(0).unwrap().token(), WAKE);
    t.join().unwrap();

    // A new wake, after that poll returned: the next poll must see it.
    waker.wake().unwrap();
    poll.poll(&mut events, Some(Duration::from_secs(3)))
        .unwrap();
    assert_eq!(
        events.len(),
        1,
        "a wake issued after poll returned was lost (coalesced with the consumed one)"
    );
}
