//! ferrio's benchmark suite: ferrio against hand-written epoll, mio 1.x, polling and tokio.
//!
//! ```sh
//! cargo bench -p ferrio-benches --bench suite                        # everything, a few minutes
//! cargo bench -p ferrio-benches --bench suite -- --quick             # under a minute
//! cargo bench -p ferrio-benches --bench suite -- --filter pingpong   # workloads whose name contains it
//! cargo bench -p ferrio-benches --bench suite -- --filter mio        # or one implementation (and its variants:
//!                                                                  # ferrio takes in "ferrio EventLoop"), everywhere
//! cargo bench -p ferrio-benches --bench suite -- --reps 9            # repetitions (default 3 quick, 5 full)
//! cargo bench -p ferrio-benches --bench suite -- --no-syscalls       # don't count syscalls (channel workload)
//! ```
//!
//! # How it measures
//!
//! A *bench* is one workload (say "pingpong 2 threads") with one function per implementation
//! (`fn(&Config) -> Sample`). The harness runs the implementations interleaved, A B C A B C
//! ..., `reps` times, so a slow phase of the machine hits them all alike, and reports the
//! median of each. Every figure is turned into a *cost* (ns per operation) before ratios are
//! taken, so "vs epoll 1.20" always means "20% more time per operation than raw epoll",
//! whether the table shows a rate or a time.
//!
//! Allocations are counted by a global allocator over the measured window only (setup
//! excluded), in all threads, and divided by the operations in the window.
//!
//! # Adding an implementation
//!
//! Write a `fn(&Config) -> Sample` (or implement the workload's small trait: `Endpoint`,
//! `OnePoller`, `Parker`, `ServeFn`, ...) and add one `implementation("name", f)` line to
//! that workload's `benches()` list. The workload modules say where ferrio's `EventLoop` and
//! channel variants go.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

#[path = "../common/raw.rs"]
mod raw;

#[path = "../common/one_poller.rs"]
mod one_poller;

mod channel;
mod echo;
mod pingpong;
mod poll_overhead;
mod syscalls;
mod timers;
mod util;
mod wake;

// ---------------------------------------------------------------------------------------------
// Allocation counting

/// Counts every allocation (and reallocation) of every thread, then defers to `System`.
struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees hold; the counter is a plain atomic that never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by this allocator, that is by `System`, with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator, that is by `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Allocations made so far by the whole process.
pub fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

// ---------------------------------------------------------------------------------------------
// The harness's vocabulary

/// Settings every workload sees.
#[derive(Debug, Clone)]
pub struct Config {
    /// Quick mode: fewer operations per run (the whole suite in under a minute).
    pub quick: bool,
    /// Interleaved repetitions of each bench.
    pub reps: usize,
    /// Count syscalls where a workload does (off with `--no-syscalls`).
    pub count_syscalls: bool,
}

impl Config {
    /// `quick` in quick mode, `full` otherwise.
    pub fn pick<T>(&self, quick: T, full: T) -> T {
        if self.quick {
            quick
        } else {
            full
        }
    }
}

/// What one run of one implementation measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Cost: nanoseconds of wall time per operation.
    pub ns_per_op: f64,
    /// Median latency of one operation, ns (where it is measured).
    pub p50_ns: Option<f64>,
    /// 99th percentile latency, ns.
    pub p99_ns: Option<f64>,
    /// The bench's extra figure (see [`Bench::extra`]), ns.
    pub extra_ns: Option<f64>,
    /// Allocations per operation in the measured window.
    pub allocs_per_op: f64,
    /// Syscalls per operation in the measured window, all threads (where counted).
    pub syscalls: Option<syscalls::Syscalls>,
    /// Set when the run could not complete correctly (the figures are then not used).
    pub failure: Option<&'static str>,
}

/// How a row shows its main figure.
#[derive(Debug, Clone, Copy)]
pub enum Show {
    /// As operations per second, with this unit (`"rt/s"`).
    Rate(&'static str),
    /// As a time per operation, with this label (`"ns/poll"`).
    Time(&'static str),
}

/// A row of the report: one figure of a bench.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub show: Show,
}

/// Runs an implementation once: one [`Sample`] per row of its bench.
pub type RunFn = Box<dyn Fn(&Config) -> Vec<Sample>>;

/// A measured implementation of a bench.
pub struct Implementation {
    pub name: &'static str,
    pub run: RunFn,
}

/// An implementation whose bench has a single row.
pub fn implementation(
    name: &'static str,
    run: impl Fn(&Config) -> Sample + 'static,
) -> Implementation {
    Implementation {
        name,
        run: Box::new(move |cfg| vec![run(cfg)]),
    }
}

/// A workload and its implementations.
pub struct Bench {
    pub rows: Vec<Row>,
    /// What `Sample::extra_ns` means for this bench (`"server CPU/msg"`).
    pub extra: Option<&'static str>,
    pub implementations: Vec<Implementation>,
}

impl Bench {
    /// A bench reporting one figure.
    pub fn single(
        name: impl Into<String>,
        show: Show,
        implementations: Vec<Implementation>,
    ) -> Bench {
        Bench {
            rows: vec![Row {
                name: name.into(),
                show,
            }],
            extra: None,
            implementations,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running and reporting

/// The medians of one (row, implementation).
struct Summary {
    row: Row,
    extra: Option<&'static str>,
    implementation: &'static str,
    ns_per_op: f64,
    /// (max - min) / median of `ns_per_op` over the repetitions.
    spread: f64,
    p50_ns: Option<f64>,
    p99_ns: Option<f64>,
    extra_ns: Option<f64>,
    allocs_per_op: f64,
    syscalls: Option<syscalls::Syscalls>,
    /// Repetitions that failed, and the reason given by the first.
    failed: usize,
    failure: Option<&'static str>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn median_opt(v: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Option<Vec<f64>> = v.collect();
    v.filter(|v| !v.is_empty()).map(median)
}

/// The median of each kind of syscall count, if every run counted them.
fn median_syscalls(runs: &[Sample]) -> Option<syscalls::Syscalls> {
    let field = |f: fn(&syscalls::Syscalls) -> f64| {
        median_opt(runs.iter().map(|s| s.syscalls.as_ref().map(f)))
    };
    Some(syscalls::Syscalls {
        total: field(|s| s.total)?,
        write: field(|s| s.write)?,
        epoll_wait: field(|s| s.epoll_wait)?,
        futex: field(|s| s.futex)?,
        sched_yield: field(|s| s.sched_yield)?,
    })
}

fn run_bench(cfg: &Config, bench: &Bench) -> Vec<Summary> {
    let n_impl = bench.implementations.len();
    // samples[impl][rep][row]
    let mut samples: Vec<Vec<Vec<Sample>>> = vec![Vec::new(); n_impl];
    for rep in 0..cfg.reps {
        for (i, imp) in bench.implementations.iter().enumerate() {
            let t = Instant::now();
            let s = (imp.run)(cfg);
            assert_eq!(
                s.len(),
                bench.rows.len(),
                "{}: one sample per row",
                imp.name
            );
            eprintln!(
                "  {:<28} {:<9} rep {}/{}: {:>10.1} ns/op ({:.2} s){}",
                bench.rows[0].name,
                imp.name,
                rep + 1,
                cfg.reps,
                s[0].ns_per_op,
                t.elapsed().as_secs_f64(),
                s[0].failure
                    .map_or(String::new(), |f| format!(" FAILED: {f}"))
            );
            samples[i].push(s);
        }
    }
    let mut out = Vec::new();
    for (r, row) in bench.rows.iter().enumerate() {
        for (i, imp) in bench.implementations.iter().enumerate() {
            let all: Vec<Sample> = samples[i].iter().map(|s| s[r]).collect();
            let failure = all.iter().find_map(|s| s.failure);
            let runs: Vec<Sample> = all
                .iter()
                .filter(|s| s.failure.is_none())
                .copied()
                .collect();
            let failed = all.len() - runs.len();
            let costs: Vec<f64> = runs.iter().map(|s| s.ns_per_op).collect();
            let med = if costs.is_empty() {
                f64::NAN
            } else {
                median(costs.clone())
            };
            let (lo, hi) = costs
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), &c| (lo.min(c), hi.max(c)));
            out.push(Summary {
                row: row.clone(),
                extra: bench.extra,
                implementation: imp.name,
                ns_per_op: med,
                spread: if med > 0.0 { (hi - lo) / med } else { f64::NAN },
                p50_ns: median_opt(runs.iter().map(|s| s.p50_ns)),
                p99_ns: median_opt(runs.iter().map(|s| s.p99_ns)),
                extra_ns: median_opt(runs.iter().map(|s| s.extra_ns)),
                syscalls: median_syscalls(&runs),
                allocs_per_op: if runs.is_empty() {
                    f64::NAN
                } else {
                    median(runs.iter().map(|s| s.allocs_per_op).collect())
                },
                failed,
                failure,
            });
        }
    }
    out
}

/// `1234.5` as `"1.23 k"`, three significant digits.
fn si(v: f64) -> String {
    let (v, unit) = if v >= 1e9 {
        (v / 1e9, " G")
    } else if v >= 1e6 {
        (v / 1e6, " M")
    } else if v >= 1e3 {
        (v / 1e3, " k")
    } else {
        (v, " ")
    };
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$}{unit}")
}

/// A count per operation: `0`, `0.0012`, `0.250`, `1.00`, `12.3`.
fn count(v: f64) -> String {
    if v == 0.0 {
        "0".to_string()
    } else if v < 0.01 {
        format!("{v:.4}")
    } else if v < 1.0 {
        format!("{v:.3}")
    } else if v < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

/// A duration in ns as `"850 ns"`, `"12.3 µs"`, `"1.20 ms"`.
fn time(ns: f64) -> String {
    let (v, unit) = if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$} {unit}")
}

fn report(cfg: &Config, summaries: &[Summary], started: Instant, load_before: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# ferrio benchmark report\n");
    let _ = writeln!(
        s,
        "mode: {}, {} interleaved repetitions per bench, medians shown; machine: {}, {} CPUs; \
         total run time {:.0} s; load average before / after: {} / {} (other processes \
         competing for the CPUs make wall times noisy; compare within a workload).\n",
        if cfg.quick { "quick" } else { "full" },
        cfg.reps,
        util::uname(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        started.elapsed().as_secs_f64(),
        load_before,
        util::load_average()
    );
    let _ = writeln!(
        s,
        "`vs epoll` / `vs mio`: time per operation divided by raw epoll's / mio's in the same \
         workload (lower is better; 1.20 = 20% slower). `spread`: (max - min) / median over \
         the repetitions. `allocs/op`: heap allocations per operation in the measured window, \
         all threads. `syscalls/op` (channel rows): syscalls per message in the measured \
         window, all threads, counted in the kernel by syscall tracepoints; `other` splits them \
         into write (eventfd wake-ups), epoll_wait, futex and sched_yield. Timer rows have no \
         epoll or mio implementation: compare them with each other; channel rows compare with \
         mio+crossbeam.\n"
    );
    if cfg.count_syscalls && summaries.iter().any(|s| s.row.name.starts_with("channel")) {
        if let Err(why) = syscalls::ThreadCounter::new() {
            let _ = writeln!(s, "Syscall counts unavailable: {why}.\n");
        }
    }
    let _ = writeln!(
        s,
        "| workload | impl | median | spread | p50 | p99 | other | vs epoll | vs mio | allocs/op | syscalls/op |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|");
    for sum in summaries {
        let base = |name: &str| {
            summaries
                .iter()
                .find(|o| {
                    o.row.name == sum.row.name
                        && (o.implementation == name
                            || o.implementation.starts_with(&format!("{name}+")))
                })
                .map(|o| o.ns_per_op)
        };
        let ratio = |b: Option<f64>| match b {
            Some(b) if b > 0.0 && sum.ns_per_op.is_finite() => {
                format!("{:.2}", sum.ns_per_op / b)
            }
            _ => "-".to_string(),
        };
        let main = if !sum.ns_per_op.is_finite() {
            "FAILED".to_string()
        } else {
            match sum.row.show {
                Show::Rate(unit) => format!("{}{}", si(1e9 / sum.ns_per_op), unit),
                Show::Time(unit) => format!("{:.1} {}", sum.ns_per_op, unit),
            }
        };
        let opt = |v: Option<f64>| v.map_or("-".to_string(), time);
        let mut other = match (sum.extra, sum.extra_ns, sum.syscalls) {
            (Some(label), Some(v), _) => format!("{label} {}", time(v)),
            (_, _, Some(c)) => format!(
                "write {}, epoll_wait {}, futex {}, sched_yield {}",
                count(c.write),
                count(c.epoll_wait),
                count(c.futex),
                count(c.sched_yield)
            ),
            _ => "-".to_string(),
        };
        if let Some(f) = sum.failure {
            other = format!("**FAILED {}/{} reps: {f}**", sum.failed, cfg.reps);
        }
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            sum.row.name,
            sum.implementation,
            main,
            if sum.spread.is_finite() {
                format!("{:.0}%", sum.spread * 100.0)
            } else {
                "-".to_string()
            },
            opt(sum.p50_ns),
            opt(sum.p99_ns),
            other,
            ratio(base("epoll")),
            ratio(base("mio")),
            if !sum.allocs_per_op.is_finite() {
                "-".to_string()
            } else if sum.allocs_per_op == 0.0 {
                "0".to_string()
            } else {
                format!("{:.3}", sum.allocs_per_op)
            },
            sum.syscalls.map_or("-".to_string(), |c| count(c.total))
        );
    }
    s
}

/// Whether implementation `name` is `base` or one of its variants (`"ferrio EventLoop"` and
/// `"ferrio channel"` are variants of `"ferrio"`, `"mio+crossbeam"` of `"mio"`), ignoring case.
fn is_variant_of(name: &str, base: &str) -> bool {
    let name = name.to_lowercase();
    let base = base.to_lowercase();
    match name.strip_prefix(base.as_str()) {
        Some(rest) => rest.is_empty() || rest.starts_with(' ') || rest.starts_with('+'),
        None => false,
    }
}

/// `<target dir>/bench-report.md`: the bench executable lives in `<target>/<profile>/deps/`.
fn report_path() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("bench-report.md")
}

fn main() -> ExitCode {
    let usage =
        "usage: cargo bench -p ferrio-benches --bench suite -- [--quick] [--filter NAME] [--reps N] [--no-syscalls]";
    let mut cfg = Config {
        quick: false,
        reps: 0,
        count_syscalls: true,
    };
    let mut filter: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => cfg.quick = true,
            "--no-syscalls" => cfg.count_syscalls = false,
            "--filter" => filter = args.next().map(|f| f.to_lowercase()),
            "--reps" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => cfg.reps = n,
                _ => {
                    eprintln!("{usage}");
                    return ExitCode::from(2);
                }
            },
            "--bench" => {} // appended by `cargo bench`
            "--help" | "-h" => {
                println!("{usage}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other:?}\n{usage}");
                return ExitCode::from(2);
            }
        }
    }
    if cfg.reps == 0 {
        cfg.reps = cfg.pick(3, 5);
    }
    util::raise_fd_limit();

    let started = Instant::now();
    let load_before = util::load_average();
    // Timers last: they pause tokio's clock, which from then on makes every tokio runtime in
    // this process read time through its context.
    let mut benches = Vec::new();
    benches.extend(pingpong::benches(&cfg));
    benches.extend(echo::benches(&cfg));
    benches.extend(poll_overhead::benches(&cfg));
    benches.extend(wake::benches(&cfg));
    benches.extend(channel::benches(&cfg));
    benches.extend(timers::benches(&cfg));

    let mut summaries = Vec::new();
    for mut bench in benches {
        if let Some(f) = &filter {
            // A workload whose name contains the filter, or an implementation named so.
            let workload = bench
                .rows
                .iter()
                .any(|row| row.name.to_lowercase().contains(f.as_str()));
            if !workload {
                bench
                    .implementations
                    .retain(|imp| is_variant_of(imp.name, f));
            }
        }
        if bench.implementations.is_empty() {
            continue;
        }
        eprintln!("{}", bench.rows[0].name);
        summaries.extend(run_bench(&cfg, &bench));
    }
    if summaries.is_empty() {
        eprintln!("no bench matches the filter");
        return ExitCode::from(2);
    }
    let text = report(&cfg, &summaries, started, &load_before);
    println!("\n{text}");
    let path = report_path();
    match std::fs::write(&path, &text) {
        Ok(()) => eprintln!("report written to {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
    ExitCode::SUCCESS
}
