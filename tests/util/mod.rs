//! Helpers shared by the integration tests (each test file does `mod util;`).
//!
//! Every wait here is bounded: a test that would hang instead fails after a few seconds.
//! Nothing sleeps to synchronise; the negative checks (`expect_no_events`) poll with a short
//! timeout and assert that nothing at all was reported.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::fmt::Debug;
use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::os::fd::RawFd;
use std::time::Duration;

use ferrio::tcp::{TcpListener, TcpStream};
use ferrio::{Backend, EventSet, Events, Poll, PollOpt, Token};

/// Whether `backend` reports a half-close of a stream socket (the peer's FIN, or our
/// `shutdown(Read)`) as hup: every backend does except poll(2) where the OS has no
/// `POLLRDHUP` (its portable form, `--cfg ferrio_portable`; macOS and the BSDs but FreeBSD).
/// There a half-close shows as readable only, and the read returns 0 (documented on
/// `Backend::Poll`).
pub fn half_close_is_hup(backend: Backend) -> bool {
    backend != Backend::Poll
        || (cfg!(any(
            target_os = "linux",
            target_os = "android",
            target_os = "freebsd"
        )) && !cfg!(ferrio_portable))
}

/// What a half-close of a stream registered for reading is reported as on `backend`:
/// readable + hup + read-closed, or readable where [`half_close_is_hup`] is false.
pub fn half_close(backend: Backend) -> EventSet {
    if half_close_is_hup(backend) {
        EventSet::readable() | EventSet::hup() | EventSet::read_closed()
    } else {
        EventSet::readable()
    }
}

/// Set (to anything but `0`) by CI: a missing precondition (a tool, IPv6, a kernel feature) is
/// then a failure, not a note.
pub const STRICT_ENV: &str = "FERRIO_STRICT";

/// A test's precondition is missing. In CI (`FERRIO_STRICT` set) that fails the test; on a
/// developer's machine the test says so on stdout and the caller returns.
#[track_caller]
pub fn precondition_missing(what: &str) {
    if std::env::var_os(STRICT_ENV).is_some_and(|v| v != "0") {
        panic!("precondition missing ({STRICT_ENV} is set, so this fails): {what}");
    }
    println!("NOT TESTED here (set {STRICT_ENV}=1 to make this a failure): {what}");
}

/// Set by [`run_child_test`] in the child to the name of the scenario it runs; checked by
/// [`child_scenario`].
pub const CHILD_TEST_ENV: &str = "FERRIO_CHILD_TEST";

/// The first statement of every child scenario (an `#[ignore]`d test that a parent runs with
/// [`run_child_test`] or [`strace_child_test`]): fails unless this process was started by its
/// parent for `name`. So a scenario never passes by being run on its own (`cargo test --
/// --ignored`), and never changes process-wide state (signal dispositions, rlimits, seccomp) in a
/// test process shared with other tests.
#[track_caller]
pub fn child_scenario(name: &str) {
    let got = std::env::var_os(CHILD_TEST_ENV);
    assert!(
        got.as_deref() == Some(std::ffi::OsStr::new(name)),
        "{name} is a child scenario: its parent test runs it in a child process \
         (util::run_child_test); here {CHILD_TEST_ENV} is {got:?}"
    );
}

/// The arguments that run exactly the `#[ignore]`d test `name` of this binary.
fn child_test_args(name: &str) -> [&str; 6] {
    [
        name,
        "--exact",
        "--ignored",
        "--test-threads=1",
        "--nocapture",
        "--color=never",
    ]
}

/// A command that runs the child scenario `name` of this test binary: for a parent that must
/// do its part while the child runs (spawn it, then [`check_child_output`] its output).
pub fn child_test_command(name: &str) -> std::process::Command {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args(child_test_args(name))
        .env(CHILD_TEST_ENV, name);
    command
}

/// Asserts that the child running `name` was not killed by a signal, succeeded, ran exactly one
/// test and printed `marker`. Returns its stdout.
#[track_caller]
pub fn check_child_output(name: &str, output: &std::process::Output, marker: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            output.status.signal(),
            None,
            "child {name} was killed by a signal; stdout:\n{stdout}\nstderr:\n{stderr}"
        );
    }
    assert!(
        output.status.success(),
        "child {name} failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("test result: ok. 1 passed") && stdout.contains(marker),
        "child {name} must really run (one test passed, marker {marker:?} printed); \
         stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}

/// Runs the `#[ignore]`d test `name` of this test binary in a child process with `envs`, and
/// asserts that it ran (exactly one test passed), was not killed by a signal, and printed
/// `marker`. Returns its stdout. The child starts with [`child_scenario`]`(name)`.
#[track_caller]
pub fn run_child_test(name: &str, envs: &[(&str, &str)], marker: &str) -> String {
    let output = child_test_command(name)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    check_child_output(name, &output, marker)
}

/// Like [`run_child_test`], with the child traced by `strace -f` (plus `strace_args`, such as
/// `["-e", "trace=write"]`). Returns the trace, or `None` after [`precondition_missing`] if
/// strace is not installed or may not trace here.
#[track_caller]
pub fn strace_child_test(
    name: &str,
    envs: &[(&str, &str)],
    strace_args: &[&str],
    marker: &str,
) -> Option<String> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static TRACES: AtomicUsize = AtomicUsize::new(0);
    let strace_ok = std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !strace_ok {
        precondition_missing("strace is not installed (apt-get install strace)");
        return None;
    }
    let trace = std::env::temp_dir().join(format!(
        "ferrio-strace-{}-{name}-{}.txt",
        std::process::id(),
        TRACES.fetch_add(1, Ordering::Relaxed)
    ));
    // LeakSanitizer cannot run under ptrace: in an AddressSanitizer build the traced child
    // checks no leaks (the untraced tests still do).
    let asan_options = match std::env::var("ASAN_OPTIONS") {
        Ok(options) if !options.is_empty() => format!("{options}:detect_leaks=0"),
        _ => "detect_leaks=0".to_owned(),
    };
    let output = std::process::Command::new("strace")
        .args(["-f", "-o"])
        .arg(&trace)
        .args(strace_args)
        .arg(std::env::current_exe().unwrap())
        .args(child_test_args(name))
        .env(CHILD_TEST_ENV, name)
        .env("ASAN_OPTIONS", asan_options)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&trace).unwrap_or_default();
    let _ = std::fs::remove_file(&trace);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() && (stderr.contains("ptrace") || stderr.contains("PTRACE")) {
        precondition_missing(&format!("strace cannot trace here: {stderr}"));
        return None;
    }
    check_child_output(name, &output, marker);
    Some(text)
}

/// How long one poll of a positive check waits.
const POLL_TIMEOUT: Duration = Duration::from_millis(500);
/// How many polls a positive check makes at most (so it fails after about 5 s).
const MAX_POLLS: usize = 10;
/// How long a negative check waits for an event that must not come.
const NEGATIVE_TIMEOUT: Duration = Duration::from_millis(75);

/// `127.0.0.1:0`: any free port on the IPv4 loopback.
pub fn any_local_addr() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// `[::1]:0`: any free port on the IPv6 loopback.
pub fn any_local_ipv6_addr() -> SocketAddr {
    "[::1]:0".parse().unwrap()
}

/// Whether the IPv6 loopback can be bound here (some containers have no IPv6).
pub fn ipv6_available() -> bool {
    std::net::UdpSocket::bind(any_local_ipv6_addr()).is_ok()
}

/// Polls once, retrying a poll interrupted by a signal.
pub fn poll_once(poll: &mut Poll, events: &mut Events, timeout: Duration) -> usize {
    loop {
        match poll.poll(events, Some(timeout)) {
            Ok(n) => return n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("poll failed: {e}"),
        }
    }
}

/// Polls (a bounded number of times) until every `(token, readiness)` in `expected` has
/// been seen with at least that readiness. Spurious and extra events are tolerated.
///
/// Returns every event seen, in order, so callers can make further checks.
pub fn expect_events(
    poll: &mut Poll,
    events: &mut Events,
    mut expected: Vec<(Token, EventSet)>,
) -> Vec<(Token, EventSet)> {
    let mut seen = Vec::new();
    for _ in 0..MAX_POLLS {
        poll_once(poll, events, POLL_TIMEOUT);
        for event in events.iter() {
            seen.push((event.token(), event.kind()));
            expected.retain(|&(token, readiness)| {
                !(event.token() == token && event.kind().contains(readiness))
            });
        }
        if expected.is_empty() {
            return seen;
        }
    }
    panic!("expected events {expected:?} did not arrive; saw {seen:?}");
}

/// Polls (a bounded number of times) until an event for `token` arrives and returns its
/// readiness, for tests that assert the exact `EventSet`. Events for other tokens are
/// ignored.
pub fn next_readiness(poll: &mut Poll, events: &mut Events, token: Token) -> EventSet {
    let mut seen = Vec::new();
    for _ in 0..MAX_POLLS {
        poll_once(poll, events, POLL_TIMEOUT);
        for event in events.iter() {
            if event.token() == token {
                return event.kind();
            }
            seen.push((event.token(), event.kind()));
        }
    }
    panic!("no event for {token:?} arrived; saw {seen:?}");
}

/// Polls exactly once (waiting up to the positive timeout) and returns the events, for
/// level-triggered checks where the condition already holds.
pub fn poll_events(poll: &mut Poll, events: &mut Events) -> Vec<(Token, EventSet)> {
    poll_once(poll, events, POLL_TIMEOUT);
    events.iter().map(|e| (e.token(), e.kind())).collect()
}

/// Polls once with a short timeout and asserts that nothing was reported.
///
/// This is a bounded negative check, not synchronisation: it only proves that no event was
/// pending or arrived within the timeout.
pub fn expect_no_events(poll: &mut Poll, events: &mut Events) {
    poll_once(poll, events, NEGATIVE_TIMEOUT);
    let got: Vec<_> = events.iter().map(|e| (e.token(), e.kind())).collect();
    assert!(got.is_empty(), "expected no events, got {got:?}");
}

/// Asserts that `result` is a `WouldBlock` error.
#[track_caller]
pub fn assert_would_block<T: Debug>(result: io::Result<T>) {
    match result {
        Err(ref e) if e.kind() == io::ErrorKind::WouldBlock => {}
        other => panic!("expected WouldBlock, got {other:?}"),
    }
}

/// Asserts that `result` is an error of `kind`.
#[track_caller]
pub fn assert_error_kind<T: Debug>(result: io::Result<T>, kind: io::ErrorKind) {
    match result {
        Err(ref e) if e.kind() == kind => {}
        other => panic!("expected an error of kind {kind:?}, got {other:?}"),
    }
}

/// `(O_NONBLOCK set, FD_CLOEXEC set)` for `fd`, read with `fcntl`.
#[cfg(unix)]
pub fn fd_flags(fd: RawFd) -> io::Result<(bool, bool)> {
    // SAFETY: F_GETFL / F_GETFD take no pointer; a bad fd gives EBADF.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    let fdfl = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if fl == -1 || fdfl == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok((fl & libc::O_NONBLOCK != 0, fdfl & libc::FD_CLOEXEC != 0))
}

/// Asserts that `fd` is non-blocking and close-on-exec.
#[cfg(unix)]
#[track_caller]
pub fn assert_nonblocking_cloexec(fd: RawFd) {
    let (nonblocking, cloexec) = fd_flags(fd).expect("fcntl failed");
    assert!(nonblocking, "fd {fd} is not non-blocking");
    assert!(cloexec, "fd {fd} is not close-on-exec");
}

/// Whether this Windows test runs under Wine (whose ntdll exports `wine_get_version`), not on
/// Windows itself. A test asserts Windows' behaviour, and Wine's instead only where Wine is
/// known to differ (each such place says how); CI runs the Windows suite under Wine.
pub fn under_wine() -> bool {
    #[cfg(windows)]
    {
        use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
        // SAFETY: both names are NUL-terminated; ntdll is always loaded.
        unsafe {
            let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
            !ntdll.is_null() && GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()).is_some()
        }
    }
    #[cfg(not(windows))]
    {
        false
    }
}

/// Windows: the tests' portable spelling of a source's raw handle (`x.as_raw_fd()` reads the
/// socket there).
#[cfg(windows)]
pub trait AsRawFd {
    fn as_raw_fd(&self) -> std::os::windows::io::RawSocket;
}

#[cfg(windows)]
impl<T: std::os::windows::io::AsRawSocket> AsRawFd for T {
    fn as_raw_fd(&self) -> std::os::windows::io::RawSocket {
        self.as_raw_socket()
    }
}

/// Windows: asserts that `socket` is not inheritable (`HANDLE_FLAG_INHERIT` clear), the
/// counterpart of close-on-exec. Whether a socket is non-blocking cannot be read back on
/// Windows; the IO tests would block if it were not.
#[cfg(windows)]
#[track_caller]
pub fn assert_nonblocking_cloexec(socket: std::os::windows::io::RawSocket) {
    use windows_sys::Win32::Foundation::{GetHandleInformation, HANDLE, HANDLE_FLAG_INHERIT};
    let mut flags = 0u32;
    // SAFETY: a socket is a kernel handle; `flags` is valid for writes.
    let ok = unsafe { GetHandleInformation(socket as HANDLE, &mut flags) };
    assert_ne!(
        ok,
        0,
        "GetHandleInformation: {}",
        io::Error::last_os_error()
    );
    assert_eq!(
        flags & HANDLE_FLAG_INHERIT,
        0,
        "socket {socket} is inheritable"
    );
}

/// Accepts one connection from `listener`, waiting (bounded) on a private `Poll`.
pub fn accept_one(listener: &TcpListener) -> TcpStream {
    let mut poll = Poll::new().unwrap();
    poll.register(listener, Token(0), EventSet::readable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(4);
    for _ in 0..MAX_POLLS {
        if let Some((stream, _)) = listener.accept().unwrap() {
            poll.deregister(listener).unwrap();
            return stream;
        }
        poll_once(&mut poll, &mut events, POLL_TIMEOUT);
    }
    panic!("no connection to accept");
}

/// Waits (bounded, on a private `Poll`) until a connecting stream is writable, then checks
/// that the connect succeeded.
pub fn wait_connected(stream: &TcpStream) {
    let mut poll = Poll::new().unwrap();
    poll.register(stream, Token(0), EventSet::writable(), PollOpt::level())
        .unwrap();
    let mut events = Events::with_capacity(4);
    expect_events(
        &mut poll,
        &mut events,
        vec![(Token(0), EventSet::writable())],
    );
    poll.deregister(stream).unwrap();
    assert!(stream.take_error().unwrap().is_none());
}

/// A connected pair of ferrio streams over loopback: `(client, server)`. Both are fully
/// connected when this returns and neither is registered anywhere.
pub fn tcp_pair() -> (TcpStream, TcpStream) {
    tcp_pair_on(any_local_addr())
}

/// As [`tcp_pair`], on a listener bound to `addr`.
pub fn tcp_pair_on(addr: SocketAddr) -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind(&addr).unwrap();
    let client = TcpStream::connect(&listener.local_addr().unwrap()).unwrap();
    let server = accept_one(&listener);
    wait_connected(&client);
    (client, server)
}

/// A ferrio stream connected to a blocking std stream: `(ferrio side, std side)`, so a test
/// can hand the std side to a plain thread.
pub fn tcp_pair_with_std_peer() -> (TcpStream, std::net::TcpStream) {
    let listener = TcpListener::bind(&any_local_addr()).unwrap();
    let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let ours = accept_one(&listener);
    (ours, peer)
}

/// The period of the test byte pattern: prime, so it never lines up with power-of-two
/// buffer sizes.
const PERIOD: usize = 251;

/// The test byte pattern: byte `i` of a stream is `pattern(i)`.
pub fn pattern(i: usize) -> u8 {
    (i % PERIOD) as u8
}

/// The pattern repeated, so chunks are filled and checked with `memcpy`/`memcmp` speed even
/// in debug builds.
fn pattern_block() -> &'static [u8] {
    static BLOCK: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BLOCK.get_or_init(|| (0..PERIOD * 1024).map(pattern).collect())
}

/// Splits the stream range `offset..offset + len` into pieces that map onto `pattern_block`:
/// calls `f(start_in_buf, piece_of_block)` for each.
fn for_each_piece(len: usize, offset: usize, mut f: impl FnMut(usize, &'static [u8])) {
    let block = pattern_block();
    let max = block.len() - PERIOD;
    let mut done = 0;
    while done < len {
        let n = (len - done).min(max);
        let start = (offset + done) % PERIOD;
        f(done, &block[start..start + n]);
        done += n;
    }
}

/// Fills `buf` with the pattern starting at stream offset `offset`.
pub fn fill_pattern(buf: &mut [u8], offset: usize) {
    for_each_piece(buf.len(), offset, |at, piece| {
        buf[at..at + piece.len()].copy_from_slice(piece);
    });
}

/// Checks that `buf` holds the pattern starting at stream offset `offset`.
#[track_caller]
pub fn check_pattern(buf: &[u8], offset: usize) {
    for_each_piece(buf.len(), offset, |at, piece| {
        let got = &buf[at..at + piece.len()];
        if got != piece {
            let i = got.iter().zip(piece).position(|(a, b)| a != b).unwrap();
            panic!(
                "byte {} of the stream is {}, expected {}",
                offset + at + i,
                got[i],
                piece[i]
            );
        }
    });
}

/// A `Poll` on every backend of [`ferrio::Backend::ALL`] that runs here. A backend that falls
/// back to another is a missing precondition (a failure under `FERRIO_STRICT=1`, as in CI).
#[cfg(unix)]
pub fn polls() -> Vec<(ferrio::Backend, ferrio::Poll)> {
    let mut out = Vec::new();
    for backend in ferrio::Backend::ALL {
        let poll = ferrio::Poll::with_backend(backend).unwrap();
        if poll.backend() != backend {
            precondition_missing(&format!("{backend} runs here (fell back)"));
            continue;
        }
        out.push((backend, poll));
    }
    out
}
