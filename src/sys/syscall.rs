//! The one place that turns a C return value of `-1` plus `errno` into an `io::Error`.
//!
//! With the `fault-injection` feature (tests only) every call first asks the thread's fault
//! table (`sys::fault`) whether it must fail; without it the macro is the bare call.

/// Calls a `libc` function and maps a `-1` return to `io::Error::last_os_error()`.
///
/// The call site is responsible for the `unsafe`: wrap the macro in `unsafe { }` with a
/// `// SAFETY:` comment stating why the arguments are valid for that syscall.
///
/// `syscall!(@named "epoll_pwait2", syscall(..))` names a raw `syscall(2)` for the fault table.
#[cfg(not(feature = "fault-injection"))]
macro_rules! syscall {
    (@named $name:literal, $fn:ident ( $($arg:expr),* $(,)? )) => {
        syscall!($fn($($arg),*))
    };
    ($fn:ident ( $($arg:expr),* $(,)? )) => {{
        let res = libc::$fn($($arg),*);
        if res == -1 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}

/// Calls a `libc` function and maps a `-1` return to `io::Error::last_os_error()`, unless
/// this thread's fault table says this call must fail: then the call is not made and the
/// injected error is returned instead (see `sys::fault`).
#[cfg(feature = "fault-injection")]
macro_rules! syscall {
    (@named $name:literal, $fn:ident ( $($arg:expr),* $(,)? )) => {{
        match $crate::sys::fault::check($name) {
            Some(err) => Err(err),
            None => {
                let res = libc::$fn($($arg),*);
                if res == -1 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(res)
                }
            }
        }
    }};
    ($fn:ident ( $($arg:expr),* $(,)? )) => {{
        match $crate::sys::fault::check(stringify!($fn)) {
            Some(err) => Err(err),
            None => {
                let res = libc::$fn($($arg),*);
                if res == -1 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(res)
                }
            }
        }
    }};
}
