//! Small helpers shared by the workloads: latency recording, CPU clocks, fd limits.

use std::time::Instant;

use crate::{allocations, Sample};

/// Records the latency of consecutive operations and turns them into a [`Sample`].
///
/// The buffer is allocated up front, so recording allocates nothing; the allocation count
/// starts when [`Recorder::start`] returns.
pub struct Recorder {
    latencies: Vec<u64>,
    start: Instant,
    last: Instant,
    allocs_at_start: u64,
}

impl Recorder {
    /// Starts the clock (and the allocation count) for up to `ops` operations.
    pub fn start(ops: usize) -> Recorder {
        let latencies = Vec::with_capacity(ops);
        let allocs_at_start = allocations();
        let now = Instant::now();
        Recorder {
            latencies,
            start: now,
            last: now,
            allocs_at_start,
        }
    }

    /// One operation finished: its latency is the time since the previous one finished.
    #[inline]
    pub fn record(&mut self) {
        let now = Instant::now();
        if self.latencies.len() < self.latencies.capacity() {
            self.latencies.push((now - self.last).as_nanos() as u64);
        }
        self.last = now;
    }

    /// Stops and summarises: mean time per operation, p50, p99, allocations per operation.
    pub fn finish(mut self) -> Sample {
        let allocs = allocations() - self.allocs_at_start;
        let n = self.latencies.len().max(1);
        let total = (self.last - self.start).as_nanos() as f64;
        self.latencies.sort_unstable();
        Sample {
            ns_per_op: total / n as f64,
            p50_ns: Some(percentile(&self.latencies, 0.50)),
            p99_ns: Some(percentile(&self.latencies, 0.99)),
            extra_ns: None,
            allocs_per_op: allocs as f64 / n as f64,
            syscalls: None,
            failure: None,
        }
    }
}

/// The `q` quantile of sorted values (nearest rank).
fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64
}

/// CPU time consumed by the calling thread, ns.
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write; CLOCK_THREAD_CPUTIME_ID always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Raises the soft open-file limit to the hard one (10,000 eventfds, 2,048 sockets).
pub fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit to read into and then pass back.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// `"Linux 6.8.0 x86_64"`, from uname(2).
pub fn uname() -> String {
    // SAFETY: utsname is plain old data; all-zero is a valid value.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid utsname to fill.
    if unsafe { libc::uname(&mut u) } != 0 {
        return "unknown".to_string();
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!(
        "{} {} {}",
        field(&u.sysname),
        field(&u.release),
        field(&u.machine)
    )
}

/// A tokio current-thread runtime with IO and time, as `#[tokio::main(flavor = "current_thread")]`.
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The 1-minute load average, from /proc/loadavg.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".to_string())
}
