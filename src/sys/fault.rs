//! Fault injection: make a chosen syscall fail on a chosen call (feature `fault-injection`).
//!
//! Compiled only with the `fault-injection` Cargo feature, which is off by default: without it
//! the `syscall!` macro is the bare libc call and this module does not exist, so normal builds
//! pay nothing. With it, every syscall ferrio makes through `syscall!` (epoll, eventfd,
//! `accept4`, `send`/`sendmsg`, `writev`, `pipe2`, ...) first calls [`check`] with the libc
//! function's name. Syscalls made by `std` or `socket2` on ferrio's behalf (socket creation,
//! `read` on a `TcpStream`) are not covered.
//!
//! # Data structure
//!
//! A thread-local table holds the armed [`Fault`]s and two counters per syscall name (calls
//! seen, faults injected), counting from the first [`inject`]. A fault counts the calls of its syscall from the moment it is
//! armed: it lets the first `skip` pass, then fails the next `times` calls with its errno, each
//! after an optional delay (a signal arriving mid-wait is an `EINTR` after some time). The
//! first armed fault that wants a call gets it. The table is per thread, so tests running in
//! parallel never see each other's faults: arm a fault on the thread that makes the call
//! (for an `EventLoop`, the thread that runs it).
//!
//! # Examples
//!
//! ```
//! # #[cfg(feature = "fault-injection")] {
//! use ferrio::__fault::{self, Fault};
//! use ferrio::{Events, Poll};
//! use std::io::ErrorKind;
//!
//! let mut poll = Poll::new()?;
//! let mut events = Events::with_capacity(8);
//! __fault::inject(Fault::new("epoll_wait", libc::EINTR));
//! let err = poll.poll(&mut events, None).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Interrupted);
//! assert_eq!(__fault::injected("epoll_wait"), 1);
//! __fault::clear();
//! # }
//! # Ok::<(), std::io::Error>(())
//! ```

use std::cell::RefCell;
use std::io;
use std::time::Duration;

/// "Fail calls of `syscall` with `errno`": build with [`Fault::new`], arm with [`inject`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    syscall: &'static str,
    errno: i32,
    skip: u64,
    times: u64,
    delay: Duration,
}

impl Fault {
    /// Fails the next call of the libc function `syscall` (for example `"epoll_wait"`,
    /// `"accept4"`, `"epoll_ctl"`, `"write"`, `"sendmsg"`) with `errno`.
    pub fn new(syscall: &'static str, errno: i32) -> Fault {
        Fault {
            syscall,
            errno,
            skip: 0,
            times: 1,
            delay: Duration::ZERO,
        }
    }

    /// Lets `calls` calls succeed first: the fault hits call number `calls + 1`.
    pub fn skip(mut self, calls: u64) -> Fault {
        self.skip = calls;
        self
    }

    /// Fails `n` consecutive calls instead of one (`u64::MAX`: every later call).
    pub fn times(mut self, n: u64) -> Fault {
        self.times = n;
        self
    }

    /// Sleeps `delay` before returning each injected error, as a wait that a signal ends
    /// after a while.
    pub fn delay(mut self, delay: Duration) -> Fault {
        self.delay = delay;
        self
    }
}

#[derive(Debug)]
struct Armed {
    fault: Fault,
    /// Calls of the fault's syscall since it was armed.
    seen: u64,
    /// Errors it injected.
    fired: u64,
}

#[derive(Debug, Default)]
struct Table {
    /// Whether a fault was armed since the last `clear`; until then nothing is counted, so
    /// a build with the feature but no armed fault allocates nothing (allocation tests).
    active: bool,
    armed: Vec<Armed>,
    /// `(syscall, calls seen)`.
    calls: Vec<(&'static str, u64)>,
    /// `(syscall, errors injected)`.
    injected: Vec<(&'static str, u64)>,
}

fn bump(counters: &mut Vec<(&'static str, u64)>, name: &'static str) {
    match counters.iter_mut().find(|(n, _)| *n == name) {
        Some((_, count)) => *count += 1,
        None => counters.push((name, 1)),
    }
}

fn get(counters: &[(&'static str, u64)], name: &str) -> u64 {
    counters
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(0, |&(_, count)| count)
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
}

/// Arms `fault` on this thread.
pub fn inject(fault: Fault) {
    TABLE.with(|t| {
        let mut table = t.borrow_mut();
        table.active = true;
        table.armed.push(Armed {
            fault,
            seen: 0,
            fired: 0,
        })
    });
}

/// Disarms every fault and resets the counters of this thread.
pub fn clear() {
    TABLE.with(|t| *t.borrow_mut() = Table::default());
}

/// How many times this thread called `syscall` through ferrio since the first [`inject`]
/// after the last [`clear`] (injected failures included).
pub fn calls(syscall: &str) -> u64 {
    TABLE.with(|t| get(&t.borrow().calls, syscall))
}

/// How many errors were injected into `syscall` on this thread since the last [`clear`].
pub fn injected(syscall: &str) -> u64 {
    TABLE.with(|t| get(&t.borrow().injected, syscall))
}

/// How many armed faults on this thread still have errors to inject.
pub fn pending() -> usize {
    TABLE.with(|t| {
        t.borrow()
            .armed
            .iter()
            .filter(|a| a.fired < a.fault.times)
            .count()
    })
}

/// Called by `syscall!` before each call: the error to return instead of calling, if any.
#[doc(hidden)]
pub fn check(name: &'static str) -> Option<io::Error> {
    // `try_with`: a syscall made while this thread's locals are being destroyed (a source
    // dropped by another thread-local's destructor) just runs normally.
    let hit = TABLE
        .try_with(|t| {
            let mut table = t.borrow_mut();
            if !table.active {
                return None;
            }
            bump(&mut table.calls, name);
            let mut hit = None;
            for armed in table.armed.iter_mut().filter(|a| a.fault.syscall == name) {
                armed.seen += 1;
                if hit.is_none() && armed.seen > armed.fault.skip && armed.fired < armed.fault.times
                {
                    armed.fired += 1;
                    hit = Some((armed.fault.errno, armed.fault.delay));
                }
            }
            if hit.is_some() {
                bump(&mut table.injected, name);
            }
            hit
        })
        .ok()
        .flatten();
    let (errno, delay) = hit?;
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    Some(io::Error::from_raw_os_error(errno))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_times_and_counters() {
        clear();
        inject(Fault::new("write", libc::EAGAIN).skip(1).times(2));
        assert!(check("write").is_none());
        assert_eq!(check("write").unwrap().raw_os_error(), Some(libc::EAGAIN));
        assert!(check("read").is_none());
        assert_eq!(check("write").unwrap().raw_os_error(), Some(libc::EAGAIN));
        assert!(check("write").is_none());
        assert_eq!(calls("write"), 4);
        assert_eq!(calls("read"), 1);
        assert_eq!(injected("write"), 2);
        assert_eq!(pending(), 0);
        clear();
        assert_eq!(calls("write"), 0);
    }

    #[test]
    fn faults_are_per_thread() {
        clear();
        inject(Fault::new("epoll_wait", libc::EINTR));
        std::thread::spawn(|| assert!(check("epoll_wait").is_none()))
            .join()
            .unwrap();
        assert!(check("epoll_wait").is_some());
        clear();
    }
}
