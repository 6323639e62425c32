//! Resource hygiene: creating and dropping every kind of ferrio object 2,000 times leaves the
//! number of open fds (`/proc/self/fd`) and the heap bytes held by this thread unchanged.
//!
//! One test in its own binary, so no other test opens or closes fds meanwhile.
//!
//! Linux only: it counts fds in `/proc/self/fd`.
#![cfg(target_os = "linux")]
// Not built on Windows: it counts open fds in /proc/self/fd, which Windows does not have.
#![cfg(unix)]

mod util;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use ferrio::channel::channel;
use ferrio::tcp::{FdReserve, TcpBuilder, TcpListener, TcpStream};
use ferrio::udp::UdpSocket;
use ferrio::unix::{pipe, EventedFd, UnixDatagram, UnixListener, UnixStream};
use ferrio::{EventLoop, EventSet, Events, Handler, Poll, PollOpt, Token, Waker};

use util::*;

struct CountingAlloc;

thread_local! {
    /// Bytes allocated minus bytes freed by this thread while counting is on.
    static LIVE: Cell<Option<isize>> = const { Cell::new(None) };
}

fn add(delta: isize) {
    let _ = LIVE.try_with(|c| {
        if let Some(n) = c.get() {
            c.set(Some(n + delta));
        }
    });
}

// SAFETY: forwards every call unchanged to the system allocator; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        // SAFETY: `ptr` was allocated by `System` through `alloc` above with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        // SAFETY: the caller upholds `realloc`'s contract, which we pass on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

struct Nop;

impl Handler for Nop {
    type Timeout = u32;
    type Message = u32;
}

/// Creates, registers, uses and drops one of everything.
fn one_of_everything(dir: &std::path::Path) {
    let mut poll = Poll::new().unwrap();
    let waker = Waker::new(poll.registry(), Token(1)).unwrap();
    waker.wake().unwrap();
    drop(waker);

    let (tx, rx) = channel::<u32>(poll.registry(), Token(2), 4).unwrap();
    tx.send(1).unwrap();
    assert_eq!(rx.try_recv(), Some(1));
    drop((tx, rx));

    let mut event_loop: EventLoop<Nop> = EventLoop::new().unwrap();
    let sender = event_loop.channel();
    sender.send(5).unwrap();
    let _ = event_loop.timeout_ms(3, 1_000).unwrap();
    drop(event_loop); // with a message queued and a timeout pending
    drop(sender);

    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    let client = TcpStream::connect(&listener.local_addr().unwrap()).unwrap();
    poll.register(&client, Token(3), EventSet::writable(), PollOpt::edge())
        .unwrap();
    let server = accept_one(&listener);
    poll.register(&server, Token(4), EventSet::readable(), PollOpt::level())
        .unwrap();
    let clone = server.try_clone().unwrap();
    drop((client, server, clone));
    poll.register(&listener, Token(5), EventSet::readable(), PollOpt::edge())
        .unwrap();
    drop(listener);

    let built = TcpBuilder::v4()
        .unwrap()
        .reuse_address(true)
        .unwrap()
        .bind(&any_local_addr())
        .unwrap()
        .listen(8)
        .unwrap();
    drop(built);
    drop(FdReserve::new().unwrap());

    let udp = UdpSocket::bound(&any_local_addr()).unwrap();
    poll.register(&udp, Token(6), EventSet::readable(), PollOpt::edge())
        .unwrap();
    drop(udp);

    let (a, b) = UnixStream::pair().unwrap();
    poll.register(&a, Token(7), EventSet::readable(), PollOpt::edge())
        .unwrap();
    drop((a, b));
    let path = dir.join("listener.sock");
    let unix_listener = UnixListener::bind(&path).unwrap();
    let unix_client = UnixStream::connect(&path).unwrap();
    drop((unix_listener, unix_client));
    std::fs::remove_file(&path).unwrap();
    let (d1, d2) = UnixDatagram::pair().unwrap();
    drop((d1, d2));
    let (r, w) = pipe().unwrap();
    poll.register(&r, Token(8), EventSet::readable(), PollOpt::edge())
        .unwrap();
    let raw = w.as_raw_fd();
    poll.register(
        &EventedFd(&raw),
        Token(9),
        EventSet::writable(),
        PollOpt::edge(),
    )
    .unwrap();
    poll.deregister(&EventedFd(&raw)).unwrap();
    drop((r, w));

    let mut events = Events::with_capacity(16);
    poll.poll(&mut events, Some(std::time::Duration::ZERO))
        .unwrap();
}

#[test]
fn two_thousand_rounds_leak_no_fd_and_no_byte() {
    const ROUNDS: usize = 2_000;
    let dir: PathBuf = std::env::temp_dir().join(format!("ferrio-hygiene-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // Warm up once: first-use caches (std's thread info, the pattern block) are not leaks.
    one_of_everything(&dir);
    let fds = open_fds();
    LIVE.with(|c| c.set(Some(0)));
    for _ in 0..ROUNDS {
        one_of_everything(&dir);
    }
    let live = LIVE.with(|c| c.replace(None)).unwrap();
    let after = open_fds();
    std::fs::remove_dir_all(&dir).unwrap();
    println!("after {ROUNDS} rounds: fds {fds} -> {after}, heap bytes held {live}");
    assert_eq!(after, fds, "fds leaked");
    assert_eq!(live, 0, "heap bytes leaked");
}
