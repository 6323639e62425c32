//! The one place that turns a C return value of `-1` plus `errno` into an `io::Error`.

/// Calls a `libc` function and maps a `-1` return to `io::Error::last_os_error()`.
///
/// The call site is responsible for the `unsafe`: wrap the macro in `unsafe { }` with a
/// `// SAFETY:` comment stating why the arguments are valid for that syscall.
macro_rules! syscall {
    ($fn:ident ( $($arg:expr),* $(,)? )) => {{
        let res = libc::$fn($($arg),*);
        if res == -1 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}
