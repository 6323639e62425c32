//! Real servers under real load generators: the HTTP and RESP servers of `examples/` on
//! ferrio's `EventLoop` (idle timeouts on, re-armed on every event), on mio 1.x (a bare
//! `Poll`, no timeouts) and on tokio (`current_thread`, a task per connection), driven by
//! `wrk` and `redis-benchmark`.
//!
//! ```sh
//! cargo bench -p ferrio-benches --bench servers                 # 3 interleaved repetitions per workload
//! cargo bench -p ferrio-benches --bench servers -- --reps 5
//! ```
//!
//! Every server answers with the same protocol code (`examples/common/http.rs`, `resp.rs`);
//! only the IO layer differs. Each run starts the server as a child process of this binary
//! (`--serve IMPL PROTOCOL`), on one thread, on a loopback port the kernel picks, and runs
//! one load generator against it. Implementations run interleaved (ferrio, mio, tokio,
//! ferrio, ...), and the report shows medians and ratios within the run:
//!
//! * requests/s, p50 and p99 latency: as the load generator reports them;
//! * server CPU per request: the server's CPU time over the load run (the sum of
//!   `/proc/<pid>/task/*/schedstat`, nanoseconds), divided by the requests served;
//! * syscalls per request: from a separate run of the same load with the server started
//!   under `perf stat -e raw_syscalls:sys_enter` (tracepoint counting slows every syscall, so
//!   it is never on during the timed run), divided by the requests served.
//!
//! Needs `wrk`, `redis-benchmark` and `perf` (root, or `perf_event_paranoid` <= -1).

#[path = "../../examples/common/http.rs"]
mod http;
#[path = "../../examples/common/protocol.rs"]
mod protocol;
#[path = "../../examples/common/resp.rs"]
mod resp;
// The ferrio server is the examples' own; its command-line helpers are not used here.
#[allow(dead_code)]
#[path = "../../examples/common/server.rs"]
mod server;

mod mio_server;
mod tokio_server;

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::thread;

use protocol::Protocol;

/// The servers compared.
const IMPLS: [&str; 3] = ["ferrio", "mio", "tokio"];

/// One workload: a protocol and a load generator command line.
struct Workload {
    name: &'static str,
    protocol: &'static str,
    run: fn(SocketAddr) -> io::Result<Load>,
}

/// What a load generator reported.
#[derive(Debug, Clone, Copy)]
struct Load {
    requests: f64,
    per_sec: f64,
    p50_us: f64,
    p99_us: f64,
}

const WORKLOADS: [Workload; 3] = [
    Workload {
        name: "HTTP GET /, wrk -c 50 -d 3s",
        protocol: "http",
        run: run_wrk,
    },
    Workload {
        name: "RESP GET, redis-benchmark -c 50 -P 1",
        protocol: "resp",
        run: |addr| run_redis_benchmark(addr, 1, 200_000),
    },
    Workload {
        name: "RESP SET+GET, redis-benchmark -c 50 -P 16",
        protocol: "resp",
        run: |addr| run_redis_benchmark(addr, 16, 1_000_000),
    },
];

// ---------------------------------------------------------------------------------------------
// The server side: `--serve IMPL PROTOCOL`

fn serve(implementation: &str, protocol: &str) -> io::Result<()> {
    match protocol {
        "http" => serve_with::<http::Http>(implementation),
        "resp" => serve_with::<resp::Resp>(implementation),
        other => Err(io::Error::other(format!("unknown protocol {other}"))),
    }
}

fn serve_with<P: Protocol>(implementation: &str) -> io::Result<()> {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let shared = Arc::new(P::Shared::default());
    let bound = match implementation {
        "ferrio" => {
            // Idle timeouts on: every event re-arms the connection's timer.
            let options = server::Options {
                loops: 1,
                idle_ms: 10_000,
            };
            let running = server::start::<P>(addr, options, shared)?;
            let bound = running.addr;
            // Runs until the process exits.
            std::mem::forget(running);
            bound
        }
        "mio" | "tokio" => {
            let listener = std::net::TcpListener::bind(addr)?;
            let bound = listener.local_addr()?;
            let tokio = implementation == "tokio";
            thread::spawn(move || {
                let res = if tokio {
                    tokio_server::serve::<P>(listener, shared)
                } else {
                    mio_server::serve::<P>(listener, shared)
                };
                if let Err(e) = res {
                    eprintln!("server failed: {e}");
                    std::process::exit(1);
                }
            });
            bound
        }
        other => return Err(io::Error::other(format!("unknown implementation {other}"))),
    };
    println!("READY {bound} {}", std::process::id());
    // Serve until the driver closes our stdin.
    let mut sink = String::new();
    while io::stdin().read_line(&mut sink)? > 0 {
        sink.clear();
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The driver

/// A server child process.
struct Server {
    child: Child,
    addr: SocketAddr,
    pid: u32,
}

impl Server {
    /// Starts `--serve IMPL PROTOCOL`, under `perf stat` writing to `perf_out` if given.
    fn start(implementation: &str, protocol: &str, perf_out: Option<&str>) -> io::Result<Server> {
        let exe = std::env::current_exe()?;
        let mut cmd = match perf_out {
            Some(out) => {
                let mut c = Command::new("perf");
                c.args([
                    "stat",
                    "-e",
                    "raw_syscalls:sys_enter",
                    "-x",
                    ",",
                    "-o",
                    out,
                    "--",
                ]);
                c.arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(["--serve", implementation, protocol])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut child = cmd.spawn()?;
        let stdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let mut parts = line.split_whitespace();
        let (Some("READY"), Some(addr), Some(pid)) = (parts.next(), parts.next(), parts.next())
        else {
            let _ = child.kill();
            return Err(io::Error::other(format!("server did not start: {line:?}")));
        };
        Ok(Server {
            addr: addr.parse().map_err(io::Error::other)?,
            pid: pid.parse().map_err(io::Error::other)?,
            child,
        })
    }

    /// CPU time of every thread of the server so far, ns.
    fn cpu_ns(&self) -> io::Result<u64> {
        let mut total = 0;
        for task in std::fs::read_dir(format!("/proc/{}/task", self.pid))? {
            let stat = std::fs::read_to_string(task?.path().join("schedstat"))?;
            total += stat
                .split_whitespace()
                .next()
                .and_then(|ns| ns.parse::<u64>().ok())
                .unwrap_or(0);
        }
        Ok(total)
    }

    /// Closes the server's stdin (it exits) and waits for it (and for perf).
    fn stop(mut self) -> io::Result<()> {
        drop(self.child.stdin.take());
        let status = self.child.wait()?;
        if !status.success() {
            return Err(io::Error::other(format!("server exited with {status}")));
        }
        Ok(())
    }
}

fn output_of(cmd: &mut Command) -> io::Result<String> {
    let out = cmd.stderr(Stdio::inherit()).output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!("{cmd:?} failed: {}", out.status)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `93.00us`, `1.20ms`, `2.00s` in microseconds.
fn wrk_time_us(s: &str) -> Option<f64> {
    let (num, scale) = if let Some(v) = s.strip_suffix("us") {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix("ms") {
        (v, 1e3)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1e6)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|v| v * scale)
}

fn run_wrk(addr: SocketAddr) -> io::Result<Load> {
    let out = output_of(Command::new("timeout").args([
        "30",
        "wrk",
        "-t1",
        "-c50",
        "-d3s",
        "--latency",
        &format!("http://{addr}/"),
    ]))?;
    let bad = |why: &str| io::Error::other(format!("wrk: {why}:\n{out}"));
    if out.contains("Socket errors") || out.contains("Non-2xx") {
        return Err(bad("errors"));
    }
    let field = |prefix: &str| {
        out.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix).map(|rest| rest.trim().to_string()))
    };
    let requests = out
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| bad("no request count"))?;
    Ok(Load {
        requests,
        per_sec: field("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad("no rate"))?,
        p50_us: field("50%")
            .and_then(|v| wrk_time_us(&v))
            .ok_or_else(|| bad("no p50"))?,
        p99_us: field("99%")
            .and_then(|v| wrk_time_us(&v))
            .ok_or_else(|| bad("no p99"))?,
    })
}

fn run_redis_benchmark(addr: SocketAddr, pipeline: usize, requests: usize) -> io::Result<Load> {
    let tests = if pipeline > 1 { "set,get" } else { "get" };
    let out = output_of(Command::new("timeout").args([
        "60",
        "redis-benchmark",
        "-h",
        &addr.ip().to_string(),
        "-p",
        &addr.port().to_string(),
        "-c",
        "50",
        "-n",
        &requests.to_string(),
        "-P",
        &pipeline.to_string(),
        "-t",
        tests,
        "--csv",
    ]))?;
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",
    // "p99_latency_ms","max_latency_ms"; one row per test: time-weighted sums.
    let mut load = Load {
        requests: 0.0,
        per_sec: 0.0,
        p50_us: 0.0,
        p99_us: 0.0,
    };
    let mut rows = 0.0;
    let mut seconds = 0.0;
    for line in out.lines().filter(|l| !l.starts_with("\"test\"")) {
        let f: Vec<f64> = line
            .split(',')
            .skip(1)
            .filter_map(|v| v.trim_matches('"').parse().ok())
            .collect();
        if f.len() < 7 {
            continue;
        }
        rows += 1.0;
        load.requests += requests as f64;
        seconds += requests as f64 / f[0];
        load.p50_us += f[3] * 1e3;
        load.p99_us += f[5] * 1e3;
    }
    if rows == 0.0 {
        return Err(io::Error::other(format!(
            "redis-benchmark: no results:\n{out}"
        )));
    }
    load.per_sec = load.requests / seconds;
    load.p50_us /= rows;
    load.p99_us /= rows;
    Ok(load)
}

/// One timed run and one counted run of `implementation` under `workload`.
#[derive(Debug, Clone, Copy)]
struct Sample {
    load: Load,
    cpu_ns_per_req: f64,
    syscalls_per_req: f64,
}

fn measure(workload: &Workload, implementation: &str) -> io::Result<Sample> {
    let server = Server::start(implementation, workload.protocol, None)?;
    let before = server.cpu_ns()?;
    let load = (workload.run)(server.addr)?;
    let cpu = server.cpu_ns()? - before;
    server.stop()?;

    let perf_out =
        std::env::temp_dir().join(format!("ferrio-servers-perf-{}.txt", std::process::id()));
    let perf_path = perf_out.to_string_lossy().into_owned();
    let server = Server::start(implementation, workload.protocol, Some(&perf_path))?;
    let counted = (workload.run)(server.addr)?;
    server.stop()?;
    let text = std::fs::read_to_string(&perf_out)?;
    let _ = std::fs::remove_file(&perf_out);
    let syscalls: f64 = text
        .lines()
        .find(|l| l.contains("raw_syscalls:sys_enter"))
        .and_then(|l| l.split(',').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| io::Error::other(format!("perf stat gave no count:\n{text}")))?;
    Ok(Sample {
        load,
        cpu_ns_per_req: cpu as f64 / load.requests,
        syscalls_per_req: syscalls / counted.requests,
    })
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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, implementation, protocol] = &args[..] {
        if flag == "--serve" {
            return match serve(implementation, protocol) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("serve: {e}");
                    ExitCode::FAILURE
                }
            };
        }
    }
    let mut reps = 3;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--reps" => match it.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => reps = n,
                _ => {
                    eprintln!("usage: cargo bench -p ferrio-benches --bench servers -- [--reps N]");
                    return ExitCode::from(2);
                }
            },
            "--bench" => {}
            other => {
                eprintln!(
                    "unknown argument {other:?}; usage: cargo bench -p ferrio-benches --bench servers -- [--reps N]"
                );
                return ExitCode::from(2);
            }
        }
    }

    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let started = std::time::Instant::now();
    let mut report = String::new();
    let _ = writeln!(
        report,
        "| workload | server | requests/s | p50 | p99 | server CPU/request | CPU vs mio | syscalls/request | syscalls vs tokio |"
    );
    let _ = writeln!(report, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for workload in &WORKLOADS {
        eprintln!("{}", workload.name);
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); IMPLS.len()];
        for rep in 0..reps {
            for (i, implementation) in IMPLS.iter().enumerate() {
                match measure(workload, implementation) {
                    Ok(s) => {
                        eprintln!(
                            "  {implementation:<7} rep {}/{reps}: {:>9.0} req/s, {:>6.0} ns CPU/req, {:.2} syscalls/req",
                            rep + 1,
                            s.load.per_sec,
                            s.cpu_ns_per_req,
                            s.syscalls_per_req
                        );
                        samples[i].push(s);
                    }
                    Err(e) => {
                        eprintln!("  {implementation} rep {}: FAILED: {e}", rep + 1);
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
        let med = |i: usize, f: fn(&Sample) -> f64| median(samples[i].iter().map(f).collect());
        let mio_cpu = med(1, |s| s.cpu_ns_per_req);
        let tokio_sys = med(2, |s| s.syscalls_per_req);
        for (i, implementation) in IMPLS.iter().enumerate() {
            let name = match *implementation {
                "ferrio" => "ferrio EventLoop (idle timeouts on)",
                "mio" => "mio 1.x Poll (no timeouts)",
                _ => "tokio current_thread",
            };
            let cpu = med(i, |s| s.cpu_ns_per_req);
            let sys = med(i, |s| s.syscalls_per_req);
            let _ = writeln!(
                report,
                "| {} | {} | {:.0} k | {:.0} µs | {:.0} µs | {:.2} µs | {:.2} | {:.2} | {:.2} |",
                workload.name,
                name,
                med(i, |s| s.load.per_sec) / 1e3,
                med(i, |s| s.load.p50_us),
                med(i, |s| s.load.p99_us),
                cpu / 1e3,
                cpu / mio_cpu,
                sys,
                sys / tokio_sys
            );
        }
    }
    let header = format!(
        "{reps} interleaved repetitions per workload, medians; load average before: {}; total {:.0} s\n\n",
        load_before.split_whitespace().next().unwrap_or("?"),
        started.elapsed().as_secs_f64()
    );
    println!("\n{header}{report}");
    ExitCode::SUCCESS
}
