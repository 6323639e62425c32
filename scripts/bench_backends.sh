#!/usr/bin/env bash
# ferrio's three selector backends side by side (issue: "benchmarks on all three backends").
#
#   scripts/bench_backends.sh            # quick mode (about 2 minutes)
#   scripts/bench_backends.sh --full
#
# For each backend (FERRIO_BACKEND=epoll|poll|uring) it runs the suite's ferrio rows of the
# ping-pong, echo and poll-overhead workloads, then counts syscalls per loop iteration with
# `strace -f -c` on the echo example's self-checking demo (one wait syscall = one iteration).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=--quick
[ "${1:-}" = "--full" ] && mode=""

cargo build --release --example echo_server && cargo build --release -p ferrio-benches --benches
out=${CARGO_TARGET_DIR:-target}/bench-backends
mkdir -p "$out"

for backend in epoll poll uring; do
    echo "=== FERRIO_BACKEND=$backend"
    for workload in "pingpong" "echo" "poll K=10000"; do
        FERRIO_BACKEND=$backend cargo bench -p ferrio-benches --bench suite -- $mode --no-syscalls --filter "$workload" 2>/dev/null |
            grep -E "^\| (pingpong|echo|poll)[^|]*\| ferrio( EventLoop)? \|" || true
    done
    if command -v strace >/dev/null; then
        FERRIO_BACKEND=$backend strace -f -c -o "$out/strace.$backend.txt" \
            "${CARGO_TARGET_DIR:-target}/release/examples/echo_server" >/dev/null
        # The demo's clients run in the same process with blocking std sockets (recvfrom,
        # sendto); the server's own syscalls are its waits plus readv/sendmsg (the rings),
        # accept4 and epoll_ctl.
        awk -v b="$backend" '
            $NF ~ /^(epoll_wait|epoll_pwait|ppoll|io_uring_enter)$/ { waits += $4 }
            $NF ~ /^(epoll_wait|epoll_pwait|ppoll|io_uring_enter|readv|sendmsg|accept4|epoll_ctl)$/ { server += $4 }
            END { if (waits > 0) printf "server syscalls per loop iteration (echo demo, %s): %.1f (%d syscalls / %d waits)\n", b, server / waits, server, waits }
        ' "$out/strace.$backend.txt"
    else
        echo "strace not installed: syscall counts skipped"
    fi
done
