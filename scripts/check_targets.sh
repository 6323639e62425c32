#!/usr/bin/env bash
# Type-checks and lints ferrio for the systems CI cannot run: macOS (x86_64, aarch64),
# FreeBSD, NetBSD, OpenBSD and DragonFly. The kqueue backend and the non-Linux halves of the
# platform code are compiled, never run, here.
#
# Needs Debian's `rustc-web`, `cargo-web`, `rust-web-src` and `rust-web-clippy` (Rust 1.96
# with its std source, so that `-Zbuild-std` builds std for any target). Their binaries are in
# /usr/bin; the rustup proxies usually come first on PATH, so /usr/bin goes first here (cargo
# then also finds Debian's `cargo-clippy`).
#
# Checks the library, the tests and the examples of the ferrio package (`--lib --tests
# --examples`), with every feature, by `cargo clippy -D warnings` (a type-check plus the lints). The
# benches (the ferrio-benches package) are left out: they measure against hand-written raw epoll
# and eventfd baselines, which are Linux-only by design. Tests that need Linux are cfg'd out on
# these targets (see README.md, "Platforms").
#
# Usage: scripts/check_targets.sh [TARGET...]   (default: all six)
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_BIN=/usr/bin
for tool in rustc cargo cargo-clippy clippy-driver; do
    if [ ! -x "$DEBIAN_BIN/$tool" ]; then
        echo "check_targets: $DEBIAN_BIN/$tool is missing (apt-get install rustc-web cargo-web rust-web-src rust-web-clippy)" >&2
        exit 1
    fi
done

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(
        x86_64-apple-darwin
        aarch64-apple-darwin
        x86_64-unknown-freebsd
        x86_64-unknown-netbsd
        x86_64-unknown-openbsd
        x86_64-unknown-dragonfly
    )
fi

export PATH="$DEBIAN_BIN:$PATH"
export RUSTC="$DEBIAN_BIN/rustc"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_XCHECK:-$PWD/target/xcheck}"
"$DEBIAN_BIN/rustc" --version
"$DEBIAN_BIN/cargo" --version

for target in "${targets[@]}"; do
    extra=()
    if [ "$target" = x86_64-unknown-openbsd ]; then
        # A clippy false positive on OpenBSD only: it asks for `const { }` on thread_local
        # initialisers that already are `const { }` (std's OpenBSD thread_local expands
        # differently).
        extra=(-A clippy::missing_const_for_thread_local)
    fi
    start=$SECONDS
    # clippy type-checks as `cargo check` does (an error fails it) and then lints; a separate
    # `cargo check` pass would build std's metadata a second time for nothing.
    echo "=== $target: cargo clippy -D warnings (type-check and lints)"
    "$DEBIAN_BIN/cargo" clippy -Zbuild-std=core,std --target "$target" \
        --lib --tests --examples --all-features -- -D warnings "${extra[@]}"
    echo "=== $target: ok ($((SECONDS - start)) s)"
done
