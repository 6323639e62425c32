//! Faults that need a process of their own: real fd exhaustion under a low `RLIMIT_NOFILE`,
//! and `SIGPIPE` at its default action (terminate). Each test runs an `#[ignore]`d scenario of
//! this binary in a child (`util::run_child_test`) and checks that exactly that test ran, exited
//! normally and printed its success line.

// Not built on Windows: RLIMIT_NOFILE and SIGPIPE exist only on Unix.
#![cfg(unix)]

mod util;

use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use ferrio::tcp::{FdReserve, TcpListener, TcpStream};
use ferrio::unix::UnixStream;
use ferrio::{EventSet, Events, Poll, PollOpt, Token, TryWrite};

use util::*;

// --- SIGPIPE ---

/// Rust test binaries ignore SIGPIPE, which would hide a missing `MSG_NOSIGNAL`: the child
/// restores the default action (terminate) first.
#[test]
fn tcp_and_unix_writes_to_closed_peers_never_raise_sigpipe() {
    run_child_test(
        "child_sigpipe",
        &[],
        "sigpipe child: every write returned BrokenPipe",
    );
}

fn restore_default_sigpipe() {
    // SAFETY: restoring the default disposition of SIGPIPE; no handler code is involved.
    let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(previous, libc::SIG_ERR);
    // SAFETY: sigset_t is plain data, filled in by pthread_sigmask.
    let mut mask: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: a null new set only queries the current mask into `mask`.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut mask) };
    assert_eq!(rc, 0);
    // SAFETY: `mask` was initialised above.
    assert_eq!(unsafe { libc::sigismember(&mask, libc::SIGPIPE) }, 0);
}

#[track_caller]
fn assert_broken_pipe<T: std::fmt::Debug>(res: io::Result<T>) {
    match res {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        other => panic!("expected BrokenPipe, got {other:?}"),
    }
}

/// Writes to `stream` until the peer's close turns into `BrokenPipe` (the first writes may
/// succeed or report the peer's reset); bounded.
fn write_until_broken_pipe(stream: &mut TcpStream, poll: &mut Poll, events: &mut Events) {
    for _ in 0..1000 {
        match stream.write(b"ping") {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("unexpected error {e}"),
        }
        // Wait (bounded) for the peer's reset to come back.
        let _ = poll_events(poll, events);
    }
    panic!("writing to a closed TCP peer never returned BrokenPipe");
}

#[test]
#[ignore = "a child scenario: run by tcp_and_unix_writes_to_closed_peers_never_raise_sigpipe"]
fn child_sigpipe() {
    child_scenario("child_sigpipe");
    restore_default_sigpipe();

    // TCP: our own write side shut down.
    let (mut client, _server) = tcp_pair();
    client.shutdown(Shutdown::Write).unwrap();
    assert_broken_pipe(client.write(b"x"));
    assert_broken_pipe(client.write_vectored(&[IoSlice::new(b"a"), IoSlice::new(b"b")]));
    let mut buf: &[u8] = b"abc";
    assert_broken_pipe(client.try_write_buf(&mut buf));

    // TCP: the peer closed its socket.
    let (mut client, server) = tcp_pair();
    drop(server);
    let mut poll = Poll::new().unwrap();
    poll.register(&client, Token(0), EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(4);
    write_until_broken_pipe(&mut client, &mut poll, &mut events);
    assert_broken_pipe(client.write_vectored(&[IoSlice::new(b"a"), IoSlice::new(b"b")]));

    // Unix stream: the peer closed.
    let (mut a, b) = UnixStream::pair().unwrap();
    drop(b);
    assert_broken_pipe(a.write(b"x"));
    assert_broken_pipe(a.write_vectored(&[IoSlice::new(b"x")]));

    println!("sigpipe child: every write returned BrokenPipe");
}

// --- real fd exhaustion ---

/// A real `EMFILE`: the child lowers `RLIMIT_NOFILE`, opens fds until none are left, and
/// has clients waiting in the listener's backlog.
#[test]
fn out_of_fds_sheds_connections_without_spinning_and_recovers() {
    let out = run_child_test("child_fd_exhaustion", &[], "fd exhaustion child: ok");
    print!("{out}");
}

fn set_fd_limit(soft: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit to fill in.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_cur = soft as libc::rlim_t;
    // SAFETY: `lim` is a valid rlimit; lowering the soft limit is always allowed.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
}

#[test]
#[ignore = "a child scenario: run by out_of_fds_sheds_connections_without_spinning_and_recovers"]
fn child_fd_exhaustion() {
    child_scenario("child_fd_exhaustion");
    const CLIENTS: usize = 3;
    set_fd_limit(64);
    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut reserve = FdReserve::new().unwrap();
    let mut poll = Poll::new().unwrap();
    poll.register(&listener, Token(0), EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(8);
    let mut clients: Vec<std::net::TcpStream> = (0..CLIENTS)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();

    // Exhaust the fd table.
    let mut hogs = Vec::new();
    let exhausted = loop {
        match std::fs::File::open("/dev/null") {
            Ok(f) => hogs.push(f),
            Err(e) => break e,
        }
    };
    assert_eq!(exhausted.raw_os_error(), Some(libc::EMFILE));

    // The problem: a plain accept fails and leaves the connections queued, so a
    // level-triggered listener is reported again at once, every time (a busy loop).
    let mut spins = 0;
    for _ in 0..100 {
        let n = poll_once(&mut poll, &mut events, Duration::from_secs(5));
        assert_eq!(n, 1);
        let err = listener.accept().unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMFILE));
        spins += 1;
    }

    // The strategy: accept_or_shed spends the reserve fd to close them.
    let err = listener.accept_or_shed(&mut reserve).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EMFILE));
    assert_eq!(reserve.shed_count(), CLIENTS as u64);
    assert!(reserve.is_armed());

    // No busy loop: over a 300 ms window the loop wakes up no more than... never.
    let window = Duration::from_millis(300);
    let start = Instant::now();
    let mut wakeups = 0;
    while start.elapsed() < window {
        let left = window.saturating_sub(start.elapsed());
        if poll_once(&mut poll, &mut events, left) > 0 {
            wakeups += 1;
            let _ = listener.accept_or_shed(&mut reserve);
        }
    }
    assert_eq!(wakeups, 0, "the shed listener must not wake the loop");

    // The clients see their connection closed, not hanging.
    for client in &mut clients {
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut byte = [0u8; 1];
        match client.read(&mut byte) {
            Ok(0) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            other => panic!("a shed connection must be closed, got {other:?}"),
        }
    }

    // Free some fds: accepting resumes.
    hogs.truncate(hogs.len() - 8);
    let late = TcpStream::connect(&addr).unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(0), EventSet::readable())],
    );
    let (stream, _) = listener
        .accept_or_shed(&mut reserve)
        .unwrap()
        .expect("accepts again once fds are free");
    wait_connected(&late);
    assert_eq!(reserve.shed_count(), CLIENTS as u64);
    drop((stream, late));
    println!(
        "fd exhaustion child: ok (fds held {}, plain-accept polls that spun {spins}, \
         connections shed {}, wake-ups after shedding {wakeups} in {window:?})",
        hogs.len() + 8,
        reserve.shed_count()
    );
}
