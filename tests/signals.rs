//! `ferrio::signal::Signals`: real signals (`kill` to the process, `raise`/`pthread_kill` to a
//! thread, `kill` from another process) on every backend and registration mode; bursts
//! (coalescing, none lost between arrival and read); signals arriving while the loop sleeps
//! and while it dispatches; handlers installed by other code before and after ferrio's; bad
//! input; the fault-injection seam (feature `fault-injection`).
//!
//! Signal dispositions are process-wide, so every test holds `SERIAL`, and no test raises a
//! signal whose default action would end the process unless a source (or a handler of the
//! test's own) watches it. Scenarios that need a pristine process (default dispositions,
//! "the process dies of the signal") run in a child process (`run_child_test`).

// Not built on Windows: signals are a Unix source.
// Linux only: it watches threads and fds in `/proc` and uses real-time signals (the signal
// sources build on macOS and the BSDs too, through their own kqueues, but are not tested there).
#![cfg(target_os = "linux")]

mod util;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use ferrio::signal::{SignalSet, Signals};
use ferrio::unix::pipe;
use ferrio::{
    Backend, EventLoop, EventLoopConfig, EventSet, Events, Handler, Poll, PollOpt, Token,
};

use util::*;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

// --- allocation counting (one test asserts that taking signals allocates nothing) ---

struct CountingAllocator;

thread_local! {
    /// Allocations made by this thread (const-initialised, no destructor: using it from the
    /// allocator allocates nothing). Per thread, so the harness's own allocations (a test
    /// finishing on another thread) are not counted.
    static ALLOCATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn count_allocation() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn allocations() -> u64 {
    ALLOCATIONS.with(|n| n.get())
}

// SAFETY: defers every call to `System`, only counting.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_allocation();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

// --- helpers ---

const SIG: Token = Token(7);

/// Sends `signo` to this process (any thread may run the handler).
fn kill_self(signo: i32) {
    // SAFETY: kill with our own pid; the callers watch `signo` (or handle it).
    assert_eq!(unsafe { libc::kill(libc::getpid(), signo) }, 0);
}

/// Raises `signo` on this thread: the handler has run when this returns.
fn raise(signo: i32) {
    // SAFETY: as kill_self.
    assert_eq!(unsafe { libc::raise(signo) }, 0);
}

/// A `Poll` on `backend`, or `None` (with a note) if it is io_uring and the kernel refused it.
fn poll_on(backend: Backend) -> Option<Poll> {
    let poll = Poll::with_backend(backend).unwrap();
    if let Some(reason) = poll.fallback_reason() {
        precondition_missing(&format!("{backend}: {reason}"));
        return None;
    }
    Some(poll)
}

fn set(signals: &[i32]) -> SignalSet {
    signals.iter().copied().collect()
}

/// Polls (bounded) until `signals` reports readable under `token` and `pending` has given
/// every signal of `want`; returns everything `pending` gave.
#[track_caller]
fn wait_for(
    poll: &mut Poll,
    events: &mut Events,
    token: Token,
    signals: &Signals,
    want: SignalSet,
) -> SignalSet {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = SignalSet::empty();
    while want.iter().any(|s| !got.contains(s)) {
        assert!(
            Instant::now() < deadline,
            "signals {want:?} not reported; got {got:?}"
        );
        poll_once(poll, events, Duration::from_millis(500));
        if events
            .iter()
            .any(|e| e.token() == token && e.kind().is_readable())
        {
            for signo in signals.pending().unwrap() {
                got.insert(signo);
            }
        }
    }
    got
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn disposition(signo: i32) -> libc::sigaction {
    // SAFETY: a zeroed sigaction is valid; sigaction only writes it.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer, null new action (query only).
    assert_eq!(
        unsafe { libc::sigaction(signo, std::ptr::null(), &mut current) },
        0
    );
    current
}

fn set_disposition(signo: i32, handler: usize, flags: i32) -> libc::sigaction {
    // SAFETY: a zeroed sigaction is valid.
    let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
    new.sa_sigaction = handler;
    new.sa_flags = flags;
    // SAFETY: as above.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers; the handler (if a function) is an extern "C" fn of this file
    // with the signature `flags` announces.
    assert_eq!(unsafe { libc::sigaction(signo, &new, &mut old) }, 0);
    old
}

// --- delivery on every backend and mode ---

#[test]
fn a_signal_sent_with_kill_is_reported_on_every_backend_and_mode() {
    let _g = serial();
    for backend in Backend::ALL {
        let Some(mut poll) = poll_on(backend) else {
            continue;
        };
        for opts in [PollOpt::edge(), PollOpt::level(), PollOpt::oneshot()] {
            let signals = Signals::new([libc::SIGUSR1]).unwrap();
            assert_nonblocking_cloexec(std::os::fd::AsRawFd::as_raw_fd(&signals));
            let mut events = Events::with_capacity(8);
            poll.register(&signals, SIG, EventSet::readable(), opts)
                .unwrap();
            expect_no_events(&mut poll, &mut events);
            kill_self(libc::SIGUSR1);
            let got = wait_for(&mut poll, &mut events, SIG, &signals, set(&[libc::SIGUSR1]));
            assert_eq!(got, set(&[libc::SIGUSR1]), "{backend} {opts:?}");
            assert!(signals.pending().unwrap().is_empty());
            // Taken: nothing more to report, in any mode.
            expect_no_events(&mut poll, &mut events);
            if opts.is_oneshot() {
                poll.reregister(&signals, SIG, EventSet::readable(), opts)
                    .unwrap();
            }
            // And the next one is reported again.
            kill_self(libc::SIGUSR1);
            wait_for(&mut poll, &mut events, SIG, &signals, set(&[libc::SIGUSR1]));
            poll.deregister(&signals).unwrap();
        }
    }
}

#[test]
fn several_signals_of_one_source_are_each_reported() {
    let _g = serial();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let watched = [libc::SIGUSR1, libc::SIGUSR2, libc::SIGHUP, libc::SIGWINCH];
    let signals = Signals::new(watched).unwrap();
    assert_eq!(signals.signals(), set(&watched));
    poll.register(&signals, SIG, EventSet::readable(), PollOpt::edge())
        .unwrap();
    for s in watched {
        raise(s);
    }
    let got = wait_for(&mut poll, &mut events, SIG, &signals, set(&watched));
    assert_eq!(got, set(&watched));
    assert_eq!(got.iter().collect::<Vec<_>>(), {
        let mut v = watched.to_vec();
        v.sort();
        v
    });
}

#[test]
fn a_signal_sent_by_another_process_is_reported() {
    let _g = serial();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let signals = Signals::new([libc::SIGUSR2]).unwrap();
    poll.register(&signals, SIG, EventSet::readable(), PollOpt::level())
        .unwrap();
    let status = Command::new("sh")
        .args(["-c", &format!("kill -USR2 {}", std::process::id())])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for(&mut poll, &mut events, SIG, &signals, set(&[libc::SIGUSR2]));
}

// --- several sources, several loops ---

#[test]
fn every_source_in_every_loop_sees_the_signal() {
    let _g = serial();
    const ROUNDS: usize = 20;
    let backends: Vec<Backend> = Backend::ALL.into_iter().collect();
    let ready = Arc::new(Barrier::new(backends.len() + 1));
    let (done_tx, done_rx) = mpsc::channel::<(Backend, usize)>();
    let (go_txs, go_rxs): (Vec<_>, Vec<_>) =
        (0..backends.len()).map(|_| mpsc::channel::<()>()).unzip();
    let mut threads = Vec::new();
    for (backend, go) in backends.iter().copied().zip(go_rxs) {
        let ready = Arc::clone(&ready);
        let done = done_tx.clone();
        threads.push(thread::spawn(move || {
            // On io_uring fallback this is epoll: still another loop with its own sources.
            let mut poll = Poll::with_backend(backend).unwrap();
            let mut events = Events::with_capacity(8);
            let a = Signals::new([libc::SIGUSR1]).unwrap();
            let b = Signals::new([libc::SIGUSR1, libc::SIGUSR2]).unwrap();
            poll.register(&a, Token(1), EventSet::readable(), PollOpt::edge())
                .unwrap();
            poll.register(&b, Token(2), EventSet::readable(), PollOpt::level())
                .unwrap();
            ready.wait();
            for round in 0..ROUNDS {
                go.recv().unwrap();
                wait_for(&mut poll, &mut events, Token(1), &a, set(&[libc::SIGUSR1]));
                wait_for(&mut poll, &mut events, Token(2), &b, set(&[libc::SIGUSR1]));
                done.send((backend, round)).unwrap();
            }
        }));
    }
    ready.wait();
    for round in 0..ROUNDS {
        for go in &go_txs {
            go.send(()).unwrap();
        }
        kill_self(libc::SIGUSR1);
        for _ in 0..backends.len() {
            let (_, r) = done_rx.recv_timeout(Duration::from_secs(20)).unwrap();
            assert_eq!(r, round);
        }
    }
    for t in threads {
        t.join().unwrap();
    }
}

// --- bursts ---

#[test]
fn a_burst_is_coalesced_per_signal() {
    let _g = serial();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let signals = Signals::new([libc::SIGUSR1, libc::SIGUSR2]).unwrap();
    poll.register(&signals, SIG, EventSet::readable(), PollOpt::edge())
        .unwrap();
    for _ in 0..10_000 {
        raise(libc::SIGUSR1);
        raise(libc::SIGUSR2);
    }
    // Ten thousand deliveries each, one pending signal each, and no byte left over to make
    // the source readable after the take.
    let got = wait_for(
        &mut poll,
        &mut events,
        SIG,
        &signals,
        set(&[libc::SIGUSR1, libc::SIGUSR2]),
    );
    assert_eq!(got.len(), 2);
    assert!(signals.pending().unwrap().is_empty());
    expect_no_events(&mut poll, &mut events);
}

/// A sender blasts signals while the reader drains and takes concurrently, then plays
/// ping-pong (send one, wait until the reader has taken it). A lost wake-up in the blast (a
/// bit left set without a byte in the pipe, or a byte drained before its bit was taken)
/// leaves the source silent for good, so the ping-pong phase waits in vain and fails.
#[test]
fn no_signal_is_lost_between_arrival_and_read_on_every_backend() {
    let _g = serial();
    const BLAST: u64 = 20_000;
    const PINGS: u64 = 200;
    for backend in Backend::ALL {
        let Some(mut poll) = poll_on(backend) else {
            continue;
        };
        for opts in [PollOpt::edge(), PollOpt::level()] {
            let signals = Signals::new([libc::SIGUSR1, libc::SIGUSR2]).unwrap();
            poll.register(&signals, SIG, EventSet::readable(), opts)
                .unwrap();
            let seen = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
            let stop = Arc::new(AtomicBool::new(false));
            let sender = {
                let seen = Arc::clone(&seen);
                let stop = Arc::clone(&stop);
                thread::spawn(move || {
                    let pick = |i: u64| {
                        if i % 3 == 0 {
                            (libc::SIGUSR2, 1)
                        } else {
                            (libc::SIGUSR1, 0)
                        }
                    };
                    // Process-directed: the kernel picks the thread, often this one, so the
                    // handler races the reader's drain and take.
                    for i in 0..BLAST {
                        kill_self(pick(i).0);
                    }
                    for i in 0..PINGS {
                        let (signo, index) = pick(i);
                        let before = seen[index].load(Ordering::SeqCst);
                        kill_self(signo);
                        let deadline = Instant::now() + Duration::from_secs(10);
                        while seen[index].load(Ordering::SeqCst) == before {
                            if Instant::now() > deadline {
                                stop.store(true, Ordering::SeqCst);
                                panic!("ping {i} ({signo}) was never reported");
                            }
                            thread::yield_now();
                        }
                    }
                    stop.store(true, Ordering::SeqCst);
                })
            };
            let mut events = Events::with_capacity(8);
            let mut takes = 0u64;
            while !stop.load(Ordering::SeqCst) {
                poll_once(&mut poll, &mut events, Duration::from_millis(50));
                if events.iter().any(|e| e.token() == SIG) {
                    takes += 1;
                    for signo in signals.pending().unwrap() {
                        let index = usize::from(signo == libc::SIGUSR2);
                        seen[index].fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
            sender.join().expect("a signal was lost");
            let reported = seen[0].load(Ordering::SeqCst) + seen[1].load(Ordering::SeqCst);
            println!(
                "{backend} {opts:?}: {} signals sent, {takes} takes reported {reported}",
                BLAST + PINGS
            );
            assert!(reported >= PINGS);
        }
    }
}

#[test]
fn taking_signals_allocates_nothing() {
    let _g = serial();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let signals = Signals::new([libc::SIGUSR1, libc::SIGUSR2]).unwrap();
    poll.register(&signals, SIG, EventSet::readable(), PollOpt::edge())
        .unwrap();
    // Warm up.
    raise(libc::SIGUSR1);
    poll.poll(&mut events, Some(Duration::from_secs(5)))
        .unwrap();
    let _ = signals.pending().unwrap();
    // The counter counts this thread's allocations.
    let probe = allocations();
    drop(std::hint::black_box(Box::new(1u64)));
    assert_eq!(allocations(), probe + 1);
    let before = allocations();
    let mut seen = 0;
    for _ in 0..100 {
        raise(libc::SIGUSR1);
        raise(libc::SIGUSR2);
        poll.poll(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        for event in &events {
            if event.token() == SIG {
                for signo in signals.pending().unwrap() {
                    seen += signo as usize;
                }
            }
        }
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations while taking signals"
    );
    assert_eq!(seen, 100 * (libc::SIGUSR1 + libc::SIGUSR2) as usize);
}

// --- in the EventLoop: while it sleeps, while it dispatches ---

struct LoopHandler {
    signals: Signals,
    pipe_reader: Option<ferrio::unix::PipeReader>,
    got: SignalSet,
    want: SignalSet,
    interrupted: usize,
    ticks: Arc<AtomicUsize>,
    raise_in_ready: Option<i32>,
    raise_in_timeout: Option<i32>,
}

const PIPE: Token = Token(8);

impl Handler for LoopHandler {
    type Timeout = ();
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<Self>, token: Token, _: EventSet) {
        match token {
            SIG => {
                for signo in self.signals.pending().unwrap() {
                    self.got.insert(signo);
                }
                if self.want.iter().all(|s| self.got.contains(s)) {
                    event_loop.shutdown();
                }
            }
            PIPE => {
                // Dispatching: a signal raised now must be reported in a later iteration.
                if let Some(signo) = self.raise_in_ready.take() {
                    raise(signo);
                }
                if let Some(reader) = &self.pipe_reader {
                    let mut buf = [0u8; 16];
                    let _ = std::io::Read::read(&mut &*reader, &mut buf);
                }
            }
            _ => unreachable!(),
        }
    }

    fn timeout(&mut self, _: &mut EventLoop<Self>, _: ()) {
        if let Some(signo) = self.raise_in_timeout.take() {
            raise(signo);
        }
    }

    fn interrupted(&mut self, _: &mut EventLoop<Self>) {
        self.interrupted += 1;
    }

    fn tick(&mut self, _: &mut EventLoop<Self>) {
        self.ticks.fetch_add(1, Ordering::SeqCst);
    }
}

fn handler(signals: Signals, want: &[i32]) -> LoopHandler {
    LoopHandler {
        signals,
        pipe_reader: None,
        got: SignalSet::empty(),
        want: set(want),
        interrupted: 0,
        ticks: Arc::new(AtomicUsize::new(0)),
        raise_in_ready: None,
        raise_in_timeout: None,
    }
}

/// The scheduler state of thread `tid` of this process (`S`: sleeping in a wait).
fn thread_state(tid: libc::pid_t) -> char {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.chars().next().unwrap()
}

/// Waits (bounded) until the loop thread `tid` has finished `ticks` iterations and is asleep.
fn wait_until_asleep(tid: libc::pid_t, ticks: &AtomicUsize, after: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while ticks.load(Ordering::SeqCst) < after || thread_state(tid) != 'S' {
        assert!(Instant::now() < deadline, "the loop never went to sleep");
        thread::yield_now();
    }
}

#[test]
fn a_signal_arriving_while_the_loop_sleeps_wakes_it_on_every_backend() {
    let _g = serial();
    for backend in Backend::ALL {
        for thread_directed in [false, true] {
            let signals = Signals::new([libc::SIGUSR1, libc::SIGTERM]).unwrap();
            let mut h = handler(signals, &[libc::SIGUSR1, libc::SIGTERM]);
            let ticks = Arc::clone(&h.ticks);
            let (tid_tx, tid_rx) = mpsc::channel();
            let looper = thread::spawn(move || {
                let mut event_loop: EventLoop<LoopHandler> =
                    EventLoop::configured(EventLoopConfig::new().backend(backend)).unwrap();
                event_loop
                    .register(&h.signals, SIG, EventSet::readable(), PollOpt::edge())
                    .unwrap();
                // SAFETY: gettid and pthread_self take no arguments.
                let ids = unsafe { (libc::gettid(), libc::pthread_self()) };
                tid_tx.send(ids).unwrap();
                event_loop.run(&mut h).unwrap();
                h
            });
            let (tid, pthread) = tid_rx.recv().unwrap();
            // No timer, no message: after its first iteration the loop sleeps in the
            // selector until the signal wakes it.
            wait_until_asleep(tid, &ticks, 0);
            for signo in [libc::SIGUSR1, libc::SIGTERM] {
                if thread_directed {
                    // Lands on the sleeping thread itself: EINTR, then the event.
                    // SAFETY: the loop thread is alive until it has seen both signals.
                    assert_eq!(unsafe { libc::pthread_kill(pthread, signo) }, 0);
                } else {
                    kill_self(signo);
                }
            }
            let h = looper.join().unwrap();
            assert_eq!(h.got, set(&[libc::SIGUSR1, libc::SIGTERM]), "{backend}");
            if thread_directed {
                println!(
                    "{backend}: thread-directed signals: {} interrupted wait(s)",
                    h.interrupted
                );
            }
        }
    }
}

#[test]
fn a_signal_arriving_while_the_loop_dispatches_is_reported_next() {
    let _g = serial();
    for backend in Backend::ALL {
        let signals = Signals::new([libc::SIGUSR2, libc::SIGHUP]).unwrap();
        let (reader, writer) = pipe().unwrap();
        let mut h = handler(signals, &[libc::SIGUSR2, libc::SIGHUP]);
        h.pipe_reader = Some(reader);
        h.raise_in_ready = Some(libc::SIGUSR2);
        h.raise_in_timeout = Some(libc::SIGHUP);
        let mut event_loop: EventLoop<LoopHandler> =
            EventLoop::configured(EventLoopConfig::new().backend(backend)).unwrap();
        event_loop
            .register(&h.signals, SIG, EventSet::readable(), PollOpt::edge())
            .unwrap();
        event_loop
            .register(
                h.pipe_reader.as_ref().unwrap(),
                PIPE,
                EventSet::readable(),
                PollOpt::level(),
            )
            .unwrap();
        let _timeout = event_loop.timeout_ms((), 1).unwrap();
        std::io::Write::write_all(&mut &writer, b"x").unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while h.got != h.want {
            assert!(Instant::now() < deadline, "{backend}: got {:?}", h.got);
            event_loop
                .run_once_timeout(&mut h, Some(Duration::from_millis(500)))
                .unwrap();
        }
        assert!(h.raise_in_ready.is_none() && h.raise_in_timeout.is_none());
    }
}

// --- dispositions: restore, reserved signals ---

#[test]
fn dropping_the_last_source_restores_the_previous_disposition() {
    let _g = serial();
    assert_eq!(disposition(libc::SIGUSR1).sa_sigaction, libc::SIG_DFL);
    let a = Signals::new([libc::SIGUSR1]).unwrap();
    let b = Signals::new([libc::SIGUSR1, libc::SIGUSR2]).unwrap();
    assert!(Signals::is_handler_installed(libc::SIGUSR1).unwrap());
    assert!(Signals::is_handler_installed(libc::SIGUSR2).unwrap());
    drop(a);
    assert!(Signals::is_handler_installed(libc::SIGUSR1).unwrap());
    drop(b);
    assert_eq!(disposition(libc::SIGUSR1).sa_sigaction, libc::SIG_DFL);
    assert_eq!(disposition(libc::SIGUSR2).sa_sigaction, libc::SIG_DFL);
    assert!(!Signals::is_handler_installed(libc::SIGUSR1).unwrap());

    // A previous SIG_IGN comes back too, and a watched ignored signal is still reported.
    let old = set_disposition(libc::SIGHUP, libc::SIG_IGN, 0);
    {
        let mut poll = Poll::new().unwrap();
        let mut events = Events::with_capacity(8);
        let signals = Signals::new([libc::SIGHUP]).unwrap();
        poll.register(&signals, SIG, EventSet::readable(), PollOpt::edge())
            .unwrap();
        raise(libc::SIGHUP);
        wait_for(&mut poll, &mut events, SIG, &signals, set(&[libc::SIGHUP]));
    }
    assert_eq!(disposition(libc::SIGHUP).sa_sigaction, libc::SIG_IGN);
    set_disposition(libc::SIGHUP, old.sa_sigaction, old.sa_flags);
}

#[test]
fn reserved_and_invalid_signals_are_invalid_input_and_leave_nothing_behind() {
    let _g = serial();
    let fds = open_fds();
    let bad = [
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
        libc::SIGTRAP,
        libc::SIGABRT,
        libc::SIGSYS,
        32,
        33,
        0,
        -1,
        65,
        i32::MAX,
        i32::MIN,
    ];
    for signo in bad {
        assert_error_kind(Signals::new([signo]), std::io::ErrorKind::InvalidInput);
        // Also when mixed with a valid one: nothing of the valid one is installed.
        assert_error_kind(
            Signals::new([libc::SIGUSR1, signo]),
            std::io::ErrorKind::InvalidInput,
        );
    }
    assert_error_kind(Signals::new([]), std::io::ErrorKind::InvalidInput);
    assert_error_kind(
        Signals::is_handler_installed(0),
        std::io::ErrorKind::InvalidInput,
    );
    assert_eq!(disposition(libc::SIGUSR1).sa_sigaction, libc::SIG_DFL);
    assert_eq!(open_fds(), fds);
    // The real-time signals applications may use are fine.
    let rt = Signals::new([libc::SIGRTMIN(), libc::SIGRTMAX()]).unwrap();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    poll.register(&rt, SIG, EventSet::readable(), PollOpt::edge())
        .unwrap();
    raise(libc::SIGRTMAX());
    wait_for(&mut poll, &mut events, SIG, &rt, set(&[libc::SIGRTMAX()]));
}

#[test]
fn sources_close_their_fds() {
    let _g = serial();
    let fds = open_fds();
    let sources: Vec<_> = (0..50)
        .map(|_| Signals::new([libc::SIGUSR1]).unwrap())
        .collect();
    assert_eq!(open_fds(), fds + 100);
    drop(sources);
    assert_eq!(open_fds(), fds);
}

// --- handlers of other code ---

static FOREIGN_INFO: AtomicUsize = AtomicUsize::new(0);
static FOREIGN_PLAIN: AtomicUsize = AtomicUsize::new(0);
/// The disposition the chaining foreign handler replaced (handler address, flags).
static FOREIGN_PREVIOUS: AtomicUsize = AtomicUsize::new(0);
static FOREIGN_PREVIOUS_FLAGS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn foreign_siginfo(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    assert!(!info.is_null());
    FOREIGN_INFO.fetch_add(1, Ordering::SeqCst);
}

extern "C" fn foreign_plain(_: libc::c_int) {
    FOREIGN_PLAIN.fetch_add(1, Ordering::SeqCst);
}

/// A well-behaved foreign handler: counts, then calls the handler it replaced.
extern "C" fn foreign_chaining(
    signo: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    FOREIGN_INFO.fetch_add(1, Ordering::SeqCst);
    let previous = FOREIGN_PREVIOUS.load(Ordering::SeqCst);
    if previous == libc::SIG_DFL || previous == libc::SIG_IGN {
        return;
    }
    if FOREIGN_PREVIOUS_FLAGS.load(Ordering::SeqCst) as i32 & libc::SA_SIGINFO != 0 {
        // SAFETY: installed with SA_SIGINFO, so a three-argument handler.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(previous) };
        f(signo, info, context);
    } else {
        // SAFETY: a one-argument handler.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(previous) };
        f(signo);
    }
}

fn fn_addr_info(f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)) -> usize {
    f as usize
}

#[test]
fn a_handler_installed_before_is_chained_to_and_restored() {
    let _g = serial();
    for (signo, siginfo) in [(libc::SIGUSR1, true), (libc::SIGUSR2, false)] {
        FOREIGN_INFO.store(0, Ordering::SeqCst);
        FOREIGN_PLAIN.store(0, Ordering::SeqCst);
        let (handler, flags, counter) = if siginfo {
            (
                fn_addr_info(foreign_siginfo),
                libc::SA_SIGINFO,
                &FOREIGN_INFO,
            )
        } else {
            (
                foreign_plain as extern "C" fn(libc::c_int) as usize,
                0,
                &FOREIGN_PLAIN,
            )
        };
        let original = set_disposition(signo, handler, flags);
        {
            let mut poll = Poll::new().unwrap();
            let mut events = Events::with_capacity(8);
            let signals = Signals::new([signo]).unwrap();
            poll.register(&signals, SIG, EventSet::readable(), PollOpt::edge())
                .unwrap();
            raise(signo);
            wait_for(&mut poll, &mut events, SIG, &signals, set(&[signo]));
            assert_eq!(counter.load(Ordering::SeqCst), 1, "the old handler ran");
        }
        // Restored: the foreign handler alone again.
        let now = disposition(signo);
        assert_eq!(now.sa_sigaction, handler);
        assert_eq!(now.sa_flags & libc::SA_SIGINFO, flags);
        raise(signo);
        assert_eq!(counter.load(Ordering::SeqCst), 2);
        set_disposition(signo, original.sa_sigaction, original.sa_flags);
    }
}

#[test]
fn a_chaining_handler_installed_after_keeps_the_sources_working_and_is_left_in_place() {
    let _g = serial();
    // SIGWINCH: its default action is to ignore, so a mistake here cannot end the process.
    let signo = libc::SIGWINCH;
    FOREIGN_INFO.store(0, Ordering::SeqCst);
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let signals = Signals::new([signo]).unwrap();
    poll.register(&signals, SIG, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let ours = set_disposition(signo, fn_addr_info(foreign_chaining), libc::SA_SIGINFO);
    FOREIGN_PREVIOUS_FLAGS.store(ours.sa_flags as usize, Ordering::SeqCst);
    FOREIGN_PREVIOUS.store(ours.sa_sigaction, Ordering::SeqCst);
    assert!(!Signals::is_handler_installed(signo).unwrap());

    raise(signo);
    wait_for(&mut poll, &mut events, SIG, &signals, set(&[signo]));
    assert_eq!(FOREIGN_INFO.load(Ordering::SeqCst), 1);

    // A second source for the signal still sees it (ferrio does not install itself twice).
    let second = Signals::new([signo]).unwrap();
    poll.register(&second, Token(9), EventSet::readable(), PollOpt::edge())
        .unwrap();
    assert_eq!(
        disposition(signo).sa_sigaction,
        fn_addr_info(foreign_chaining)
    );
    raise(signo);
    wait_for(&mut poll, &mut events, Token(9), &second, set(&[signo]));
    assert_eq!(FOREIGN_INFO.load(Ordering::SeqCst), 2);
    drop(second);
    drop(signals);

    // The newer handler stays (restoring the older disposition would remove it), and it
    // still works, chaining through ferrio's handler.
    assert_eq!(
        disposition(signo).sa_sigaction,
        fn_addr_info(foreign_chaining)
    );
    raise(signo);
    assert_eq!(FOREIGN_INFO.load(Ordering::SeqCst), 3);

    // Its owner removes it (back to the default): a new source installs ferrio's anew.
    set_disposition(signo, libc::SIG_DFL, 0);
    let again = Signals::new([signo]).unwrap();
    assert!(Signals::is_handler_installed(signo).unwrap());
    poll.register(&again, SIG, EventSet::readable(), PollOpt::edge())
        .unwrap();
    raise(signo);
    wait_for(&mut poll, &mut events, SIG, &again, set(&[signo]));
    assert_eq!(FOREIGN_INFO.load(Ordering::SeqCst), 3);
    drop(again);
    assert_eq!(disposition(signo).sa_sigaction, libc::SIG_DFL);
}

#[test]
fn a_handler_installed_after_that_does_not_chain_hides_the_signal_as_documented() {
    let _g = serial();
    let signo = libc::SIGURG; // default action: ignore
    FOREIGN_PLAIN.store(0, Ordering::SeqCst);
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let signals = Signals::new([signo]).unwrap();
    poll.register(&signals, SIG, EventSet::readable(), PollOpt::level())
        .unwrap();
    let ours = set_disposition(
        signo,
        foreign_plain as extern "C" fn(libc::c_int) as usize,
        0,
    );
    raise(signo);
    assert_eq!(FOREIGN_PLAIN.load(Ordering::SeqCst), 1);
    // Linux: the self-pipe is written only by ferrio's handler, which no longer runs.
    expect_no_events(&mut poll, &mut events);
    assert!(signals.pending().unwrap().is_empty());
    // Putting ferrio's handler back (as a well-behaved library's cleanup does) revives it.
    set_disposition(signo, ours.sa_sigaction, ours.sa_flags);
    raise(signo);
    wait_for(&mut poll, &mut events, SIG, &signals, set(&[signo]));
    drop(signals);
    assert_eq!(disposition(signo).sa_sigaction, libc::SIG_DFL);
}

// --- a pristine process: default dispositions for real ---

/// Spawns the `#[ignore]`d test `name` of this binary, waits for it to print `ready`, sends it
/// `signo`, and returns its exit status and output.
fn signal_child_test(name: &str, signo: i32) -> (std::process::ExitStatus, String) {
    let mut child = child_test_command(name)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "child ended early:\n{text}"
        );
        text.push_str(&line);
        if line.trim_end().ends_with("ready") {
            break;
        }
    }
    // SAFETY: kill with the pid of our own, unreaped child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signo) }, 0);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    text.push_str(&rest);
    (child.wait().unwrap(), text)
}

#[test]
fn a_watched_sigterm_from_another_process_does_not_kill_and_is_reported() {
    let _g = serial();
    let (status, out) = signal_child_test("child_watches_sigterm", libc::SIGTERM);
    assert!(status.success(), "{status:?}\n{out}");
    assert!(out.contains("child: got SIGTERM"), "{out}");
}

#[test]
#[ignore = "a child scenario: run by a_watched_sigterm_from_another_process_does_not_kill_and_is_reported"]
fn child_watches_sigterm() {
    child_scenario("child_watches_sigterm");
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let signals = Signals::new([libc::SIGTERM]).unwrap();
    poll.register(&signals, SIG, EventSet::readable(), PollOpt::edge())
        .unwrap();
    println!("ready");
    wait_for(&mut poll, &mut events, SIG, &signals, set(&[libc::SIGTERM]));
    println!("child: got SIGTERM");
}

#[test]
fn after_the_last_source_is_dropped_the_default_action_is_back() {
    let _g = serial();
    let (status, out) = signal_child_test("child_drops_its_sigint_source", libc::SIGINT);
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}\n{out}");
    assert!(!out.contains("child: still alive"), "{out}");
}

#[test]
#[ignore = "a child scenario: run by after_the_last_source_is_dropped_the_default_action_is_back"]
fn child_drops_its_sigint_source() {
    child_scenario("child_drops_its_sigint_source");
    // The disposition to come back is the default one: make it so first (a test run as a
    // background job of a non-interactive shell inherits SIGINT ignored).
    set_disposition(libc::SIGINT, libc::SIG_DFL, 0);
    let signals = Signals::new([libc::SIGINT]).unwrap();
    raise(libc::SIGINT); // watched: harmless
    assert!(signals.pending().unwrap().contains(libc::SIGINT));
    drop(signals);
    println!("ready");
    // The parent's SIGINT must end this process now; give it ample time, then fail.
    thread::sleep(Duration::from_secs(20));
    println!("child: still alive");
}

#[test]
fn sigchld_from_a_real_child_is_reported_with_the_previous_disposition_kept() {
    let _g = serial();
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(8);
    let signals = Signals::new([libc::SIGCHLD]).unwrap();
    poll.register(&signals, SIG, EventSet::readable(), PollOpt::edge())
        .unwrap();
    let status = Command::new("true").status().unwrap();
    assert!(status.success());
    wait_for(&mut poll, &mut events, SIG, &signals, set(&[libc::SIGCHLD]));
    drop(signals);
    assert_eq!(disposition(libc::SIGCHLD).sa_sigaction, libc::SIG_DFL);
}

// --- fault injection ---

#[cfg(feature = "fault-injection")]
mod faults {
    use super::*;
    use ferrio::__fault::{self, Fault};

    #[test]
    fn a_failing_sigaction_leaves_no_state_and_the_next_source_works() {
        let _g = serial();
        __fault::clear();
        let fds = open_fds();
        // The install's first sigaction (the query) fails.
        __fault::inject(Fault::new("sigaction", libc::EINVAL));
        let err = Signals::new([libc::SIGUSR1]).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
        assert_eq!(open_fds(), fds);
        assert_eq!(disposition(libc::SIGUSR1).sa_sigaction, libc::SIG_DFL);

        // The second signal's install fails after the first was installed: rolled back.
        // Calls: USR1 query, USR1 set, USR2 query (fails), then the rollback's calls.
        __fault::clear();
        __fault::inject(Fault::new("sigaction", libc::EINVAL).skip(2));
        let err = Signals::new([libc::SIGUSR1, libc::SIGUSR2]).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
        assert_eq!(disposition(libc::SIGUSR1).sa_sigaction, libc::SIG_DFL);
        assert_eq!(disposition(libc::SIGUSR2).sa_sigaction, libc::SIG_DFL);
        assert_eq!(open_fds(), fds);
        __fault::clear();

        let mut poll = Poll::new().unwrap();
        let mut events = Events::with_capacity(8);
        let signals = Signals::new([libc::SIGUSR1, libc::SIGUSR2]).unwrap();
        poll.register(&signals, SIG, EventSet::readable(), PollOpt::edge())
            .unwrap();
        raise(libc::SIGUSR2);
        wait_for(&mut poll, &mut events, SIG, &signals, set(&[libc::SIGUSR2]));
    }

    #[test]
    fn a_failing_pipe2_is_reported_and_leaves_nothing() {
        let _g = serial();
        __fault::clear();
        let fds = open_fds();
        __fault::inject(Fault::new("pipe2", libc::EMFILE));
        let err = Signals::new([libc::SIGUSR1]).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMFILE));
        assert_eq!(open_fds(), fds);
        assert_eq!(disposition(libc::SIGUSR1).sa_sigaction, libc::SIG_DFL);
        __fault::clear();
    }

    #[test]
    fn an_interrupted_or_failing_drain_loses_no_signal() {
        let _g = serial();
        __fault::clear();
        let mut poll = Poll::new().unwrap();
        let mut events = Events::with_capacity(8);
        let signals = Signals::new([libc::SIGUSR1]).unwrap();
        poll.register(&signals, SIG, EventSet::readable(), PollOpt::edge())
            .unwrap();
        raise(libc::SIGUSR1);
        // EINTR is retried inside `pending`.
        __fault::inject(Fault::new("read", libc::EINTR));
        wait_for(&mut poll, &mut events, SIG, &signals, set(&[libc::SIGUSR1]));
        assert_eq!(__fault::injected("read"), 1);
        // A hard error is reported, and the signal is still there for the next call.
        raise(libc::SIGUSR1);
        __fault::inject(Fault::new("read", libc::EIO));
        assert_eq!(
            signals.pending().unwrap_err().raw_os_error(),
            Some(libc::EIO)
        );
        assert!(signals.pending().unwrap().contains(libc::SIGUSR1));
        __fault::clear();
    }
}

// --- type promises ---

#[test]
fn signals_and_signal_sets_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Signals>();
    send_sync::<SignalSet>();
    assert_eq!(std::mem::size_of::<SignalSet>(), 8);
}
