//! Registration lifecycle: deregister and drop stop events, reregister changes token and
//! interest, misuse gives clean errors, other threads can register during a blocked poll.

mod util;

use std::fs::File;
use std::io::{self, Write};
#[cfg(unix)]
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ferrio::udp::UdpSocket;
#[cfg(unix)]
use ferrio::unix::{pipe, EventedFd};
#[cfg(windows)]
use ferrio::windows::EventedSocket;
use ferrio::{EventSet, Events, Poll, PollOpt, Token, TryRead};
#[cfg(windows)]
use std::os::windows::io::{AsRawHandle, AsRawSocket, RawSocket};
use util::{
    any_local_addr, assert_error_kind, expect_events, expect_no_events, next_readiness, poll_once,
    tcp_pair,
};

const T: Token = Token(1);

#[test]
fn no_events_after_deregister() {
    let (mut client, server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(&server, T, EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(8);
    client.write_all(b"x").unwrap();
    expect_events(&mut poll, &mut events, vec![(T, EventSet::readable())]);
    poll.deregister(&server).unwrap();
    // Level-triggered and still readable, but deregistered.
    expect_no_events(&mut poll, &mut events);
    // It can be registered again afterwards.
    poll.register(&server, Token(2), EventSet::readable(), PollOpt::level())
        .unwrap();
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(2), EventSet::readable())],
    );
}

#[test]
fn no_events_after_drop() {
    let (mut client, server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(&server, T, EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(8);
    drop(server);
    let _ = client.write(b"x");
    expect_no_events(&mut poll, &mut events);
}

#[test]
fn no_events_after_dropping_a_registered_source_whose_fd_was_cloned() {
    // epoll keys registrations by the open file description, not the fd: closing one fd of a
    // duplicated socket does not remove it. ferrio must deregister on drop.
    let (mut client, server) = tcp_pair();
    let clone = server.try_clone().unwrap();
    let mut poll = Poll::new().unwrap();
    poll.register(&server, T, EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(8);
    drop(server);
    client.write_all(b"still open through the clone").unwrap();
    expect_no_events(&mut poll, &mut events);

    // The clone is open and readable, and can be registered itself.
    poll.register(&clone, Token(2), EventSet::readable(), PollOpt::level())
        .unwrap();
    assert_eq!(
        next_readiness(&mut poll, &mut events, Token(2)),
        EventSet::readable()
    );
    let mut buf = [0u8; 64];
    assert!((&clone).try_read(&mut buf).unwrap().unwrap() > 0);
}

#[test]
fn no_events_after_dropping_a_cloned_udp_socket() {
    let a = UdpSocket::bound(&any_local_addr()).unwrap();
    let b = UdpSocket::bound(&any_local_addr()).unwrap();
    let b_clone = b.try_clone().unwrap();
    let mut poll = Poll::new().unwrap();
    poll.register(&b, T, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let mut events = Events::with_capacity(8);
    let dest = b.local_addr().unwrap();
    drop(b);
    a.send_to(b"x", &dest).unwrap();
    expect_no_events(&mut poll, &mut events);
    let mut buf = [0u8; 4];
    assert!(b_clone.recv_from(&mut buf).unwrap().is_some());
}

#[test]
fn reregister_changes_token_and_interest() {
    let (mut client, server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(&server, T, EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(8);
    expect_no_events(&mut poll, &mut events);

    poll.reregister(&server, Token(2), EventSet::writable(), PollOpt::level())
        .unwrap();
    assert_eq!(
        util::poll_events(&mut poll, &mut events),
        vec![(Token(2), EventSet::writable())]
    );

    // Back to readable only: data arrives, reported under the newest token.
    poll.reregister(&server, Token(3), EventSet::readable(), PollOpt::edge())
        .unwrap();
    client.write_all(b"r").unwrap();
    assert_eq!(
        next_readiness(&mut poll, &mut events, Token(3)),
        EventSet::readable()
    );
    expect_no_events(&mut poll, &mut events);
}

#[test]
fn register_twice_is_already_exists() {
    let (_client, server) = tcp_pair();
    let poll = Poll::new().unwrap();
    poll.register(&server, T, EventSet::readable(), PollOpt::edge())
        .unwrap();
    assert_error_kind(
        poll.register(&server, Token(2), EventSet::readable(), PollOpt::edge()),
        io::ErrorKind::AlreadyExists,
    );
    // The failed attempt changed nothing: deregister works once.
    poll.deregister(&server).unwrap();
    assert_error_kind(poll.deregister(&server), io::ErrorKind::NotFound);
}

#[test]
fn register_with_two_polls_is_already_exists() {
    let (_client, server) = tcp_pair();
    let first = Poll::new().unwrap();
    let second = Poll::new().unwrap();
    first
        .register(&server, T, EventSet::readable(), PollOpt::edge())
        .unwrap();
    assert_error_kind(
        second.register(&server, T, EventSet::readable(), PollOpt::edge()),
        io::ErrorKind::AlreadyExists,
    );
    // The other Poll does not own the registration.
    assert_error_kind(
        second.reregister(&server, T, EventSet::writable(), PollOpt::edge()),
        io::ErrorKind::NotFound,
    );
    assert_error_kind(second.deregister(&server), io::ErrorKind::NotFound);
    // After deregistering from the first, the second may take it.
    first.deregister(&server).unwrap();
    second
        .register(&server, T, EventSet::readable(), PollOpt::edge())
        .unwrap();
}

#[test]
fn reregister_or_deregister_unregistered_is_not_found() {
    let (_client, server) = tcp_pair();
    let poll = Poll::new().unwrap();
    assert_error_kind(
        poll.reregister(&server, T, EventSet::readable(), PollOpt::edge()),
        io::ErrorKind::NotFound,
    );
    assert_error_kind(poll.deregister(&server), io::ErrorKind::NotFound);

    #[cfg(unix)]
    {
        let (reader, _writer) = pipe().unwrap();
        assert_error_kind(poll.deregister(&reader), io::ErrorKind::NotFound);
    }
}

#[test]
fn reserved_token_is_invalid_input() {
    let (_client, server) = tcp_pair();
    let poll = Poll::new().unwrap();
    assert_error_kind(
        poll.register(
            &server,
            Token(usize::MAX),
            EventSet::readable(),
            PollOpt::edge(),
        ),
        io::ErrorKind::InvalidInput,
    );
    // Nothing was registered.
    assert_error_kind(poll.deregister(&server), io::ErrorKind::NotFound);
    poll.register(&server, T, EventSet::readable(), PollOpt::edge())
        .unwrap();
    assert_error_kind(
        poll.reregister(
            &server,
            Token(usize::MAX),
            EventSet::readable(),
            PollOpt::edge(),
        ),
        io::ErrorKind::InvalidInput,
    );
    // Through EventedFd (EventedSocket on Windows) as well.
    #[cfg(unix)]
    let (reader, _writer) = pipe().unwrap();
    #[cfg(unix)]
    let raw = EventedFd(&reader.as_raw_fd());
    #[cfg(windows)]
    let (_other, reader) = tcp_pair();
    #[cfg(windows)]
    let raw = EventedSocket(&reader.as_raw_socket());
    assert_error_kind(
        poll.register(
            &raw,
            Token(usize::MAX),
            EventSet::readable(),
            PollOpt::edge(),
        ),
        io::ErrorKind::InvalidInput,
    );
}

#[test]
fn zero_capacity_events_is_invalid_input() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(0);
    assert_eq!(events.capacity(), 0);
    assert_error_kind(
        poll.poll(&mut events, Some(Duration::ZERO)),
        io::ErrorKind::InvalidInput,
    );
}

#[cfg(unix)]
#[test]
fn evented_fd_on_a_regular_file_is_an_error() {
    let file = File::open(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let fd = file.as_raw_fd();
    let poll = Poll::new().unwrap();
    // epoll_ctl refuses regular files with EPERM.
    let err = poll
        .register(&EventedFd(&fd), T, EventSet::readable(), PollOpt::level())
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
}

/// Windows: only sockets can be registered; a file handle passed as a socket is refused.
#[cfg(windows)]
#[test]
fn evented_socket_on_a_file_is_an_error() {
    let file = File::open(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let not_a_socket = file.as_raw_handle() as RawSocket;
    let poll = Poll::new().unwrap();
    let err = poll
        .register(
            &EventedSocket(&not_a_socket),
            T,
            EventSet::readable(),
            PollOpt::level(),
        )
        .unwrap_err();
    // WSAENOTSOCK (Wine 8: ERROR_INVALID_HANDLE).
    let expected = if util::under_wine() { 6 } else { 10038 };
    assert_eq!(err.raw_os_error(), Some(expected), "{err}");
    // Nothing was left behind.
    assert_error_kind(
        poll.deregister(&EventedSocket(&not_a_socket)),
        io::ErrorKind::NotFound,
    );
}

/// Windows: `EventedSocket` misuse is a clean error, and a deregistered raw socket reports
/// nothing more.
#[cfg(windows)]
#[test]
fn evented_socket_misuse_is_a_clean_error() {
    let reader = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    reader.set_nonblocking(true).unwrap();
    let writer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = reader.local_addr().unwrap();
    let socket = reader.as_raw_socket();
    let mut poll = Poll::new().unwrap();
    let source = EventedSocket(&socket);
    assert_error_kind(poll.deregister(&source), io::ErrorKind::NotFound);
    assert_error_kind(
        poll.reregister(&source, T, EventSet::readable(), PollOpt::edge()),
        io::ErrorKind::NotFound,
    );
    poll.register(&source, T, EventSet::readable(), PollOpt::edge())
        .unwrap();
    assert_error_kind(
        poll.register(&source, T, EventSet::readable(), PollOpt::edge()),
        io::ErrorKind::AlreadyExists,
    );
    let mut events = Events::with_capacity(8);
    writer.send_to(b"p", to).unwrap();
    expect_events(&mut poll, &mut events, vec![(T, EventSet::readable())]);
    let mut buf = [0u8; 4];
    reader.recv_from(&mut buf).unwrap();
    poll.deregister(&source).unwrap();
    writer.send_to(b"q", to).unwrap();
    expect_no_events(&mut poll, &mut events);
}

#[cfg(unix)]
#[test]
fn evented_fd_misuse_is_reported_by_the_os() {
    let (reader, mut writer) = pipe().unwrap();
    let fd = reader.as_raw_fd();
    let mut poll = Poll::new().unwrap();
    let source = EventedFd(&fd);
    assert_error_kind(poll.deregister(&source), io::ErrorKind::NotFound);
    assert_error_kind(
        poll.reregister(&source, T, EventSet::readable(), PollOpt::edge()),
        io::ErrorKind::NotFound,
    );
    poll.register(&source, T, EventSet::readable(), PollOpt::edge())
        .unwrap();
    assert_error_kind(
        poll.register(&source, T, EventSet::readable(), PollOpt::edge()),
        io::ErrorKind::AlreadyExists,
    );
    let mut events = Events::with_capacity(8);
    writer.write_all(b"p").unwrap();
    expect_events(&mut poll, &mut events, vec![(T, EventSet::readable())]);
    poll.deregister(&source).unwrap();
    writer.write_all(b"q").unwrap();
    expect_no_events(&mut poll, &mut events);
}

#[test]
fn registering_from_another_thread_wakes_a_blocked_poll() {
    let mut poll = Poll::new().unwrap();
    let registry = poll.registry().clone();
    let (about_to_poll_tx, about_to_poll_rx) = mpsc::channel();
    let (result_tx, result_rx) = mpsc::channel();
    let poller = thread::spawn(move || {
        let mut events = Events::with_capacity(8);
        about_to_poll_tx.send(()).unwrap();
        // No timeout: only the registration made by the other thread can end this.
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
        poll
    });

    about_to_poll_rx.recv().unwrap();
    // A UDP socket is writable at once. The poller is blocked in poll or about to be; the
    // contract covers both.
    let socket = UdpSocket::bound(&any_local_addr()).unwrap();
    registry
        .register(&socket, Token(7), EventSet::writable(), PollOpt::edge())
        .unwrap();
    // A bounded wait, so a lost wake-up fails the test instead of hanging it.
    let got = result_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the blocked poll did not see a registration made by another thread");
    assert_eq!(got, vec![(Token(7), EventSet::writable())]);
    let poll = poller.join().unwrap();
    poll.deregister(&socket).unwrap();
}

#[test]
fn registry_is_usable_from_many_threads() {
    let mut poll = Poll::new().unwrap();
    let sockets: Vec<_> = thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let registry = poll.registry().clone();
                s.spawn(move || {
                    let socket = UdpSocket::bound(&any_local_addr()).unwrap();
                    registry
                        .register(&socket, Token(i), EventSet::writable(), PollOpt::edge())
                        .unwrap();
                    socket
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut events = Events::with_capacity(16);
    let expected = (0..4).map(|i| (Token(i), EventSet::writable())).collect();
    expect_events(&mut poll, &mut events, expected);
    drop(sockets);
}

#[test]
fn poll_timeouts_round_up_without_error() {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(4);
    // Nothing is registered: each returns Ok(0) after (at least) its timeout. Timing is not
    // asserted; only that the calls succeed and report nothing.
    assert_eq!(poll.poll(&mut events, Some(Duration::ZERO)).unwrap(), 0);
    assert_eq!(
        poll.poll(&mut events, Some(Duration::from_nanos(1)))
            .unwrap(),
        0
    );
    assert_eq!(
        poll.poll(&mut events, Some(Duration::from_micros(300)))
            .unwrap(),
        0
    );
    assert!(events.is_empty());
    assert_eq!(
        poll_once(&mut poll, &mut events, Duration::from_millis(1)),
        0
    );
}

#[test]
fn events_buffer_smaller_than_ready_sources_reports_the_rest_next_time() {
    let mut poll = Poll::new().unwrap();
    let sockets: Vec<_> = (0..5)
        .map(|i| {
            let s = UdpSocket::bound(&any_local_addr()).unwrap();
            poll.register(&s, Token(i), EventSet::writable(), PollOpt::level())
                .unwrap();
            s
        })
        .collect();
    let mut events = Events::with_capacity(2);
    let mut seen = std::collections::BTreeSet::new();
    // Linux epoll moves reported level-triggered sources to the back of its ready list, so
    // three polls of two cover all five.
    for _ in 0..3 {
        assert_eq!(
            poll.poll(&mut events, Some(Duration::from_secs(5)))
                .unwrap(),
            2
        );
        assert_eq!(events.len(), 2);
        assert_eq!(events.iter().len(), 2);
        seen.extend(events.iter().map(|e| e.token().0));
    }
    assert_eq!(seen, (0..5).collect());
    drop(sockets);
}

#[test]
fn dropping_the_poll_before_its_sources_is_fine() {
    let (_client, server) = tcp_pair();
    let poll = Poll::new().unwrap();
    poll.register(&server, T, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let registry = poll.registry().clone();
    drop(poll);
    // The registry keeps the selector alive; the source still deregisters cleanly.
    registry.deregister(&server).unwrap();
    registry
        .register(&server, T, EventSet::readable(), PollOpt::edge())
        .unwrap();
    drop(registry);
    drop(server);
}

#[test]
fn dropping_an_unregistered_clone_keeps_the_original_registered() {
    let (mut client, server) = tcp_pair();
    let mut poll = Poll::new().unwrap();
    poll.register(&server, T, EventSet::readable(), PollOpt::level())
        .unwrap();
    drop(server.try_clone().unwrap());
    let mut events = Events::with_capacity(8);
    client.write_all(b"x").unwrap();
    assert_eq!(
        next_readiness(&mut poll, &mut events, T),
        EventSet::readable()
    );
    // The clone was never registered, so it cannot be deregistered.
    let clone = server.try_clone().unwrap();
    assert_error_kind(poll.deregister(&clone), io::ErrorKind::NotFound);
}

/// Linux only: finds the selector's fds in `/proc/self/fd` by their `anon_inode` names.
#[cfg(target_os = "linux")]
#[test]
fn selector_and_waker_fds_are_cloexec() {
    // Poll and Waker do not expose their fds, so find them in /proc/self/fd. Every epoll and
    // eventfd in this test process is ferrio's; other tests running in parallel may close
    // theirs while we look, so an fd that vanishes or changes under us is skipped. Pipes
    // (poll(2)'s wake fd in its portable form) are counted only if they appeared with this
    // Poll: the process inherits others (cargo's jobserver).
    let fd_target = |entry: &std::fs::DirEntry| {
        let target = std::fs::read_link(entry.path()).ok()?;
        Some((entry.file_name(), target))
    };
    let before: std::collections::HashSet<_> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| fd_target(&e.ok()?))
        .collect();
    let poll = Poll::new().unwrap();
    let _waker = ferrio::Waker::new(poll.registry(), Token(9)).unwrap();
    let mut checked = (0, 0);
    for entry in std::fs::read_dir("/proc/self/fd").unwrap() {
        let entry = entry.unwrap();
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.to_string_lossy().into_owned();
        // The selector's own fd: epoll's, io_uring's; poll(2) has none, only its eventfd (a
        // pipe in its portable form, `--cfg ferrio_portable`; every pipe of this process but
        // the standard streams is ferrio's).
        let is_epoll = target == "anon_inode:[eventpoll]" || target == "anon_inode:[io_uring]";
        let is_new_pipe = target.starts_with("pipe:")
            && fd_target(&entry).is_some_and(|known| !before.contains(&known));
        let is_eventfd = target == "anon_inode:[eventfd]" || (cfg!(ferrio_portable) && is_new_pipe);
        if !is_epoll && !is_eventfd {
            continue;
        }
        let Ok((nonblocking, cloexec)) = util::fd_flags(fd) else {
            continue;
        };
        match std::fs::read_link(entry.path()) {
            Ok(again) if again.to_string_lossy() == target => {}
            _ => continue,
        }
        assert!(cloexec, "{target} fd {fd} is not close-on-exec");
        if is_eventfd {
            assert!(nonblocking, "eventfd {fd} is not non-blocking");
            checked.1 += 1;
        } else {
            checked.0 += 1;
        }
    }
    let selectors_expected = usize::from(poll.backend() != ferrio::Backend::Poll);
    assert!(
        checked.0 >= selectors_expected && checked.1 >= 1,
        "found {checked:?}"
    );
}
