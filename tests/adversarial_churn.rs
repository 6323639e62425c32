//! Churn and leaks, on every backend of the build: thousands of register/deregister cycles,
//! registries used from many threads while the poller waits, waker storms; after each, the
//! process has exactly the fds it had before and no stale token is reported.
//!
//! The tests of this file count `/proc/self/fd`, so they run one at a time (a lock); other
//! test files are other processes.
#![cfg(target_os = "linux")]

mod util;

use std::collections::HashSet;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use ferrio::tcp::{TcpListener, TcpStream};
use ferrio::udp::UdpSocket;
use ferrio::unix::UnixStream;
use ferrio::{Backend, EventSet, Events, Poll, PollOpt, Token, TryRead, TryWrite, Waker};

use util::*;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// One timed poll that must succeed. `Interrupted` is retried: no signal is sent here, but
/// an epoll wait on a thread that used an io_uring `Poll` may see one (`Backend::Uring`).
fn strict_poll(poll: &mut Poll, events: &mut Events, timeout: Duration, backend: Backend) {
    loop {
        match poll.poll(events, Some(timeout)) {
            Ok(_) => return,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("{backend}: poll failed: {e}"),
        }
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn backends() -> Vec<Backend> {
    let mut out = Vec::new();
    for backend in Backend::ALL {
        let poll = Poll::with_backend(backend).unwrap();
        if poll.backend() != backend {
            precondition_missing(&format!("{backend} runs here (fell back)"));
            continue;
        }
        out.push(backend);
    }
    out
}

/// Runs `scenario` on a fresh `Poll` of `backend` and asserts the process holds the same
/// number of fds afterwards (the `Poll` dropped too).
fn without_leaks(backend: Backend, what: &str, scenario: impl FnOnce(&mut Poll)) {
    let before = open_fds();
    {
        let mut poll = Poll::with_backend(backend).unwrap();
        scenario(&mut poll);
    }
    let after = open_fds();
    assert_eq!(
        before,
        after,
        "{backend}: {what} leaked {} fds",
        after as isize - before as isize
    );
}

/// 10,000 cycles of register, make ready, (sometimes poll), deregister or drop, on a socket
/// pair, in every mode: no fd leaks, and no token of a finished cycle is ever reported.
#[test]
fn ten_thousand_register_cycles_leak_nothing_and_report_no_stale_token() {
    let _g = serial();
    for backend in backends() {
        without_leaks(backend, "register churn", |poll| {
            let mut events = Events::with_capacity(64);
            let modes = [
                PollOpt::edge(),
                PollOpt::level(),
                PollOpt::oneshot(),
                PollOpt::edge() | PollOpt::oneshot(),
            ];
            let mut dead: HashSet<usize> = HashSet::new();
            for i in 0..10_000usize {
                let (a, mut b) = UnixStream::pair().unwrap();
                let token = Token(i + 1);
                let opts = modes[i % modes.len()];
                poll.register(&a, token, EventSet::readable() | EventSet::writable(), opts)
                    .unwrap();
                b.try_write(b"x").unwrap();
                if i % 3 == 0 {
                    strict_poll(poll, &mut events, Duration::ZERO, backend);
                    for e in events.iter() {
                        assert!(
                            !dead.contains(&e.token().0),
                            "{backend}: stale {:?}",
                            e.token()
                        );
                    }
                }
                match i % 4 {
                    0 => poll.deregister(&a).unwrap(),
                    1 => {
                        poll.reregister(&a, Token(i + 1), EventSet::readable(), opts)
                            .unwrap();
                    }
                    _ => {}
                }
                drop(a);
                drop(b);
                dead.insert(i + 1);
            }
            // Every source is gone: nothing at all may be reported any more.
            for _ in 0..3 {
                strict_poll(poll, &mut events, Duration::from_millis(20), backend);
                let got: Vec<_> = events.iter().map(|e| e.token()).collect();
                assert!(
                    got.is_empty(),
                    "{backend}: events after all sources dropped: {got:?}"
                );
            }
        });
    }
}

/// An edge-triggered echo server with many clients that send, half-close, reset or stall;
/// every completed client gets its bytes back, and after all are gone no fd is left open.
#[test]
fn edge_triggered_echo_server_with_misbehaving_clients_leaks_nothing() {
    let _g = serial();
    for backend in backends() {
        without_leaks(backend, "echo server", |poll| echo_server(poll, backend));
    }
}

fn echo_server(poll: &mut Poll, backend: Backend) {
    use std::io::{Read, Write};
    const CLIENTS: usize = 64;
    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    let addr = listener.local_addr().unwrap();
    poll.register(&listener, Token(0), EventSet::readable(), PollOpt::edge())
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let clients = {
        let done = done.clone();
        thread::spawn(move || {
            let mut ok = 0;
            for i in 0..CLIENTS {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let msg = format!("client {i} says hello");
                match i % 4 {
                    // Send, half-close, read the echo to EOF.
                    0 | 1 => {
                        s.write_all(msg.as_bytes()).unwrap();
                        s.shutdown(std::net::Shutdown::Write).unwrap();
                        let mut back = Vec::new();
                        s.read_to_end(&mut back).unwrap();
                        assert_eq!(back, msg.as_bytes());
                        ok += 1;
                    }
                    // Send and reset.
                    2 => {
                        s.write_all(msg.as_bytes()).unwrap();
                        let fd = s.as_raw_fd();
                        let linger = libc::linger {
                            l_onoff: 1,
                            l_linger: 0,
                        };
                        // SAFETY: valid socket and option struct.
                        unsafe {
                            libc::setsockopt(
                                fd,
                                libc::SOL_SOCKET,
                                libc::SO_LINGER,
                                &linger as *const _ as *const libc::c_void,
                                std::mem::size_of::<libc::linger>() as libc::socklen_t,
                            )
                        };
                    }
                    // Connect and close without a word.
                    _ => {}
                }
            }
            done.store(true, Ordering::SeqCst);
            ok
        })
    };
    let mut conns: Vec<Option<(TcpStream, Vec<u8>, bool)>> = Vec::new();
    let mut events = Events::with_capacity(32);
    let mut idle_polls = 0;
    loop {
        let n = poll_once(poll, &mut events, Duration::from_millis(100));
        if n == 0 {
            idle_polls += 1;
            let open = conns.iter().filter(|c| c.is_some()).count();
            if done.load(Ordering::SeqCst) && open == 0 {
                break;
            }
            assert!(
                idle_polls < 100,
                "{backend}: echo server stalled with {open} open"
            );
            continue;
        }
        for e in events.iter() {
            if e.token() == Token(0) {
                while let Some((s, _)) = listener.accept().unwrap() {
                    let idx = conns.len();
                    poll.register(
                        &s,
                        Token(idx + 1),
                        EventSet::readable() | EventSet::writable(),
                        PollOpt::edge(),
                    )
                    .unwrap();
                    conns.push(Some((s, Vec::new(), false)));
                }
                continue;
            }
            let idx = e.token().0 - 1;
            let Some((s, pending, eof)) = conns[idx].as_mut() else {
                panic!(
                    "{backend}: event for closed connection {idx}: {:?}",
                    e.kind()
                );
            };
            let mut close = false;
            let mut buf = [0u8; 4096];
            loop {
                match std::io::Read::read(s, &mut buf) {
                    Ok(0) => {
                        *eof = true;
                        break;
                    }
                    Ok(n) => pending.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        close = true;
                        break;
                    }
                }
            }
            while !pending.is_empty() && !close {
                match std::io::Write::write(s, pending) {
                    Ok(n) => {
                        pending.drain(..n);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => close = true,
                }
            }
            if close || (*eof && pending.is_empty()) {
                conns[idx] = None; // dropped without deregistering
            }
        }
    }
    assert_eq!(clients.join().unwrap(), CLIENTS / 2);
}

/// Four threads register, reregister and deregister sockets through cloned registries while
/// the main thread polls: every token reported was registered at the time the poll began,
/// and nothing leaks.
#[test]
fn registries_used_from_many_threads_while_polling() {
    let _g = serial();
    for backend in backends() {
        without_leaks(backend, "threaded registries", |poll| {
            const THREADS: usize = 4;
            const PER: usize = 500;
            // `dead_before[t]`: the epoch at which token t's deregistration returned.
            let epoch = Arc::new(AtomicU64::new(0));
            let dead = Arc::new(Mutex::new(Vec::<(usize, u64)>::new()));
            let stop = Arc::new(AtomicBool::new(false));
            let mut handles = Vec::new();
            for t in 0..THREADS {
                let registry = poll.registry().clone();
                let epoch = epoch.clone();
                let dead = dead.clone();
                handles.push(thread::spawn(move || {
                    for i in 0..PER {
                        let token = Token(1 + t * PER + i);
                        let s = UdpSocket::bound(&any_local_addr()).unwrap();
                        let opts = [PollOpt::edge(), PollOpt::level(), PollOpt::oneshot()][i % 3];
                        registry
                            .register(&s, token, EventSet::writable(), opts)
                            .unwrap();
                        if i % 2 == 0 {
                            registry
                                .reregister(
                                    &s,
                                    token,
                                    EventSet::readable() | EventSet::writable(),
                                    opts,
                                )
                                .unwrap();
                        }
                        registry.deregister(&s).unwrap();
                        dead.lock()
                            .unwrap()
                            .push((token.0, epoch.load(Ordering::SeqCst)));
                        drop(s);
                    }
                }));
            }
            let mut events = Events::with_capacity(256);
            let stopper = {
                let stop = stop.clone();
                let waker = Waker::new(poll.registry(), Token(usize::MAX - 1)).unwrap();
                thread::spawn(move || {
                    for h in handles {
                        h.join().unwrap();
                    }
                    stop.store(true, Ordering::SeqCst);
                    waker.wake().unwrap();
                })
            };
            while !stop.load(Ordering::SeqCst) {
                // Every deregistration recorded before this poll starts must not appear.
                let e0 = epoch.fetch_add(1, Ordering::SeqCst);
                let dead_now: HashSet<usize> = dead
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|&&(_, at)| at < e0)
                    .map(|&(t, _)| t)
                    .collect();
                poll_once(poll, &mut events, Duration::from_millis(200));
                for e in events.iter() {
                    assert!(
                        !dead_now.contains(&e.token().0),
                        "{backend}: token {:?} reported after its deregister returned",
                        e.token()
                    );
                }
            }
            stopper.join().unwrap();
            for _ in 0..2 {
                strict_poll(poll, &mut events, Duration::from_millis(20), backend);
                let got: Vec<_> = events
                    .iter()
                    .map(|e| e.token())
                    .filter(|&t| t != Token(usize::MAX - 1))
                    .collect();
                assert!(
                    got.is_empty(),
                    "{backend}: events after every deregister: {got:?}"
                );
            }
        });
    }
}

/// Eight threads wake the same waker 10,000 times each while the poller polls: the storm
/// ends (a poll after it reports nothing), every wake that came after a poll started is seen
/// by some poll, and nothing leaks.
#[test]
fn waker_storm_ends_and_leaks_nothing() {
    let _g = serial();
    for backend in backends() {
        without_leaks(backend, "waker storm", |poll| {
            let waker = Arc::new(Waker::new(poll.registry(), Token(7)).unwrap());
            let (a, mut b) = UnixStream::pair().unwrap();
            poll.register(&a, Token(8), EventSet::readable(), PollOpt::edge())
                .unwrap();
            let mut handles = Vec::new();
            for _ in 0..8 {
                let waker = waker.clone();
                handles.push(thread::spawn(move || {
                    for _ in 0..10_000 {
                        waker.wake().unwrap();
                    }
                }));
            }
            let mut events = Events::with_capacity(1);
            let mut wakes = 0usize;
            let mut saw_io = false;
            b.try_write(b"io among wakes").unwrap();
            while handles.iter().any(|h| !h.is_finished()) || !saw_io {
                poll_once(poll, &mut events, Duration::from_millis(200));
                for e in events.iter() {
                    match e.token() {
                        Token(7) => wakes += 1,
                        Token(8) => saw_io = true,
                        other => panic!("{backend}: unknown token {other:?}"),
                    }
                }
                assert!(wakes < 1_000_000, "{backend}: wakes never coalesce");
            }
            for h in handles {
                h.join().unwrap();
            }
            // At most one more wake is owed (with room for one event, the poll that saw the IO
            // may have left a wake behind: the storm can end before any poll reported one).
            strict_poll(poll, &mut events, Duration::from_millis(20), backend);
            for e in events.iter() {
                assert_eq!(e.token(), Token(7), "{backend}: an event after the storm");
                wakes += 1;
            }
            strict_poll(poll, &mut events, Duration::from_millis(20), backend);
            assert_eq!(events.len(), 0, "{backend}: the storm did not end");
            // 80,000 wakes were made: at least one was reported.
            assert!(wakes >= 1, "{backend}: no wake of the storm was reported");
            // A wake after the storm is still delivered.
            waker.wake().unwrap();
            expect_events(poll, &mut events, vec![(Token(7), EventSet::readable())]);
            drop(a);
        });
    }
}

/// Many pollers made and dropped, each with a waker and a registered source: every fd goes.
#[test]
fn polls_with_wakers_and_sources_dropped_in_any_order_leak_nothing() {
    let _g = serial();
    for backend in backends() {
        without_leaks(backend, "poll churn", |_| {
            for i in 0..200 {
                let mut poll = Poll::with_backend(backend).unwrap();
                let waker = Waker::new(poll.registry(), Token(1)).unwrap();
                let (a, _b) = tcp_pair();
                poll.register(&a, Token(2), EventSet::all(), PollOpt::edge())
                    .unwrap();
                waker.wake().unwrap();
                let mut events = Events::with_capacity(4);
                strict_poll(&mut poll, &mut events, Duration::ZERO, backend);
                match i % 3 {
                    0 => {
                        drop(poll);
                        drop(a);
                        drop(waker);
                    }
                    1 => {
                        drop(a);
                        drop(waker);
                        drop(poll);
                    }
                    _ => {
                        drop(waker);
                        drop(poll);
                        drop(a);
                    }
                }
            }
        });
    }
}

/// `SCM_RIGHTS` abuse: too many fds, a closed or negative fd number, more fds than the
/// receiver has room for, a receiver with no room at all, a plain read of a message with
/// fds. Every case is a clean error or a clean receive, and no fd is left behind.
#[test]
fn fd_passing_bad_inputs_leak_nothing() {
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    let _g = serial();
    let before = open_fds();
    {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let files: Vec<std::fs::File> = (0..40)
            .map(|_| std::fs::File::open("/dev/null").unwrap())
            .collect();
        let borrowed: Vec<BorrowedFd<'_>> = files.iter().map(|f| f.as_fd()).collect();
        // 33 fds: refused before anything is sent.
        let e = a.send_with_fds(b"x", &borrowed[..33]).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        // A closed / negative fd number through the raw-fd API: EBADF, nothing sent.
        assert_eq!(
            a.try_write_send_fd(b"x", -1).unwrap_err().raw_os_error(),
            Some(libc::EBADF)
        );
        assert_eq!(
            a.try_write_send_fd(b"x", i32::MAX)
                .unwrap_err()
                .raw_os_error(),
            Some(libc::EBADF)
        );
        let mut buf = [0u8; 16];
        assert!(
            (&b).try_read(&mut buf).unwrap().is_none(),
            "something was sent"
        );
        // Three fds to a receiver with room for one: an error, and all three closed.
        assert_eq!(a.send_with_fds(b"three", &borrowed[..3]).unwrap(), Some(5));
        let mut one: [Option<OwnedFd>; 1] = [None];
        let e = b.recv_with_fds(&mut buf, &mut one).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{e}");
        assert!(one[0].is_none());
        // Room for none.
        assert_eq!(a.send_with_fds(b"two", &borrowed[..2]).unwrap(), Some(3));
        let r = b.recv_with_fds(&mut buf, &mut []);
        assert!(r.is_err() || r.as_ref().unwrap().is_some(), "{r:?}");
        // Fds attached to data that a plain read consumes: discarded by the kernel.
        assert_eq!(a.send_with_fds(b"plain", &borrowed[..4]).unwrap(), Some(5));
        assert_eq!((&b).try_read(&mut buf).unwrap(), Some(5));
        // mio 0.5's single-fd receive of a message with two fds.
        assert_eq!(a.send_with_fds(b"2", &borrowed[..2]).unwrap(), Some(1));
        let r = b.try_read_recv_fd(&mut buf);
        if let Ok(Some((_, Some(fd)))) = r {
            // SAFETY: received for us, closed once here.
            unsafe { libc::close(fd) };
        }
        // 32 fds, the maximum, round-trip.
        assert_eq!(a.send_with_fds(b"max", &borrowed[..32]).unwrap(), Some(3));
        let mut many: Vec<Option<OwnedFd>> = (0..32).map(|_| None).collect();
        let (n, count) = b.recv_with_fds(&mut buf, &mut many).unwrap().unwrap();
        assert_eq!((n, count), (3, 32));
        // Zero data bytes with fds (a stream socket needs at least one byte; either way clean).
        let r = a.send_with_fds(b"", &borrowed[..1]);
        let _ = r;
        let _ = b.recv_with_fds(&mut buf, &mut many);
        let _ = a.try_write(b"");
    }
    assert_eq!(open_fds(), before, "fd passing leaked");
}
