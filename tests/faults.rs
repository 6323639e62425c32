//! Injected syscall faults (feature `fault-injection`): each test makes one syscall fail the
//! way the kernel can make it fail, and checks the behaviour documented in RELIABILITY.md.
//!
//! Run with: `cargo test --release --features fault-injection --test faults`
//!
//! Faults are per thread (see `ferrio::__fault`), so each test arms them on the thread that
//! makes the call. Tests that count open fds hold `SERIAL`, so no other test of this binary
//! opens or closes fds meanwhile.
// Linux only: the faults are injected into epoll's and accept4's calls, and waits are
// watched in `/proc` (the fault table itself is in the Unix `syscall!` macro).
#![cfg(all(target_os = "linux", feature = "fault-injection"))]

mod util;

use std::io::{self, Read, Write};
use std::sync::{mpsc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Buf;
use ferrio::__fault::{self, Fault};
use ferrio::buf::RingBuf;
use ferrio::tcp::{FdReserve, TcpListener, TcpStream};
use ferrio::util::Slab;
use ferrio::{
    EventLoop, EventSet, Events, Handler, Poll, PollOpt, Token, TryAccept, TryRead, TryWrite, Waker,
};

use util::*;

static SERIAL: Mutex<()> = Mutex::new(());

/// Serialises the tests of this file and starts each with an empty fault table.
fn serial() -> MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    __fault::clear();
    guard
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[track_caller]
fn assert_errno<T: std::fmt::Debug>(res: io::Result<T>, errno: i32) {
    match res {
        Err(e) if e.raw_os_error() == Some(errno) => {}
        other => panic!("expected errno {errno}, got {other:?}"),
    }
}

// --- epoll_wait: EINTR ---

#[test]
fn poll_reports_interrupted_and_the_next_poll_works() {
    let _g = serial();
    let mut poll = Poll::new().unwrap();
    let (client, _server) = tcp_pair();
    poll.register(&client, Token(3), EventSet::writable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);

    __fault::inject(Fault::new("epoll_wait", libc::EINTR));
    let err = poll.poll(&mut events, None).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Interrupted);
    assert_eq!(events.len(), 0, "an interrupted poll reports no events");
    assert_eq!(__fault::injected("epoll_wait"), 1);

    // The interrupted wait consumed nothing: the writable edge is still reported.
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(3), EventSet::writable())],
    );
}

#[derive(Default)]
struct Interrupts {
    interrupted: usize,
    fired: Option<Instant>,
    ticks: usize,
}

impl Handler for Interrupts {
    type Timeout = ();
    type Message = ();

    fn interrupted(&mut self, _: &mut EventLoop<Self>) {
        self.interrupted += 1;
    }

    fn timeout(&mut self, event_loop: &mut EventLoop<Self>, _: ()) {
        assert!(self.fired.is_none(), "the timeout fired twice");
        self.fired = Some(Instant::now());
        event_loop.shutdown();
    }

    fn tick(&mut self, _: &mut EventLoop<Self>) {
        self.ticks += 1;
    }
}

/// The timeout argument (ms) of the `epoll_wait`/`epoll_pwait` that thread `tid` is blocked
/// in, if it is in one right now (from `/proc/self/task/<tid>/syscall`).
fn epoll_wait_timeout_of(tid: i64) -> Option<i64> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")).ok()?;
    let fields: Vec<&str> = text.split_whitespace().collect();
    let nr: i64 = fields.first()?.parse().ok()?;
    if nr != libc::SYS_epoll_wait && nr != libc::SYS_epoll_pwait {
        return None;
    }
    let raw = u64::from_str_radix(fields.get(4)?.trim_start_matches("0x"), 16).ok()?;
    Some(raw as u32 as i32 as i64)
}

/// EINTR in the loop's wait: `interrupted` is called, the loop goes on, and the timer fires
/// once, never early, with the wait after each interruption shortened to the time left (the
/// test reads the real `epoll_wait` timeout from `/proc`, so "recomputed, not restarted" is
/// checked exactly, not by timing).
#[test]
fn event_loop_survives_eintr_and_recomputes_the_timer_wait() {
    let _g = serial();
    const DEADLINE_MS: u64 = 500;
    const INTERRUPTS: u64 = 2;
    const EACH_MS: u64 = 100;

    let (tid_tx, tid_rx) = mpsc::channel();
    let looper = thread::spawn(move || {
        // SAFETY: gettid takes no arguments and cannot fail.
        let tid = unsafe { libc::syscall(libc::SYS_gettid) };
        let mut event_loop: EventLoop<Interrupts> = EventLoop::new().unwrap();
        let mut handler = Interrupts::default();
        let started = Instant::now();
        let _ = event_loop.timeout_ms((), DEADLINE_MS).unwrap();
        // A kernel without epoll_pwait2 (Linux < 5.11): timed waits fall back to epoll_wait,
        // whose millisecond timeout /proc shows (and whose EINTR is injected below).
        __fault::inject(Fault::new("epoll_pwait2", libc::ENOSYS));
        // Each interrupted wait returns EINTR after 100 ms, like a signal arriving mid-wait.
        __fault::inject(
            Fault::new("epoll_wait", libc::EINTR)
                .times(INTERRUPTS)
                .delay(Duration::from_millis(EACH_MS)),
        );
        tid_tx.send(tid).unwrap();
        event_loop.run(&mut handler).unwrap();
        let injected = __fault::injected("epoll_wait");
        __fault::clear();
        (handler, started, injected)
    });

    let tid = tid_rx.recv().unwrap();
    // Some sandboxes (gVisor, ...) do not provide the file; then only the wait's length
    // cannot be checked exactly.
    let can_watch = std::path::Path::new(&format!("/proc/self/task/{tid}/syscall")).exists();
    let mut seen = Vec::new();
    while !looper.is_finished() {
        if let Some(ms) = epoll_wait_timeout_of(tid) {
            if seen.last() != Some(&ms) {
                seen.push(ms);
            }
        }
        thread::yield_now();
    }
    let (handler, started, injected) = looper.join().unwrap();

    assert_eq!(injected, INTERRUPTS);
    assert_eq!(handler.interrupted, INTERRUPTS as usize);
    let fired = handler.fired.expect("the timeout never fired");
    assert!(
        fired - started >= Duration::from_millis(DEADLINE_MS),
        "fired early"
    );
    assert!(handler.ticks > INTERRUPTS as usize);
    // At least 200 ms passed in the interrupted waits, so a recomputed wait is at most
    // 500 - 200 ms (+1 for rounding up); a restarted one would be the full 500.
    let most = (DEADLINE_MS - INTERRUPTS * EACH_MS + 1) as i64;
    if !can_watch {
        util::precondition_missing(
            "/proc/self/task/<tid>/syscall is missing: the wait's length is not checked",
        );
        return;
    }
    assert!(!seen.is_empty(), "never saw the loop blocked in epoll_wait");
    assert!(
        seen.iter().all(|&ms| (0..=most).contains(&ms)),
        "waits after EINTR must be recomputed (<= {most} ms); saw {seen:?}"
    );
    println!("epoll_wait timeouts after {INTERRUPTS} EINTRs: {seen:?} ms");
}

// --- accept: EMFILE / ENFILE / ECONNABORTED ---

#[test]
fn accept_emfile_leaves_the_connection_queued() {
    let _g = serial();
    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    for errno in [libc::EMFILE, libc::ENFILE] {
        __fault::inject(Fault::new("accept4", errno));
        assert_errno(listener.accept(), errno);
    }
    // The plain accept leaves the connection in the backlog; it is accepted once fds are free.
    let stream = accept_one(&listener);
    assert!(stream.peer_addr().is_ok());
}

#[test]
fn accept_or_shed_closes_pending_connections_and_resumes() {
    let _g = serial();
    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut reserve = FdReserve::new().unwrap();
    let mut poll = Poll::new().unwrap();
    poll.register(&listener, Token(0), EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(4);

    let mut clients: Vec<_> = (0..3)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(0), EventSet::readable())],
    );
    let fds = open_fds();
    // The first accept4 fails as if out of fds; the shedding accepts (with the spare fd) work.
    __fault::inject(Fault::new("accept4", libc::EMFILE));
    assert_errno(listener.accept_or_shed(&mut reserve), libc::EMFILE);
    assert_eq!(reserve.shed_count(), 3);
    assert!(reserve.is_armed());
    assert_eq!(open_fds(), fds, "shedding must not leak fds");
    // The backlog is empty: the level-triggered listener is quiet, no busy loop.
    expect_no_events(&mut poll, &mut events);
    for client in &mut clients {
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 1];
        // Shed connections are closed: end of stream (or a reset).
        match client.read(&mut buf) {
            Ok(0) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            other => panic!("a shed connection must be closed, got {other:?}"),
        }
    }
    // Accepting resumes.
    let _late = std::net::TcpStream::connect(addr).unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(0), EventSet::readable())],
    );
    assert!(listener.accept_or_shed(&mut reserve).unwrap().is_some());
    assert_eq!(reserve.shed_count(), 3);
}

#[test]
fn accept_skips_aborted_connections() {
    let _g = serial();
    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let mut poll = Poll::new().unwrap();
    poll.register(&listener, Token(0), EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(4);
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(0), EventSet::readable())],
    );
    __fault::inject(Fault::new("accept4", libc::ECONNABORTED).times(2));
    let stream = TryAccept::accept(&listener).unwrap().expect("accepted");
    assert_eq!(__fault::injected("accept4"), 2);
    assert_eq!(__fault::calls("accept4"), 3);
    assert!(stream.peer_addr().is_ok());
    // The listener keeps working.
    let _second = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(0), EventSet::readable())],
    );
    assert!(listener.accept().unwrap().is_some());
}

// --- epoll_ctl: ENOMEM / ENOSPC ---

#[test]
fn failed_register_leaves_no_state_and_can_be_retried() {
    let _g = serial();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (client, _server) = tcp_pair();
    let mut slab: Slab<TcpStream> = Slab::new(4);
    let fds = open_fds();

    for errno in [libc::ENOMEM, libc::ENOSPC] {
        // The usual pattern: take a slot, register, give the slot back if that failed.
        let token = slab.insert(client.try_clone().unwrap()).unwrap();
        __fault::inject(Fault::new("epoll_ctl", errno));
        let res = poll.register(&slab[token], token, EventSet::writable(), PollOpt::edge());
        assert_errno(res, errno);
        // No registration state: deregister says "not registered".
        assert_error_kind(poll.deregister(&slab[token]), io::ErrorKind::NotFound);
        drop(slab.remove(token));
        assert!(slab.is_empty());
        assert_eq!(open_fds(), fds, "a failed register must not leak fds");
    }
    expect_no_events(&mut poll, &mut events);
    // Registering again later works and events arrive.
    poll.register(&client, Token(1), EventSet::writable(), PollOpt::edge())
        .unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(1), EventSet::writable())],
    );
    // reregister failing keeps the old registration.
    __fault::inject(Fault::new("epoll_ctl", libc::ENOMEM));
    assert_errno(
        poll.reregister(&client, Token(2), EventSet::readable(), PollOpt::edge()),
        libc::ENOMEM,
    );
    poll.reregister(&client, Token(2), EventSet::writable(), PollOpt::edge())
        .unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(2), EventSet::writable())],
    );
}

#[test]
fn failed_waker_and_channel_setup_leak_nothing_and_can_be_retried() {
    let _g = serial();
    let mut poll = Poll::new().unwrap();
    let fds = open_fds();
    __fault::inject(Fault::new("epoll_ctl", libc::ENOSPC));
    assert_errno(Waker::new(poll.registry(), Token(1)), libc::ENOSPC);
    __fault::inject(Fault::new("eventfd", libc::EMFILE));
    assert_errno(Waker::new(poll.registry(), Token(1)), libc::EMFILE);
    assert_eq!(
        open_fds(),
        fds,
        "the eventfd of a failed Waker must be closed"
    );
    let waker = Waker::new(poll.registry(), Token(1)).unwrap();
    waker.wake().unwrap();
    let mut events = Events::with_capacity(4);
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(1), EventSet::readable())],
    );

    let mut event_loop: EventLoop<Interrupts> = EventLoop::new().unwrap();
    let fds = open_fds();
    __fault::inject(Fault::new("epoll_ctl", libc::ENOMEM));
    assert_errno(event_loop.try_channel(), libc::ENOMEM);
    assert_eq!(open_fds(), fds);
    let tx = event_loop.try_channel().unwrap();
    tx.send(()).unwrap();

    let (client, _server) = tcp_pair();
    __fault::inject(Fault::new("epoll_ctl", libc::ENOSPC));
    assert_errno(
        event_loop.register(&client, Token(5), EventSet::readable(), PollOpt::edge()),
        libc::ENOSPC,
    );
    event_loop
        .register(&client, Token(5), EventSet::readable(), PollOpt::edge())
        .unwrap();
}

// --- the waker's eventfd ---

#[test]
fn wake_lands_when_the_eventfd_counter_is_full() {
    let _g = serial();
    let mut poll = Poll::new().unwrap();
    let waker = Waker::new(poll.registry(), Token(9)).unwrap();
    let mut events = Events::with_capacity(4);
    // A first wake leaves the counter at 1: the poll side never reads the eventfd.
    waker.wake().unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(9), EventSet::readable())],
    );
    __fault::clear();
    // The next write says the counter is full: the wake drains it and writes again.
    __fault::inject(Fault::new("write", libc::EAGAIN));
    waker.wake().unwrap();
    assert_eq!(__fault::injected("write"), 1);
    assert_eq!(__fault::calls("write"), 2);
    assert_eq!(__fault::calls("read"), 1);
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(9), EventSet::readable())],
    );

    // A failed wake is reported and does not swallow the next one, whether the write or the
    // drain failed.
    __fault::inject(Fault::new("write", libc::EIO));
    assert_errno(waker.wake(), libc::EIO);
    waker.wake().unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(9), EventSet::readable())],
    );
    __fault::inject(Fault::new("write", libc::EAGAIN));
    __fault::inject(Fault::new("read", libc::EIO));
    assert_errno(waker.wake(), libc::EIO);
    waker.wake().unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(9), EventSet::readable())],
    );
}

#[test]
fn channel_send_still_wakes_when_the_eventfd_is_full() {
    let _g = serial();
    let mut poll = Poll::new().unwrap();
    let (tx, rx) = ferrio::channel::channel::<u32>(poll.registry(), Token(2), 8).unwrap();
    let mut events = Events::with_capacity(4);
    // One wake first, so the eventfd counter is not zero (as when it is really full).
    assert!(rx.prepare_sleep());
    tx.send(6).unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(2), EventSet::readable())],
    );
    rx.after_wake();
    assert_eq!(rx.try_recv(), Some(6));
    __fault::clear();
    assert!(rx.prepare_sleep());
    __fault::inject(Fault::new("write", libc::EAGAIN));
    tx.send(7).unwrap();
    assert_eq!(__fault::injected("write"), 1);
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(2), EventSet::readable())],
    );
    rx.after_wake();
    assert_eq!(rx.try_recv(), Some(7));
}

// --- short writes and WouldBlock mid-buffer ---

/// Reads what `from` has right now into `sink`, without waiting.
fn drain_into(from: &mut TcpStream, sink: &mut Vec<u8>) {
    let mut buf = [0u8; 64 * 1024];
    while let Some(n) = from.try_read(&mut buf).unwrap() {
        assert_ne!(n, 0, "unexpected end of stream");
        sink.extend_from_slice(&buf[..n]);
    }
}

/// Reads from `from` until `sink` holds `total` bytes, waiting (bounded) for readiness.
fn receive_all(
    poll: &mut Poll,
    events: &mut Events,
    from: &mut TcpStream,
    sink: &mut Vec<u8>,
    total: usize,
) {
    drain_into(from, sink);
    while sink.len() < total {
        let got = poll_events(poll, events);
        assert!(!got.is_empty(), "bytes lost: {} of {total}", sink.len());
        drain_into(from, sink);
    }
    assert_eq!(sink.len(), total);
}

#[test]
fn short_writes_and_would_block_advance_buffers_exactly() {
    let _g = serial();
    let (mut client, mut server) = tcp_pair();
    // A small send buffer makes the kernel accept only part of a large write.
    socket2::SockRef::from(&client)
        .set_send_buffer_size(4096)
        .unwrap();
    let mut poll = Poll::new().unwrap();
    poll.register(&server, Token(0), EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(4);

    const TOTAL: usize = 1 << 20;
    let mut data = vec![0u8; TOTAL];
    fill_pattern(&mut data, 0);
    let mut received = Vec::with_capacity(TOTAL);

    // 1. try_write_buf over a `&[u8]` (send/sendmsg): every short write advances the buffer by
    //    exactly its count; injected EAGAINs in the middle advance it by nothing.
    let mut src: &[u8] = &data;
    let mut short_writes = 0;
    let mut injected = 0;
    let mut round = 0u64;
    while src.has_remaining() {
        round += 1;
        let inject = round % 3 == 0;
        if inject {
            __fault::inject(Fault::new("send", libc::EAGAIN));
        }
        let before = src.remaining();
        match client.try_write_buf(&mut src).unwrap() {
            Some(n) => {
                assert!(!inject, "the injected EAGAIN was not seen");
                assert_eq!(src.remaining(), before - n);
                if n < before {
                    short_writes += 1;
                }
            }
            None => assert_eq!(src.remaining(), before, "WouldBlock must not advance"),
        }
        injected += __fault::injected("send");
        __fault::clear();
        drain_into(&mut server, &mut received);
    }
    receive_all(&mut poll, &mut events, &mut server, &mut received, TOTAL);
    check_pattern(&received, 0);
    assert!(
        short_writes > 0,
        "the small send buffer never gave a short write"
    );

    // 2. RingBuf::write_to (one writev/sendmsg over both halves): same property.
    let mut ring: RingBuf<8192> = RingBuf::new();
    let mut offset = 0;
    let mut sent = 0;
    received.clear();
    let mut chunk = [0u8; 3000];
    let mut round = 0u64;
    while sent < TOTAL {
        round += 1;
        if offset < TOTAL && ring.free_len() > 0 {
            let n = chunk.len().min(ring.free_len()).min(TOTAL - offset);
            fill_pattern(&mut chunk[..n], offset);
            assert_eq!(ring.push_slice(&chunk[..n]), n);
            offset += n;
        }
        let inject = round % 4 == 0;
        if inject {
            __fault::inject(Fault::new("sendmsg", libc::EAGAIN));
            __fault::inject(Fault::new("send", libc::EAGAIN));
        }
        let before = ring.len();
        match ring.write_to(&mut client).unwrap() {
            Some(n) => {
                assert!(!inject, "the injected EAGAIN was not seen");
                assert_eq!(ring.len(), before - n);
                sent += n;
            }
            None => assert_eq!(ring.len(), before, "WouldBlock must not advance"),
        }
        injected += __fault::injected("send") + __fault::injected("sendmsg");
        __fault::clear();
        drain_into(&mut server, &mut received);
    }
    receive_all(&mut poll, &mut events, &mut server, &mut received, TOTAL);
    check_pattern(&received, 0);

    // 3. Plain `write`: a short count is the truth; nothing beyond it was sent.
    __fault::inject(Fault::new("send", libc::EAGAIN));
    assert_would_block((&client).write(b"xyz"));
    assert_eq!(client.try_write(b"xyz").unwrap(), Some(3));
    let mut tail = Vec::new();
    receive_all(&mut poll, &mut events, &mut server, &mut tail, 3);
    assert_eq!(tail, b"xyz");
    println!(
        "short writes: {short_writes}, WouldBlock injected mid-buffer: {}",
        injected + 1
    );
}
