//! Timeouts as the backends' waits take them: rounded up to milliseconds for the calls that
//! count in milliseconds, and a deadline for a `select` that must wait again after a wake-up
//! that brought nothing to report.

use std::io;
use std::time::{Duration, Instant};

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
