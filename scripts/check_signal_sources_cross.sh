#!/usr/bin/env bash
# Type-checks (check + clippy -D warnings) the signal and child-exit sources on the kqueue
# targets, until the whole crate builds there (the kqueue backend lands): the files
# src/sys/{signal,process,kevent,syscall}.rs and src/{signal,process}.rs are compiled unchanged
# (#[path]) into a scratch crate whose other modules are stubs.
# Needs Debian's rustc-web, cargo-web, rust-web-src and rust-web-clippy.
#
#   bash scripts/check_signal_sources_cross.sh [target ...]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-apple-darwin aarch64-apple-ios x86_64-unknown-freebsd
    x86_64-unknown-netbsd x86_64-unknown-openbsd x86_64-unknown-dragonfly x86_64-unknown-linux-gnu)
rustc_bin="$(dpkg -L rustc-web | grep 'bin/rustc$' | head -1)"
cargo_bin="$(dpkg -L cargo-web | grep 'bin/cargo$' | head -1)"
work="${TMPDIR:-/tmp}/ferrio-signal-cross"
mkdir -p "$work/src"
libc_version="$(grep -A2 'name = "libc"' "$repo/Cargo.lock" | sed -n 's/version = "\(.*\)"/\1/p' | head -1)"
cat > "$work/Cargo.toml" <<TOML
[package]
name = "ferrio-signal-cross"
version = "0.0.0"
edition = "2021"
[dependencies]
libc = "=$libc_version"
[lints.rust]
unexpected_cfgs = { level = "allow" }
TOML
cat > "$work/src/lib.rs" <<RUST
#![deny(unsafe_op_in_unsafe_fn)]
#![allow(dead_code)]
#[path = "$repo/src/sys/syscall.rs"]
#[macro_use]
mod syscall;
mod sys {
    pub(crate) mod fd {
        use std::io;
        use std::os::fd::{FromRawFd, OwnedFd, RawFd};
        pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
            let mut fds = [-1 as RawFd; 2];
            unsafe { syscall!(pipe(fds.as_mut_ptr())) }?;
            Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
        }
        pub(crate) fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
            unsafe { syscall!(read(fd, buf.as_mut_ptr().cast(), buf.len())) }.map(|n| n as usize)
        }
    }
    #[path = "$repo/src/sys/signal.rs"]
    pub(crate) mod signal;
    #[path = "$repo/src/sys/process.rs"]
    pub(crate) mod process;
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd", target_os = "dragonfly", target_os = "netbsd", target_os = "openbsd"))]
    #[path = "$repo/src/sys/kevent.rs"]
    mod kevent;
}
mod io_source {
    use std::io;
    use std::os::fd::{AsRawFd, RawFd};
    #[derive(Debug)]
    pub(crate) struct IoSource<T>(T);
    impl<T: AsRawFd> IoSource<T> {
        pub(crate) fn new(t: T) -> Self { IoSource(t) }
        pub(crate) fn inner(&self) -> &T { &self.0 }
        pub(crate) fn raw_fd(&self) -> RawFd { self.0.as_raw_fd() }
        pub(crate) fn do_read<R>(&self, f: impl FnOnce(&T) -> io::Result<R>) -> io::Result<R> { f(&self.0) }
    }
}
macro_rules! impl_evented_via_io_source { (\$t:ty) => {}; }
#[path = "$repo/src/signal.rs"]
pub mod signal;
#[path = "$repo/src/process.rs"]
pub mod process;
RUST
cd "$work"
for target in "${targets[@]}"; do
    echo "== $target"
    PATH="/usr/bin:$PATH" RUSTC_BOOTSTRAP=1 RUSTC="$rustc_bin" "$cargo_bin" clippy --offline -q \
        -Zbuild-std=core,std --target "$target" --target-dir "$work/target" -- -D warnings
done
echo "signal/process sources: type-check and clippy clean on ${targets[*]}"
