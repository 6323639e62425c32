//! Backend selection (`Poll::with_backend`, `FERRIO_BACKEND`, `EventLoopConfig::backend`), the
//! io_uring fallback, the documented differences between backends, and the syscalls one poll
//! makes on each. The rest of the suite runs under every backend through `FERRIO_BACKEND`
//! (see `.ci/run`).

// Not built on Windows: it tests the Unix backends (epoll, poll(2), io_uring, kqueue: fallbacks
// under seccomp and syscall counts under strace on Linux only).
#![cfg(unix)]

mod util;

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
#[cfg(all(target_os = "linux", feature = "uring"))]
use std::os::fd::IntoRawFd;
use std::time::Duration;

use ferrio::udp::UdpSocket;
use ferrio::unix::EventedFd;
use ferrio::{
    Backend, EventLoop, EventLoopConfig, EventSet, Events, Handler, Poll, PollOpt, Token, Waker,
};
use util::{any_local_addr, expect_events, expect_no_events, poll_events};

const T: Token = Token(1);

/// A `Poll` on `backend`, or `None` (with a note) if it is io_uring and the kernel refused it.
fn poll_on(backend: Backend) -> Option<Poll> {
    let poll = Poll::with_backend(backend).unwrap();
    if let Some(reason) = poll.fallback_reason() {
        assert_eq!(backend, Backend::Uring, "only io_uring falls back");
        assert_eq!(poll.backend(), Backend::Epoll);
        util::precondition_missing(&format!("{backend}: {reason}"));
        return None;
    }
    Some(poll)
}

#[test]
fn with_backend_runs_on_that_backend() {
    for backend in Backend::ALL {
        let Some(mut poll) = poll_on(backend) else {
            continue;
        };
        assert_eq!(poll.backend(), backend);
        assert_eq!(poll.registry().backend(), backend);
        // And it works: a level-triggered writable UDP socket and a waker.
        let socket = UdpSocket::bound(&any_local_addr()).unwrap();
        poll.register(&socket, T, EventSet::writable(), PollOpt::level())
            .unwrap();
        let waker = Waker::new(poll.registry(), Token(2)).unwrap();
        waker.wake().unwrap();
        let mut events = Events::with_capacity(8);
        let got = expect_events(
            &mut poll,
            &mut events,
            vec![(T, EventSet::writable()), (Token(2), EventSet::readable())],
        );
        assert!(got.len() <= 4, "{backend}: {got:?}");
    }
}

#[test]
fn new_follows_the_environment() {
    // CI runs this file under every FERRIO_BACKEND value; unset means the platform's default.
    let poll = Poll::new().unwrap();
    let wanted = Backend::from_env().unwrap().unwrap_or(Backend::DEFAULT);
    match poll.fallback_reason() {
        None => assert_eq!(poll.backend(), wanted),
        Some(reason) => {
            assert_eq!((wanted, poll.backend()), (Backend::Uring, Backend::Epoll));
            // The io_uring CI step must not pass on epoll: under FERRIO_STRICT this fails.
            util::precondition_missing(&format!(
                "FERRIO_BACKEND=uring gave an epoll Poll: {reason}"
            ));
        }
    }
}

#[test]
#[ignore = "a child scenario: run by invalid_environment_value_is_a_clear_error"]
fn child_invalid_environment_value() {
    util::child_scenario("child_invalid_environment_value");
    let err = Poll::new().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let msg = err.to_string();
    for name in [
        "select",
        "FERRIO_BACKEND",
        "\"epoll\"",
        "\"poll\"",
        "\"uring\"",
        "\"kqueue\"",
        "\"iocp\"",
    ] {
        assert!(msg.contains(name), "{msg}");
    }
    let Err(err) = EventLoop::<Nothing>::new() else {
        panic!("EventLoop::new accepted FERRIO_BACKEND=select");
    };
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    // An explicit choice does not read the environment.
    assert_eq!(
        Poll::with_backend(Backend::Poll).unwrap().backend(),
        Backend::Poll
    );
    let mut config = EventLoopConfig::new();
    config.backend(Backend::Poll);
    let event_loop = EventLoop::<Nothing>::configured(config).unwrap();
    assert_eq!(event_loop.registry().backend(), Backend::Poll);
    println!("child: invalid FERRIO_BACKEND rejected");
}

#[test]
#[ignore = "a child scenario: run by environment_selects_the_backend"]
fn child_environment_selects_the_backend() {
    util::child_scenario("child_environment_selects_the_backend");
    let wanted = Backend::from_env()
        .unwrap()
        .expect("the parent sets FERRIO_BACKEND");
    assert_eq!(Poll::new().unwrap().backend(), wanted);
    let event_loop = EventLoop::<Nothing>::new().unwrap();
    assert_eq!(event_loop.registry().backend(), wanted);
    // The explicit choice wins over the environment.
    let other = if wanted == Backend::Poll {
        Backend::DEFAULT
    } else {
        Backend::Poll
    };
    let mut config = EventLoopConfig::new();
    config.backend(other);
    let event_loop = EventLoop::<Nothing>::configured(config).unwrap();
    assert_eq!(event_loop.registry().backend(), other);
    println!("child: FERRIO_BACKEND={wanted} selected {wanted}");
}

#[test]
#[ignore = "a child scenario: run by environment_naming_a_missing_backend_is_unsupported"]
fn child_missing_backend_in_the_environment() {
    util::child_scenario("child_missing_backend_in_the_environment");
    // A valid name of a backend this platform lacks.
    let name = std::env::var("FERRIO_BACKEND").unwrap();
    let err = Poll::new().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains(&name), "{err}");
    assert!(err.to_string().contains(Backend::DEFAULT.name()), "{err}");
    let Err(err) = EventLoop::<Nothing>::new() else {
        panic!("EventLoop::new accepted FERRIO_BACKEND={name}");
    };
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    // An explicit choice does not read the environment.
    assert_eq!(
        Poll::with_backend(Backend::Poll).unwrap().backend(),
        Backend::Poll
    );
    println!("child: FERRIO_BACKEND={name} is unsupported here");
}

struct Nothing;

impl Handler for Nothing {
    type Timeout = ();
    type Message = ();
}

#[test]
fn invalid_environment_value_is_a_clear_error() {
    util::run_child_test(
        "child_invalid_environment_value",
        &[("FERRIO_BACKEND", "select")],
        "child: invalid FERRIO_BACKEND rejected",
    );
}

#[test]
fn environment_naming_a_missing_backend_is_unsupported() {
    let missing = [Backend::Epoll, Backend::Kqueue, Backend::Iocp]
        .into_iter()
        .find(|b| !b.is_available())
        .expect("no platform has epoll, kqueue and IOCP");
    util::run_child_test(
        "child_missing_backend_in_the_environment",
        &[("FERRIO_BACKEND", missing.name())],
        &format!("child: FERRIO_BACKEND={missing} is unsupported here"),
    );
}

#[test]
fn with_backend_refuses_a_missing_backend() {
    for backend in [
        Backend::Epoll,
        Backend::Poll,
        Backend::Uring,
        Backend::Kqueue,
        Backend::Iocp,
    ] {
        match Poll::with_backend(backend) {
            Ok(poll) => {
                assert!(backend.is_available(), "{backend}");
                if poll.fallback_reason().is_none() {
                    assert_eq!(poll.backend(), backend);
                }
            }
            Err(e) => {
                assert!(!backend.is_available(), "{backend}: {e}");
                assert_eq!(e.kind(), std::io::ErrorKind::Unsupported, "{e}");
                assert!(e.to_string().contains(backend.name()), "{e}");
                let mut config = EventLoopConfig::new();
                config.backend(backend);
                let Err(e) = EventLoop::<Nothing>::configured(config) else {
                    panic!("EventLoop accepted the missing backend {backend}");
                };
                assert_eq!(e.kind(), std::io::ErrorKind::Unsupported, "{e}");
            }
        }
    }
    assert_eq!(Backend::ALL[0], Backend::DEFAULT);
}

#[test]
fn environment_selects_the_backend() {
    for backend in Backend::ALL {
        if backend == Backend::Uring && poll_on(backend).is_none() {
            continue;
        }
        util::run_child_test(
            "child_environment_selects_the_backend",
            &[("FERRIO_BACKEND", backend.name())],
            &format!("child: FERRIO_BACKEND={backend} selected {backend}"),
        );
    }
}

/// Installs a seccomp filter on this thread that makes `io_uring_setup` fail with `ENOSYS`, as
/// a kernel without io_uring (or a container runtime's filter) would.
#[cfg(all(target_os = "linux", feature = "uring"))]
fn refuse_io_uring_setup() {
    const SECCOMP_DATA_NR: u32 = 0;
    let filter = [
        // Load the syscall number.
        libc::sock_filter {
            code: (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16,
            jt: 0,
            jf: 0,
            k: SECCOMP_DATA_NR,
        },
        // io_uring_setup: fail with ENOSYS; anything else: allow.
        libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt: 0,
            jf: 1,
            k: libc::SYS_io_uring_setup as u32,
        },
        libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        },
        libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ALLOW,
        },
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
    // SAFETY: `prog` points at a valid filter program that outlives the call (the kernel copies
    // it).
    #[allow(unsafe_code)]
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &prog as *const libc::sock_fprog,
        )
    };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
}

#[cfg(all(target_os = "linux", feature = "uring"))]
#[test]
#[ignore = "a child scenario: run by unavailable_io_uring_falls_back_to_epoll_with_a_reason"]
fn child_io_uring_refused() {
    util::child_scenario("child_io_uring_refused");
    refuse_io_uring_setup();
    let mut poll = Poll::with_backend(Backend::Uring).unwrap();
    assert_eq!(poll.backend(), Backend::Epoll);
    let reason = poll.fallback_reason().expect("a fallback reason");
    let text = reason.to_string();
    assert!(
        text.contains("io_uring") && text.contains("epoll"),
        "{text}"
    );
    assert_eq!(reason.kind(), std::io::ErrorKind::Unsupported, "{reason:?}");
    // The fallback is a working Poll.
    let socket = UdpSocket::bound(&any_local_addr()).unwrap();
    poll.register(&socket, T, EventSet::writable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(4);
    expect_events(&mut poll, &mut events, vec![(T, EventSet::writable())]);
    // The event loop falls back the same way.
    let event_loop =
        EventLoop::<Nothing>::configured(EventLoopConfig::new().backend(Backend::Uring)).unwrap();
    assert_eq!(event_loop.registry().backend(), Backend::Epoll);
    // Other backends never fall back.
    assert!(Poll::with_backend(Backend::Poll)
        .unwrap()
        .fallback_reason()
        .is_none());
    println!("child: io_uring refused, epoll used: {text}");
}

#[cfg(all(target_os = "linux", feature = "uring"))]
#[test]
fn unavailable_io_uring_falls_back_to_epoll_with_a_reason() {
    util::run_child_test(
        "child_io_uring_refused",
        &[],
        "child: io_uring refused, epoll used",
    );
}

#[test]
fn poll_backend_emulates_edges_for_a_raw_fd_whose_io_it_cannot_see() {
    // ferrio cannot see a raw fd's IO, so after an edge it probes the disarmed direction and
    // re-arms it once it is no longer ready: no repeated events while the data sits there,
    // and a new event for data that arrives after the program drained it.
    for backend in Backend::ALL {
        let Some(mut poll) = poll_on(backend) else {
            continue;
        };
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let fd = a.as_raw_fd();
        poll.register(&EventedFd(&fd), T, EventSet::readable(), PollOpt::edge())
            .unwrap();
        let mut events = Events::with_capacity(4);
        b.write_all(b"x").unwrap();
        assert_eq!(
            util::next_readiness(&mut poll, &mut events, T),
            EventSet::readable(),
            "{backend}"
        );
        expect_no_events(&mut poll, &mut events);
        let mut buf = [0u8; 4];
        assert_eq!((&a).read(&mut buf).unwrap(), 1);
        expect_no_events(&mut poll, &mut events);
        b.write_all(b"y").unwrap();
        assert_eq!(
            util::next_readiness(&mut poll, &mut events, T),
            EventSet::readable(),
            "{backend}: no edge for new data after a drain ferrio did not see"
        );
        // Oneshot keeps its meaning for raw fds.
        poll.reregister(&EventedFd(&fd), T, EventSet::readable(), PollOpt::oneshot())
            .unwrap();
        b.write_all(b"z").unwrap();
        assert_eq!(
            poll_events(&mut poll, &mut events),
            vec![(T, EventSet::readable())],
            "{backend}"
        );
        expect_no_events(&mut poll, &mut events);
        poll.deregister(&EventedFd(&fd)).unwrap();
    }
}

#[cfg(all(target_os = "linux", feature = "uring"))]
#[test]
fn uring_holds_a_raw_fd_open_until_it_is_deregistered() {
    // Documented difference (`Backend::Uring`): the ring holds a reference to a polled file,
    // so closing a raw fd without deregistering it does not close the socket; deregistering
    // the (closed) fd number does.
    let Some(mut poll) = poll_on(Backend::Uring) else {
        return;
    };
    let (ours, mut peer) = std::os::unix::net::UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    let fd = ours.into_raw_fd();
    poll.register(&EventedFd(&fd), T, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(4);
    // Submits the registration.
    poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
    // SAFETY: we own `fd` (from into_raw_fd) and close it exactly once.
    #[allow(unsafe_code)]
    unsafe {
        libc::close(fd)
    };
    let mut buf = [0u8; 1];
    peer.set_nonblocking(true).unwrap();
    let err = peer.read(&mut buf).unwrap_err();
    assert_eq!(
        err.kind(),
        std::io::ErrorKind::WouldBlock,
        "the socket closed although the ring still polls it"
    );
    poll.deregister(&EventedFd(&fd)).unwrap();
    // A bounded blocking read: EOF once the ring dropped its reference.
    peer.set_nonblocking(false).unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(peer.read(&mut buf).unwrap(), 0);
}

#[cfg(target_os = "linux")]
const ROUNDS: usize = 50;

#[cfg(target_os = "linux")]
#[test]
#[ignore = "a child scenario: traced by one_wait_syscall_per_poll"]
fn child_syscalls_of_polls() {
    util::child_scenario("child_syscalls_of_polls");
    let mut poll = Poll::new().unwrap();
    let sockets: Vec<_> = (0..12)
        .map(|i| {
            let s = UdpSocket::bound(&any_local_addr()).unwrap();
            let opts = if i < 8 {
                PollOpt::level()
            } else {
                PollOpt::edge()
            };
            poll.register(&s, Token(i), EventSet::writable(), opts)
                .unwrap();
            s
        })
        .collect();
    let waker = Waker::new(poll.registry(), Token(99)).unwrap();
    let mut events = Events::with_capacity(64);
    poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
    // Markers for the tracer: the syscalls between the two getppid calls are the loop's.
    // SAFETY: getppid has no preconditions.
    #[allow(unsafe_code)]
    unsafe {
        libc::getppid()
    };
    for _ in 0..ROUNDS {
        waker.wake().unwrap();
        waker.wake().unwrap();
        poll.poll(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        // The 8 level-triggered sockets and the waker, every round.
        assert!(events.len() >= 9, "{}", events.len());
    }
    // SAFETY: as above.
    #[allow(unsafe_code)]
    unsafe {
        libc::getppid()
    };
    drop(sockets);
    println!("child: {ROUNDS} polls on {}", poll.backend());
}

/// Linux only: strace.
#[cfg(target_os = "linux")]
#[test]
fn one_wait_syscall_per_poll() {
    for backend in Backend::ALL {
        if backend == Backend::Uring && poll_on(backend).is_none() {
            continue;
        }
        let Some(text) = util::strace_child_test(
            "child_syscalls_of_polls",
            &[("FERRIO_BACKEND", backend.name())],
            &[],
            &format!("child: {ROUNDS} polls on {backend}"),
        ) else {
            return;
        };
        let lines: Vec<&str> = text.lines().collect();
        let marks: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].contains("getppid()"))
            .collect();
        assert_eq!(marks.len(), 2, "{backend}: markers not found in:\n{text}");
        // strace -f prefixes each line with the thread's id: count only the thread that
        // polls (the one that printed the markers), not the harness's other threads.
        let tid = |line: &str| line.split_whitespace().next().map(str::to_owned);
        let poller = tid(lines[marks[0]]);
        assert_eq!(
            poller,
            tid(lines[marks[1]]),
            "{backend}: markers of two threads"
        );
        let inner: Vec<&str> = lines[marks[0] + 1..marks[1]]
            .iter()
            .copied()
            .filter(|l| tid(l) == poller)
            .collect();
        let count = |name: &str| inner.iter().filter(|l| l.contains(name)).count();
        // Plain `poll` in poll(2)'s portable form (`--cfg ferrio_portable`).
        let waits = count("epoll_wait(")
            + count("epoll_pwait2(")
            + count("ppoll(")
            + count(" poll(")
            + count("io_uring_enter(");
        let writes = count("write(");
        println!("{backend}: {} syscalls in {ROUNDS} polls", inner.len());
        assert_eq!(
            waits,
            ROUNDS,
            "{backend}: one wait per poll:\n{}",
            inner.join("\n")
        );
        // Two wakes per round coalesce into one eventfd write.
        assert_eq!(writes, ROUNDS, "{backend}:\n{}", inner.join("\n"));
        // Nothing else: no re-arm syscalls, no reads (poll(2) drains its eventfd: one read).
        let reads = count("read(");
        let expected_reads = if backend == Backend::Poll { ROUNDS } else { 0 };
        assert_eq!(reads, expected_reads, "{backend}:\n{}", inner.join("\n"));
        assert_eq!(
            inner.len(),
            waits + writes + reads,
            "{backend}:\n{}",
            inner.join("\n")
        );
    }
}

#[test]
fn queued_readiness_of_a_deregistered_or_reregistered_source_is_dropped() {
    // io_uring keeps completions in its queue when `Events` is full: those of a source that
    // is deregistered or reregistered meanwhile must not surface under the old token. The
    // same holds, trivially, on the other backends.
    for backend in Backend::ALL {
        let Some(mut poll) = poll_on(backend) else {
            continue;
        };
        let sockets: Vec<_> = (0..3)
            .map(|i| {
                let s = UdpSocket::bound(&any_local_addr()).unwrap();
                poll.register(&s, Token(i), EventSet::writable(), PollOpt::level())
                    .unwrap();
                s
            })
            .collect();
        let mut events = Events::with_capacity(1);
        poll.poll(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!(events.len(), 1);
        let first = events.get(0).unwrap().token().0;
        let (gone, moved) = ((first + 1) % 3, (first + 2) % 3);
        poll.deregister(&sockets[gone]).unwrap();
        poll.reregister(
            &sockets[moved],
            Token(10 + moved),
            EventSet::writable(),
            PollOpt::level(),
        )
        .unwrap();
        let mut events = Events::with_capacity(8);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..4 {
            poll.poll(&mut events, Some(Duration::from_secs(5)))
                .unwrap();
            seen.extend(events.iter().map(|e| e.token().0));
        }
        assert_eq!(
            seen,
            [first, 10 + moved].into_iter().collect(),
            "{backend}: stale tokens reported"
        );
    }
}

#[test]
fn huge_and_tiny_timeouts_work_on_every_backend() {
    for backend in Backend::ALL {
        let Some(mut poll) = poll_on(backend) else {
            continue;
        };
        let waker = Waker::new(poll.registry(), T).unwrap();
        let mut events = Events::with_capacity(4);
        // A tiny timeout is not a busy zero-timeout poll, but it does return.
        poll.poll(&mut events, Some(Duration::from_nanos(1)))
            .unwrap();
        assert!(events.is_empty(), "{backend}");
        waker.wake().unwrap();
        poll.poll(&mut events, Some(Duration::MAX)).unwrap();
        assert_eq!(events.get(0).map(|e| e.token()), Some(T), "{backend}");
    }
}
