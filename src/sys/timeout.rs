//! Timeouts as the backends' waits take them: rounded up to milliseconds for the calls that
//! count in milliseconds, and a deadline for a `select` that must wait again after a wake-up
//! that brought nothing to report.

use std::io;
use std::time::{Duration, Instant};

/// Linux's default timer slack of a thread (`PR_GET_TIMERSLACK`): how late, at least, the kernel
/// may end a timed wait.
// Used by epoll and by poll(2) where it waits in `ppoll`; macOS, NetBSD and Windows have
// neither.
#[cfg_attr(
    not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    )),
    allow(dead_code)
)]
const DEFAULT_TIMER_SLACK: Duration = Duration::from_micros(50);

/// A timed wait that ends close to its deadline despite the kernel's slack.
///
/// Linux lets a timed `epoll_pwait2`/`ppoll` end late by its slack estimate, the larger of
/// 0.1 % of the timeout and the thread's timer slack (50 µs by default): 300 µs for a 300 ms
/// wait. A long wait is therefore made in two: `wait` first for the timeout less that
/// estimate, then, if it reported nothing (`Ok(0)`), for what is left, whose own slack is the
/// short default. The second costs one more syscall, only when a long timed wait runs out.
// Used by epoll and by poll(2) where it waits in `ppoll`; macOS, NetBSD and Windows have
// neither.
#[cfg_attr(
    not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    )),
    allow(dead_code)
)]
#[inline]
pub(crate) fn precise(
    timeout: Duration,
    mut wait: impl FnMut(Duration) -> io::Result<usize>,
) -> io::Result<usize> {
    let slack = (timeout / 1000).max(DEFAULT_TIMER_SLACK);
    let deadline = match Instant::now().checked_add(timeout) {
        Some(deadline) if timeout > 2 * slack => deadline,
        _ => return wait(timeout),
    };
    let n = wait(timeout - slack)?;
    if n > 0 {
        return Ok(n);
    }
    match deadline.checked_duration_since(Instant::now()) {
        Some(left) if !left.is_zero() => wait(left),
        _ => Ok(0),
    }
}

/// Rounds up to whole milliseconds (never down: a 0.3 ms timeout is 1 ms, not a busy 0);
/// `None` blocks (`-1`), zero does not block. (u64 arithmetic: a u128 division here costs a
/// libcall and register spills on every poll.)
// Used by epoll and by poll(2) where it waits in plain `poll`; the systems where poll(2) uses
// `ppoll` and kqueue is the default have neither.
#[cfg_attr(
    any(target_os = "freebsd", target_os = "openbsd", target_os = "dragonfly"),
    allow(dead_code)
)]
#[inline]
pub(crate) fn to_ms(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(d) => {
            let ms = d
                .as_secs()
                .saturating_mul(1000)
                .saturating_add(u64::from(d.subsec_nanos().div_ceil(1_000_000)));
            ms.min(libc::c_int::MAX as u64) as libc::c_int
        }
    }
}

/// [`to_ms`] for a timeout in whole nanoseconds: rounded up, `None` blocks (`-1`).
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
#[inline]
pub(crate) fn ns_to_ms(timeout_ns: Option<u64>) -> libc::c_int {
    match timeout_ns {
        None => -1,
        Some(ns) => {
            // Clamped first (to the nanoseconds of the longest wait), so that rounding up is
            // an addition without overflow and one division by a constant, no remainder
            // (`div_ceil` computes one: more instructions on every timed wait).
            const MAX_NS: u64 = libc::c_int::MAX as u64 * 1_000_000;
            #[allow(clippy::manual_div_ceil)]
            let ms = (ns.min(MAX_NS) + 999_999) / 1_000_000;
            ms as libc::c_int
        }
    }
}

/// Runs `wait` with `timeout`, and again with what is left of it for as long as `wait` says
/// its wait ended with nothing to report (a registration change, the backend's own
/// completions). The clock is read only for a timed, non-zero wait. `wait` returns whether to
/// wait again.
#[inline]
pub(crate) fn wait_out(
    timeout: Option<Duration>,
    mut wait: impl FnMut(Option<Duration>) -> io::Result<bool>,
) -> io::Result<()> {
    let deadline = match timeout {
        Some(d) if !d.is_zero() => Some(Instant::now().checked_add(d)),
        _ => None,
    };
    let mut left = timeout;
    while wait(left)? {
        match deadline {
            // A zero timeout never waits again.
            None if timeout.is_some() => return Ok(()),
            // `None`: blocks indefinitely; `Some(None)`: so far off that `Instant` cannot
            // hold it.
            None | Some(None) => {}
            Some(Some(at)) => match at.checked_duration_since(Instant::now()) {
                Some(rest) if !rest.is_zero() => left = Some(rest),
                _ => return Ok(()),
            },
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_round_up() {
        assert_eq!(to_ms(None), -1);
        assert_eq!(to_ms(Some(Duration::ZERO)), 0);
        assert_eq!(to_ms(Some(Duration::from_nanos(1))), 1);
        assert_eq!(to_ms(Some(Duration::from_micros(300))), 1);
        assert_eq!(to_ms(Some(Duration::from_millis(5))), 5);
        assert_eq!(to_ms(Some(Duration::from_micros(5001))), 6);
        assert_eq!(to_ms(Some(Duration::MAX)), libc::c_int::MAX);
    }

    #[test]
    fn nanoseconds_round_up_to_milliseconds_as_durations_do() {
        assert_eq!(ns_to_ms(None), -1);
        for ns in [
            0,
            1,
            999_999,
            1_000_000,
            1_000_001,
            5_000_000,
            3_600_000_000_000,
            (libc::c_int::MAX as u64) * 1_000_000,
            (libc::c_int::MAX as u64) * 1_000_000 + 1,
            u64::MAX - 1,
            u64::MAX,
        ] {
            assert_eq!(
                ns_to_ms(Some(ns)),
                to_ms(Some(Duration::from_nanos(ns))),
                "{ns} ns"
            );
        }
    }

    #[test]
    fn long_waits_are_made_in_two_and_short_ones_in_one() {
        // Short: one wait, with the whole timeout.
        let mut asked = Vec::new();
        precise(Duration::from_micros(80), |t| {
            asked.push(t);
            Ok(0)
        })
        .unwrap();
        assert_eq!(asked, [Duration::from_micros(80)]);
        // Long: the timeout less the slack estimate (0.1 %, at least 50 µs), then the rest.
        let mut asked = Vec::new();
        let n = precise(Duration::from_millis(300), |t| {
            asked.push(t);
            Ok(0)
        })
        .unwrap();
        assert_eq!(n, 0);
        assert_eq!(asked[0], Duration::from_micros(299_700));
        // (This fake wait takes no time, so "what is left" is nearly all of it.)
        assert_eq!(asked.len(), 2);
        assert!(asked[1] <= Duration::from_millis(300));
        // Something reported by the first wait ends it.
        let mut calls = 0;
        let n = precise(Duration::from_secs(1), |_| {
            calls += 1;
            Ok(3)
        })
        .unwrap();
        assert_eq!((n, calls), (3, 1));
    }

    #[test]
    fn waits_again_only_while_asked_and_time_is_left() {
        let mut calls = 0;
        wait_out(Some(Duration::ZERO), |_| {
            calls += 1;
            Ok(true)
        })
        .unwrap();
        assert_eq!(calls, 1, "a zero timeout never waits again");
        let mut seen = Vec::new();
        wait_out(Some(Duration::from_secs(60)), |left| {
            seen.push(left.unwrap());
            Ok(seen.len() < 3)
        })
        .unwrap();
        assert_eq!(seen.len(), 3);
        assert!(seen[1] <= seen[0] && seen[2] <= seen[1]);
        let mut calls = 0;
        wait_out(None, |left| {
            assert_eq!(left, None);
            calls += 1;
            Ok(calls < 4)
        })
        .unwrap();
        assert_eq!(calls, 4);
    }
}
