#!/usr/bin/env bash
# Builds ferrio for x86_64-pc-windows-gnu and runs the Windows part of the suite under Wine.
#
#   bash scripts/windows_tests.sh
#
# Needs Debian's rustc-web, cargo-web and rust-web-src (a Rust with its std source, built here
# with -Zbuild-std), gcc-mingw-w64-x86-64 (the linker and the shim below) and wine64 (Wine 8).
# .ci/run installs them. Steps:
#
#  1. The shim: Wine 8 has no bcryptprimitives.dll, whose ProcessPrng Rust's std calls at
#     start-up; scripts/windows/bcryptprimitives.c implements it over RtlGenRandom and is put
#     beside every Windows executable (Windows loads a DLL from the executable's directory
#     first).
#  2. The library, every integration test and the examples that apply to Windows, built for
#     x86_64-pc-windows-gnu; the library also type-checked for x86_64-pc-windows-msvc.
#  3. The integration tests under Wine (FERRIO_STRICT=1: a missing precondition fails), with a
#     count of the tests that ran. Unix-only tests are compiled out with #[cfg(unix)].
#  4. The echo demo (self-checking; 100 clients, 64 KiB each way per client: under Wine every
#     socket call is a round trip to the wineserver), the other event-loop examples and the
#     seed program, under Wine. The HTTP and RESP servers' parser tests run in step 3; their
#     self-checks do not run here: under Wine the 300 ms idle timeouts they use fire on
#     connections that are merely slow (300 connections x 20 requests take about a minute).
#
# Everything goes to target/windows (its own CARGO_TARGET_DIR and WINEPREFIX).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "windows_tests: $*" >&2; exit 1; }
step() { printf '\n--- %s\n' "$*"; }

# The rustup proxies come first on PATH: use Debian's toolchain by its full path.
RUSTC_WEB=$(dpkg -L rustc-web 2>/dev/null | grep 'bin/rustc$' | head -1) || true
CARGO_WEB=$(dpkg -L cargo-web 2>/dev/null | grep 'bin/cargo$' | head -1) || true
[ -x "${RUSTC_WEB:-}" ] || die "rustc-web is not installed (apt-get install rustc-web)"
[ -x "${CARGO_WEB:-}" ] || die "cargo-web is not installed (apt-get install cargo-web)"
[ -d /usr/lib/rustlib/src/rust/library ] || die "rust-web-src is not installed"
command -v x86_64-w64-mingw32-gcc >/dev/null || die "gcc-mingw-w64-x86-64 is not installed"
WINE=$(command -v wine64 || true)
[ -n "$WINE" ] || { [ -x /usr/lib/wine/wine64 ] && WINE=/usr/lib/wine/wine64; }
[ -n "$WINE" ] || die "wine64 is not installed"

TARGET=x86_64-pc-windows-gnu
export RUSTC_BOOTSTRAP=1
export RUSTC="$RUSTC_WEB"
export CARGO_TARGET_DIR="$PWD/target/windows"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$WINE"
export WINEDEBUG=-all
export WINEPREFIX="$CARGO_TARGET_DIR/wineprefix"
export FERRIO_STRICT=1
unset FERRIO_BACKEND
BUILD_STD=(-Zbuild-std=std,panic_abort --target "$TARGET")
OUT="$CARGO_TARGET_DIR/$TARGET/debug"
# The examples that apply to Windows (udp_batch shows Unix-only batched UDP, ring_write runs
# over a Unix socket pair).
EXAMPLES=(echo_server hello_loop timers channel http_server resp_server)
example_args=()
for ex in "${EXAMPLES[@]}"; do example_args+=(--example "$ex"); done

"$WINE" --version

step "shim: bcryptprimitives.dll (ProcessPrng over RtlGenRandom)"
mkdir -p "$CARGO_TARGET_DIR/shim"
x86_64-w64-mingw32-gcc -shared -O2 -Wall -Werror \
    -o "$CARGO_TARGET_DIR/shim/bcryptprimitives.dll" \
    scripts/windows/bcryptprimitives.c scripts/windows/bcryptprimitives.def -ladvapi32
place_shim() {
    for dir in "$OUT" "$OUT/deps" "$OUT/examples" "$@"; do
        mkdir -p "$dir"
        cp "$CARGO_TARGET_DIR/shim/bcryptprimitives.dll" "$dir/"
    done
}

step "build: library, integration tests and examples for $TARGET"
"$CARGO_WEB" build "${BUILD_STD[@]}" --lib --tests "${example_args[@]}"

step "type-check: library for x86_64-pc-windows-msvc"
"$CARGO_WEB" check -Zbuild-std=core,std --target x86_64-pc-windows-msvc --lib

step "tests under Wine"
place_shim
# One wineserver for the whole run, kept alive (-p) until the script ends: by default it exits
# 3 s after its last client, and a test binary starting as it exited failed once with "wine
# client error:0: recvmsg: Connection reset by peer" before running (an empty test binary,
# under load).
WINESERVER=$(command -v wineserver || true)
[ -n "$WINESERVER" ] || WINESERVER=/usr/lib/wine/wineserver64
[ -x "$WINESERVER" ] || die "wineserver is not installed (wine64)"
# The server needs its prefix directory to exist (a fresh one is filled in by the first wine
# command below).
mkdir -p "$WINEPREFIX"
"$WINESERVER" -p >"$CARGO_TARGET_DIR/wineserver.log" 2>&1 </dev/null || {
    cat "$CARGO_TARGET_DIR/wineserver.log" >&2
    die "wineserver -p failed"
}
trap '"$WINESERVER" -k >/dev/null 2>&1 || true' EXIT
# A fresh prefix is made on first use; make it before the tests' timers run. This also starts
# Wine's background processes (services.exe, winedevice.exe), which live as long as the
# server: started here, they hold /dev/null, not the output of the tests below.
"$WINE" cmd /c exit >/dev/null 2>&1 || true
log="$CARGO_TARGET_DIR/tests.log"
# To a file, not through a pipe: a Wine process that outlives its test would keep a pipe open.
set +e
"$CARGO_WEB" test "${BUILD_STD[@]}" --tests --no-fail-fast >"$log" 2>&1
status=$?
set -e
cat "$log"
passed=0 failed=0 ignored=0 binaries=0
while read -r p f i; do
    passed=$((passed + p)) failed=$((failed + f)) ignored=$((ignored + i))
    binaries=$((binaries + 1))
done < <(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored.*/\1 \2 \3/p' "$log")
echo "Windows (Wine): $binaries test binaries, $passed passed, $failed failed, $ignored ignored"
[ "$status" -eq 0 ] || die "tests failed under Wine"
[ "$passed" -gt 0 ] || die "no test ran under Wine"

step "examples under Wine"
echo "+ echo_server --demo 100 65536"
"$WINE" "$OUT/examples/echo_server.exe" --demo 100 65536
for ex in hello_loop timers channel; do
    echo "+ $ex"
    "$WINE" "$OUT/examples/$ex.exe"
done

step "seed program under Wine (the original mio docs' example, against ferrio renamed to mio)"
"$CARGO_WEB" build "${BUILD_STD[@]}" --manifest-path seed/Cargo.toml
place_shim
"$WINE" "$OUT/seed.exe"

echo
echo "windows_tests: all passed ($passed tests under Wine)"
