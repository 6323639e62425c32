//! A process supervisor on the `EventLoop`: it starts workers, restarts them when they exit
//! (up to a budget, after a back-off), and on SIGTERM/SIGINT stops them all (SIGTERM, then
//! SIGKILL after a grace period) before it exits itself. Each worker is a
//! `ferrio::process::ChildExit` registered like any other source; the supervisor's own
//! signals come from a `ferrio::signal::Signals`.
//!
//! ```sh
//! cargo run --release --example supervisor             # self-check and measurements
//! cargo run --release --example supervisor -- serve 3  # supervise 3 long-running workers
//! ```
//!
//! The self-check runs four workers (re-executions of this binary): one that exits 0, one
//! that exits 3, one the supervisor kills with SIGKILL, each restarted three times; and one
//! that runs until it gets SIGTERM (it watches SIGTERM with a `Signals` of its own and exits
//! 0). When the three have used their budgets, the supervisor sends itself SIGTERM, which it
//! forwards. It checks every exit status, that every child was reaped (no zombie left), then
//! measures how many children per second it spawns and reaps, against std's blocking
//! `Child::wait` in the same process. Exit code 0 if all held, 1 otherwise.

use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use ferrio::process::{ChildExit, ExitMechanism};
use ferrio::signal::Signals;
use ferrio::unix::PipeReader;
use ferrio::util::Slab;
use ferrio::{EventLoop, EventSet, Handler, PollOpt, Token};

const SIGNALS: Token = Token(0);
/// Worker `i`'s exit source is `Token(FIRST + 2i)`, its stdout (readiness line) `FIRST + 2i + 1`.
const FIRST: usize = 2;
const GRACE: Duration = Duration::from_secs(3);
const BACKOFF: Duration = Duration::from_millis(5);

/// What a worker does (the arguments of `supervisor worker ...`).
#[derive(Clone, Debug)]
enum Job {
    /// Exits with `code` after `ms` milliseconds.
    Exit { ms: u64, code: i32 },
    /// Runs until SIGTERM (exits 0) — or until killed.
    UntilTerm,
}

impl Job {
    fn args(&self) -> Vec<String> {
        match self {
            Job::Exit { ms, code } => vec![
                "worker".into(),
                "exit".into(),
                ms.to_string(),
                code.to_string(),
            ],
            Job::UntilTerm => vec!["worker".into(), "until-term".into()],
        }
    }
}

/// What the self-check expects of a worker's exits.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Code(i32),
    Signal(i32),
}

struct Worker {
    name: &'static str,
    job: Job,
    restarts_left: u32,
    /// Kill the worker this long after it reported ready (the self-check's "hung" worker).
    kill_after: Option<Duration>,
    expect: Expect,
    running: Option<Running>,
    exits: Vec<ExitStatus>,
    starts: u32,
    /// A restart timer is set.
    restart_pending: bool,
}

impl Worker {
    /// Runs until the supervisor stops it (SIGTERM), never restarted by the self-check.
    fn is_service(&self) -> bool {
        matches!(self.job, Job::UntilTerm) && self.kill_after.is_none()
    }
}

struct Running {
    exit: ChildExit,
    stdout: PipeReader,
    ready: bool,
    /// The pending "kill it" timeout, cleared if the worker exits first (so it never hits
    /// the next run of the worker).
    kill_timer: Option<ferrio::Timeout>,
}

#[derive(Debug, Clone, Copy)]
enum Timer {
    Restart(usize),
    Kill(usize),
    Grace,
}

struct Supervisor {
    workers: Vec<Worker>,
    signals: Signals,
    stopping: bool,
    self_check: bool,
}

impl Supervisor {
    fn start(&mut self, event_loop: &mut EventLoop<Supervisor>, i: usize) -> io::Result<()> {
        let worker = &mut self.workers[i];
        let mut child = Command::new(std::env::current_exe()?)
            .args(worker.job.args())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = PipeReader::from_fd(OwnedFd::from(child.stdout.take().unwrap()))?;
        let exit = ChildExit::new(child)?;
        event_loop.register(
            &exit,
            Token(FIRST + 2 * i),
            EventSet::readable(),
            PollOpt::edge(),
        )?;
        event_loop.register(
            &stdout,
            Token(FIRST + 2 * i + 1),
            EventSet::readable(),
            PollOpt::edge(),
        )?;
        worker.starts += 1;
        worker.running = Some(Running {
            exit,
            stdout,
            ready: false,
            kill_timer: None,
        });
        Ok(())
    }

    fn on_exit(&mut self, event_loop: &mut EventLoop<Supervisor>, i: usize) {
        let worker = &mut self.workers[i];
        let Some(running) = &mut worker.running else {
            return;
        };
        let status = match running.exit.try_wait() {
            Ok(Some(status)) => status,
            Ok(None) => return, // spurious
            Err(e) => {
                eprintln!("supervisor: {}: {e} (reaped elsewhere?)", worker.name);
                worker.running = None;
                return;
            }
        };
        // Dropping the sources deregisters them.
        if let Some(timer) = worker.running.take().and_then(|r| r.kill_timer) {
            // False if it fired already (it cleared `kill_timer` then): nothing to undo.
            let _ = event_loop.clear_timeout(timer);
        }
        worker.exits.push(status);
        if !self.self_check {
            println!(
                "supervisor: {} (start {}) exited: {status}",
                worker.name, worker.starts
            );
        }
        if self.stopping {
            if self.workers.iter().all(|w| w.running.is_none()) {
                event_loop.shutdown();
            }
            return;
        }
        if worker.restarts_left > 0 {
            worker.restarts_left -= 1;
            worker.restart_pending = true;
            // Not kept: a restart always runs (it checks `stopping` itself).
            let _restart = event_loop.timeout(Timer::Restart(i), BACKOFF).unwrap();
        } else if self.self_check && self.budgets_used() {
            // Every restarting worker is done: time to test the shutdown path.
            // SAFETY: kill with our own pid; SIGTERM is watched by `self.signals`.
            unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
        }
    }

    /// Self-check: every restarting worker has used its budget and exited, and every
    /// service (runs until SIGTERM) is up.
    fn budgets_used(&self) -> bool {
        self.workers.iter().all(|w| {
            if w.is_service() {
                w.running.as_ref().is_some_and(|r| r.ready)
            } else {
                w.restarts_left == 0 && w.running.is_none() && !w.restart_pending
            }
        })
    }

    fn on_stdout(&mut self, event_loop: &mut EventLoop<Supervisor>, i: usize) {
        let kill_after = self.workers[i].kill_after;
        let Some(running) = &mut self.workers[i].running else {
            return;
        };
        let mut buf = [0u8; 64];
        loop {
            match (&running.stdout).read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if buf[..n].contains(&b'\n') && !running.ready {
                        running.ready = true;
                        if let Some(after) = kill_after {
                            running.kill_timer =
                                Some(event_loop.timeout(Timer::Kill(i), after).unwrap());
                        }
                        if self.self_check && self.budgets_used() {
                            // SAFETY: as in on_exit.
                            unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
                        }
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => break,
            }
        }
    }

    fn stop(&mut self, event_loop: &mut EventLoop<Supervisor>, why: &str) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        let running = self.workers.iter().filter(|w| w.running.is_some()).count();
        println!(
            "supervisor: {why}: stopping {running} workers (SIGTERM, SIGKILL after {GRACE:?})"
        );
        for worker in &mut self.workers {
            worker.restarts_left = 0;
            if let Some(running) = &mut worker.running {
                let _ = running.exit.send_signal(libc::SIGTERM);
            }
        }
        if running == 0 {
            event_loop.shutdown();
        } else {
            // Not kept: the loop ends when the last worker is gone or when it fires.
            let _grace = event_loop.timeout(Timer::Grace, GRACE).unwrap();
        }
    }
}

impl Handler for Supervisor {
    type Timeout = Timer;
    type Message = ();

    fn ready(&mut self, event_loop: &mut EventLoop<Supervisor>, token: Token, _: EventSet) {
        if token == SIGNALS {
            let pending = self.signals.pending().unwrap_or_default();
            for signo in pending {
                match signo {
                    libc::SIGTERM => self.stop(event_loop, "SIGTERM"),
                    libc::SIGINT => self.stop(event_loop, "SIGINT"),
                    _ => {}
                }
            }
            return;
        }
        let i = (token.0 - FIRST) / 2;
        if (token.0 - FIRST) % 2 == 0 {
            self.on_exit(event_loop, i);
        } else {
            self.on_stdout(event_loop, i);
        }
    }

    fn timeout(&mut self, event_loop: &mut EventLoop<Supervisor>, timer: Timer) {
        match timer {
            Timer::Restart(i) => {
                self.workers[i].restart_pending = false;
                if !self.stopping {
                    if let Err(e) = self.start(event_loop, i) {
                        eprintln!("supervisor: restarting {}: {e}", self.workers[i].name);
                    }
                }
            }
            Timer::Kill(i) => {
                if let Some(running) = &mut self.workers[i].running {
                    running.kill_timer = None;
                    let _ = running.exit.kill();
                }
            }
            Timer::Grace => {
                for worker in &mut self.workers {
                    if let Some(running) = &mut worker.running {
                        let _ = running.exit.kill();
                    }
                }
            }
        }
    }
}

// --- the worker side ----------------------------------------------------------------------

fn worker(args: &[String]) -> io::Result<()> {
    match args.first().map(String::as_str) {
        Some("exit") => {
            let ms: u64 = args[1].parse().unwrap();
            let code: i32 = args[2].parse().unwrap();
            println!("ready");
            std::thread::sleep(Duration::from_millis(ms));
            std::process::exit(code);
        }
        Some("until-term") => {
            // Watch SIGTERM before saying ready, so the supervisor's SIGTERM is never early.
            let mut poll = ferrio::Poll::new()?;
            let signals = Signals::new([libc::SIGTERM])?;
            poll.register(&signals, Token(0), EventSet::readable(), PollOpt::edge())?;
            println!("ready");
            let mut events = ferrio::Events::with_capacity(4);
            loop {
                match poll.poll(&mut events, None) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => other?,
                };
                if signals.pending()?.contains(libc::SIGTERM) {
                    std::process::exit(0);
                }
            }
        }
        Some("true") => std::process::exit(0),
        Some("until-eof") => {
            let mut sink = Vec::new();
            io::stdin().read_to_end(&mut sink)?;
            std::process::exit(0);
        }
        other => Err(io::Error::other(format!("unknown worker job {other:?}"))),
    }
}

// --- main ---------------------------------------------------------------------------------

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("worker") => worker(&args[1..]),
        Some("serve") => serve(args.get(1).and_then(|n| n.parse().ok()).unwrap_or(2)),
        None => self_check(),
        Some(other) => Err(io::Error::other(format!("unknown command {other}"))),
    };
    if let Err(e) = result {
        eprintln!("supervisor: FAILED: {e}");
        std::process::exit(1);
    }
}

fn run(workers: Vec<Worker>, self_check: bool) -> io::Result<Supervisor> {
    let mut event_loop = EventLoop::new()?;
    let signals = Signals::new([libc::SIGTERM, libc::SIGINT])?;
    event_loop.register(&signals, SIGNALS, EventSet::readable(), PollOpt::edge())?;
    let mut supervisor = Supervisor {
        workers,
        signals,
        stopping: false,
        self_check,
    };
    for i in 0..supervisor.workers.len() {
        supervisor.start(&mut event_loop, i)?;
    }
    event_loop.run(&mut supervisor)?;
    Ok(supervisor)
}

fn serve(n: usize) -> io::Result<()> {
    let workers = (0..n)
        .map(|_| Worker {
            name: "worker",
            job: Job::Exit { ms: 1000, code: 0 },
            restarts_left: u32::MAX,
            kill_after: None,
            expect: Expect::Code(0),
            running: None,
            exits: Vec::new(),
            starts: 0,
            restart_pending: false,
        })
        .collect();
    println!("supervisor: {n} workers restarting every second; SIGINT or SIGTERM stops");
    run(workers, false)?;
    println!("supervisor: all workers stopped");
    Ok(())
}

/// Children of this process that are zombies (scans /proc).
fn zombie_children() -> Vec<u32> {
    let me = std::process::id().to_string();
    let mut zombies = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        if fields.len() > 1 && fields[0] == "Z" && fields[1] == me {
            zombies.push(pid);
        }
    }
    zombies
}

fn self_check() -> io::Result<()> {
    let worker = |name, job, restarts, kill_after, expect| Worker {
        name,
        job,
        restarts_left: restarts,
        kill_after,
        expect,
        running: None,
        exits: Vec::new(),
        starts: 0,
        restart_pending: false,
    };
    let workers = vec![
        worker(
            "exits-0",
            Job::Exit { ms: 10, code: 0 },
            3,
            None,
            Expect::Code(0),
        ),
        worker(
            "exits-3",
            Job::Exit { ms: 1, code: 3 },
            3,
            None,
            Expect::Code(3),
        ),
        worker(
            "hangs",
            Job::UntilTerm,
            3,
            Some(Duration::from_millis(5)),
            Expect::Signal(libc::SIGKILL),
        ),
        worker("until-term", Job::UntilTerm, 0, None, Expect::Code(0)),
    ];
    let started = Instant::now();
    let supervisor = run(workers, true)?;
    let elapsed = started.elapsed();
    let mut failures = Vec::new();
    for w in &supervisor.workers {
        let want_starts = if w.is_service() { 1 } else { 4 };
        if w.starts != want_starts || w.exits.len() != want_starts as usize {
            failures.push(format!(
                "{}: {} starts, {} exits, wanted {want_starts}",
                w.name,
                w.starts,
                w.exits.len()
            ));
        }
        for status in &w.exits {
            let got = match (status.code(), status.signal()) {
                (Some(code), _) => Expect::Code(code),
                (_, Some(signo)) => Expect::Signal(signo),
                _ => Expect::Code(-1),
            };
            if got != w.expect {
                failures.push(format!(
                    "{}: exited {status}, expected {:?}",
                    w.name, w.expect
                ));
            }
        }
    }
    let zombies = zombie_children();
    if !zombies.is_empty() {
        failures.push(format!("zombie children left: {zombies:?}"));
    }
    if !failures.is_empty() {
        return Err(io::Error::other(failures.join("; ")));
    }
    let total: u32 = supervisor.workers.iter().map(|w| w.starts).sum();
    println!(
        "supervisor: {total} worker runs, every exit status as expected (0, 3, SIGKILL, 0 after \
         SIGTERM), restarts and shutdown in {:.0} ms, no zombie: ok",
        elapsed.as_secs_f64() * 1000.0
    );
    measure()
}

/// Repetitions of each measurement, run interleaved (A B A B ...) so a slow phase of the shared
/// machine hits both alike; medians are reported.
const REPS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Children spawned and reaped per second: short-lived children, 50 at a time, reaped by
/// ferrio sources on one loop, against std's blocking `Child::wait` on each, same process.
/// Then reaping alone ([`reap_at_once`]).
fn measure() -> io::Result<()> {
    const TOTAL: usize = 300;
    let exe = std::env::current_exe()?;
    let (mut ferrio, mut std, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut backend = None;
    for _ in 0..REPS {
        let (f, b) = spawn_and_reap_ferrio(&exe, TOTAL)?;
        let s = spawn_and_wait_std(&exe, TOTAL)?;
        backend = Some(b);
        ferrio.push(TOTAL as f64 / f.as_secs_f64());
        std.push(TOTAL as f64 / s.as_secs_f64());
        ratios.push(f.as_secs_f64() / s.as_secs_f64());
    }
    println!(
        "children spawned and reaped per second ({TOTAL} children, {BATCH} at a time, median of \
         {REPS} interleaved runs): ferrio ChildExit on one loop ({}) {:.0}/s, std Child::wait \
         {:.0}/s (median ratio of times {:.2})",
        backend.unwrap(),
        median(ferrio),
        median(std),
        median(ratios)
    );

    const AT_ONCE: usize = 200;
    let (mut ferrio, mut std, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut mechanism = None;
    for _ in 0..REPS {
        let (f, m) = reap_at_once(&exe, AT_ONCE, true)?;
        let (s, _) = reap_at_once(&exe, AT_ONCE, false)?;
        mechanism = m;
        ferrio.push(AT_ONCE as f64 / f.as_secs_f64());
        std.push(AT_ONCE as f64 / s.as_secs_f64());
        ratios.push(f.as_secs_f64() / s.as_secs_f64());
    }
    println!(
        "children reaped per second ({AT_ONCE} exiting at once, from the moment they are told to \
         exit until the last status; median of {REPS} interleaved runs): ferrio ChildExit on one \
         loop ({:?}) {:.0}/s, std Child::wait in turn {:.0}/s (median ratio of times {:.2})",
        mechanism.unwrap(),
        median(ferrio),
        median(std),
        median(ratios)
    );
    let zombies = zombie_children();
    if !zombies.is_empty() {
        return Err(io::Error::other(format!(
            "zombies after the measurement: {zombies:?}"
        )));
    }
    Ok(())
}

const BATCH: usize = 50;

fn spawn_true(exe: &std::path::Path) -> io::Result<std::process::Child> {
    Command::new(exe).args(["worker", "true"]).spawn()
}

/// `total` children, `BATCH` in flight: each exit is reaped by its source and replaced.
fn spawn_and_reap_ferrio(
    exe: &std::path::Path,
    total: usize,
) -> io::Result<(Duration, ferrio::Backend)> {
    let mut poll = ferrio::Poll::new()?;
    let mut events = ferrio::Events::with_capacity(BATCH);
    let mut slab: Slab<ChildExit> = Slab::new(BATCH);
    let started = Instant::now();
    let (mut spawned, mut reaped) = (0, 0);
    while reaped < total {
        while spawned < total && slab.remaining() > 0 {
            let exit = ChildExit::new(spawn_true(exe)?)?;
            let token = slab
                .insert(exit)
                .map_err(|_| io::Error::other("slab full"))?;
            let exit = slab.get(token).unwrap();
            poll.register(exit, token, EventSet::readable(), PollOpt::edge())?;
            spawned += 1;
        }
        match poll.poll(&mut events, Some(Duration::from_secs(10))) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        };
        // (A child std reaped inside `new`, already exited, is readable at once too.)
        for event in &events {
            let token = event.token();
            if let Some(exit) = slab.get_mut(token) {
                if exit.try_wait()?.is_some() {
                    slab.remove(token);
                    reaped += 1;
                }
            }
        }
    }
    Ok((started.elapsed(), poll.backend()))
}

/// `total` children, `BATCH` at a time, each waited for with std's blocking `wait`.
fn spawn_and_wait_std(exe: &std::path::Path, total: usize) -> io::Result<Duration> {
    let started = Instant::now();
    let mut done = 0;
    while done < total {
        let children: Vec<_> = (0..BATCH.min(total - done))
            .map(|_| spawn_true(exe))
            .collect::<io::Result<_>>()?;
        for mut child in children {
            child.wait()?;
            done += 1;
        }
    }
    Ok(started.elapsed())
}

/// Reaping alone: `n` children block on one pipe; the clock runs from closing it (all exit at
/// once) until the last is reaped, by ferrio sources on one loop or by `Child::wait` in turn.
fn reap_at_once(
    exe: &std::path::Path,
    n: usize,
    with_ferrio: bool,
) -> io::Result<(Duration, Option<ExitMechanism>)> {
    let mut fds = [-1; 2];
    // SAFETY: fds has room for two fds. (Plain pipe + FD_CLOEXEC: macOS has no pipe2, and no
    // other thread forks meanwhile.)
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh fds owned by nobody else.
    let (read, gate) = unsafe {
        use std::os::fd::FromRawFd;
        (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
    };
    for fd in [&read, &gate] {
        use std::os::fd::AsRawFd;
        // SAFETY: F_SETFD takes an int flag; the fd is ours.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    let children: Vec<_> = (0..n)
        .map(|_| {
            Command::new(exe)
                .args(["worker", "until-eof"])
                .stdin(Stdio::from(read.try_clone()?))
                .spawn()
        })
        .collect::<io::Result<_>>()?;
    drop(read);
    if !with_ferrio {
        let started = Instant::now();
        drop(gate);
        for mut child in children {
            child.wait()?;
        }
        return Ok((started.elapsed(), None));
    }
    let mut poll = ferrio::Poll::new()?;
    let mut events = ferrio::Events::with_capacity(256);
    let mut exits = Vec::new();
    let mut mechanism = None;
    for (i, child) in children.into_iter().enumerate() {
        let exit = ChildExit::new(child)?;
        mechanism = Some(exit.mechanism());
        poll.register(&exit, Token(i), EventSet::readable(), PollOpt::edge())?;
        exits.push(Some(exit));
    }
    let started = Instant::now();
    drop(gate);
    let mut left = n;
    while left > 0 {
        match poll.poll(&mut events, Some(Duration::from_secs(10))) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        };
        for event in &events {
            let slot = &mut exits[event.token().0];
            if let Some(exit) = slot {
                if exit.try_wait()?.is_some() {
                    *slot = None;
                    left -= 1;
                }
            }
        }
    }
    Ok((started.elapsed(), mechanism))
}
