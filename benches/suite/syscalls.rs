//! Per-thread syscall counts, from the kernel's syscall tracepoint.
//!
//! A [`ThreadCounter`] opens one perf event group (`perf_event_open(2)`) on the calling
//! thread, all on the `raw_syscalls:sys_enter` tracepoint: one event counting every syscall
//! and four with a filter on the syscall number (`write`, the `epoll_wait` family, `futex`,
//! `sched_yield`). The kernel increments the counters as the syscalls are entered; nothing
//! stops the thread or copies data out (unlike `strace`, which stops the thread at every
//! syscall and distorts the timing it observes).
//!
//! The group is started and stopped with one `ioctl` each around the measured window; the
//! stopping `ioctl` is itself entered while counting and is subtracted.
//!
//! While any such event exists, *every* syscall on the machine takes the kernel's tracing
//! entry path, which is slower (about +80% per syscall for eventfd writes here), so timed runs
//! must not count: workloads count in a separate run. And closing the last event
//! unregisters the tracepoint, which waits for an RCU grace period (tens of ms): one wait per
//! counted run, after the window.
//!
//! Needs permission to open tracepoint events (root, or `perf_event_paranoid` <= -1 /
//! `CAP_PERFMON`) and tracefs mounted (for the tracepoint id). Where either is missing,
//! [`ThreadCounter::new`] says why and the report shows no counts.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;

/// Syscalls of one kind or another, as counts or per operation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Syscalls {
    /// Every syscall.
    pub total: f64,
    /// `write(2)`: eventfd wake-ups (nothing else in the measured windows writes).
    pub write: f64,
    /// `epoll_wait(2)` and its `pwait` variants: polls.
    pub epoll_wait: f64,
    /// `futex(2)`: threads blocking on or waking a lock, a condition variable or a parker.
    pub futex: f64,
    /// `sched_yield(2)`: a producer giving up the CPU while the channel is full.
    pub sched_yield: f64,
}

impl Syscalls {
    /// Component-wise sum.
    pub fn add(self, o: Syscalls) -> Syscalls {
        Syscalls {
            total: self.total + o.total,
            write: self.write + o.write,
            epoll_wait: self.epoll_wait + o.epoll_wait,
            futex: self.futex + o.futex,
            sched_yield: self.sched_yield + o.sched_yield,
        }
    }

    /// Every component divided by `n`.
    pub fn per(self, n: f64) -> Syscalls {
        Syscalls {
            total: self.total / n,
            write: self.write / n,
            epoll_wait: self.epoll_wait / n,
            futex: self.futex / n,
            sched_yield: self.sched_yield / n,
        }
    }
}

/// What one counter of the group counts.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Total,
    Write,
    EpollWait,
    Futex,
    SchedYield,
}

/// The events of a group: what each counts and its filter on the syscall number (x86_64 and
/// aarch64 numbers come from libc).
fn events() -> [(Kind, Option<String>); 5] {
    [
        (Kind::Total, None),
        (Kind::Write, Some(format!("id == {}", libc::SYS_write))),
        (Kind::EpollWait, Some(epoll_wait_filter())),
        (Kind::Futex, Some(format!("id == {}", libc::SYS_futex))),
        (
            Kind::SchedYield,
            Some(format!("id == {}", libc::SYS_sched_yield)),
        ),
    ]
}

#[cfg(target_arch = "x86_64")]
fn epoll_wait_filter() -> String {
    format!(
        "id == {} || id == {} || id == {}",
        libc::SYS_epoll_wait,
        libc::SYS_epoll_pwait,
        libc::SYS_epoll_pwait2
    )
}

#[cfg(not(target_arch = "x86_64"))]
fn epoll_wait_filter() -> String {
    format!(
        "id == {} || id == {}",
        libc::SYS_epoll_pwait,
        libc::SYS_epoll_pwait2
    )
}

/// The id of the `raw_syscalls:sys_enter` tracepoint, or why it is unavailable.
fn tracepoint_id() -> &'static Result<u64, String> {
    static ID: OnceLock<Result<u64, String>> = OnceLock::new();
    ID.get_or_init(|| {
        let root = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
            .into_iter()
            .find(|root| fs::metadata(format!("{root}/events/raw_syscalls")).is_ok())
            .ok_or_else(|| {
                "tracefs is not mounted (as root: mount -t tracefs nodev /sys/kernel/tracing)"
                    .to_string()
            })?;
        let path = format!("{root}/events/raw_syscalls/sys_enter/id");
        let id = fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        id.trim().parse().map_err(|e| format!("{path}: {e}"))
    })
}

/// `struct perf_event_attr` up to `PERF_ATTR_SIZE_VER0` (64 bytes), which every kernel accepts.
#[repr(C)]
struct PerfEventAttr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    /// The bitfield: bit 0 = `disabled`.
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

const PERF_TYPE_TRACEPOINT: u32 = 2;
const PERF_FORMAT_GROUP: u64 = 1 << 3;
const PERF_ATTR_FLAG_DISABLED: u64 = 1;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
const PERF_EVENT_IOC_DISABLE: libc::c_ulong = 0x2401;
const PERF_EVENT_IOC_RESET: libc::c_ulong = 0x2403;
/// `_IOW('$', 6, char *)`.
const PERF_EVENT_IOC_SET_FILTER: libc::c_ulong = 0x4008_2406;
const PERF_IOC_FLAG_GROUP: libc::c_ulong = 1;

fn perf_event_open(config: u64, group: Option<RawFd>) -> io::Result<OwnedFd> {
    let attr = PerfEventAttr {
        kind: PERF_TYPE_TRACEPOINT,
        size: std::mem::size_of::<PerfEventAttr>() as u32,
        config,
        sample_period: 0,
        sample_type: 0,
        read_format: PERF_FORMAT_GROUP,
        // The leader starts disabled; members follow the leader.
        flags: if group.is_none() {
            PERF_ATTR_FLAG_DISABLED
        } else {
            0
        },
        wakeup_events: 0,
        bp_type: 0,
        config1: 0,
    };
    // SAFETY: `attr` is a valid, fully initialised perf_event_attr of the size it declares;
    // pid 0 / cpu -1 means "the calling thread, on any CPU".
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const PerfEventAttr,
            0 as libc::pid_t,
            -1 as libc::c_int,
            group.unwrap_or(-1) as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this fd and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Counts the syscalls of the thread that created it, between [`start`](Self::start) and
/// [`stop`](Self::stop).
pub struct ThreadCounter {
    leader: OwnedFd,
    _members: Vec<OwnedFd>,
    /// The kind of each value in the group's read, in order (leader first).
    kinds: Vec<Kind>,
}

impl ThreadCounter {
    /// A stopped counter for the calling thread, or why counting is unavailable.
    pub fn new() -> Result<ThreadCounter, String> {
        let id = *tracepoint_id().as_ref().map_err(Clone::clone)?;
        let open_err = |e: io::Error| format!("perf_event_open on raw_syscalls:sys_enter: {e}");
        let mut leader = None;
        let mut members = Vec::new();
        let mut kinds = Vec::new();
        for (kind, filter) in events() {
            let group = leader.as_ref().map(|l: &OwnedFd| l.as_raw_fd());
            let fd = perf_event_open(id, group).map_err(open_err)?;
            if let Some(filter) = filter {
                let filter = CString::new(filter).expect("no NUL in a filter");
                // SAFETY: `fd` is a live perf event fd; the argument is a NUL-terminated
                // string that outlives the call.
                let rc = unsafe {
                    libc::ioctl(fd.as_raw_fd(), PERF_EVENT_IOC_SET_FILTER, filter.as_ptr())
                };
                if rc != 0 {
                    return Err(format!(
                        "perf event filter {filter:?}: {}",
                        io::Error::last_os_error()
                    ));
                }
            }
            kinds.push(kind);
            match leader {
                None => leader = Some(fd),
                Some(_) => members.push(fd),
            }
        }
        Ok(ThreadCounter {
            leader: leader.expect("at least one event"),
            _members: members,
            kinds,
        })
    }

    fn ioctl(&self, request: libc::c_ulong) {
        // SAFETY: `leader` is a live perf event fd; these requests take an integer argument.
        let rc = unsafe { libc::ioctl(self.leader.as_raw_fd(), request, PERF_IOC_FLAG_GROUP) };
        assert_eq!(rc, 0, "perf ioctl: {}", io::Error::last_os_error());
    }

    /// Zeroes the counts and starts counting.
    pub fn start(&self) {
        self.ioctl(PERF_EVENT_IOC_RESET);
        self.ioctl(PERF_EVENT_IOC_ENABLE);
    }

    /// Stops counting and returns the counts since [`start`](Self::start).
    pub fn stop(&self) -> Syscalls {
        self.ioctl(PERF_EVENT_IOC_DISABLE);
        // PERF_FORMAT_GROUP: { u64 nr; u64 values[nr]; }
        let mut buf = [0u64; 1 + 5];
        // SAFETY: `buf` is valid for writes of its size in bytes.
        let n = unsafe {
            libc::read(
                self.leader.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                std::mem::size_of_val(&buf),
            )
        };
        assert!(n > 0, "perf read: {}", io::Error::last_os_error());
        assert_eq!(buf[0] as usize, self.kinds.len(), "perf read: group size");
        let mut counts = Syscalls::default();
        for (kind, &v) in self.kinds.iter().zip(&buf[1..]) {
            let v = v as f64;
            match kind {
                Kind::Total => counts.total += v,
                Kind::Write => counts.write += v,
                Kind::EpollWait => counts.epoll_wait += v,
                Kind::Futex => counts.futex += v,
                Kind::SchedYield => counts.sched_yield += v,
            }
        }
        // The DISABLE ioctl was entered while counting.
        counts.total -= 1.0;
        counts
    }
}
