#!/usr/bin/env bash
# Runs each fuzz target (fuzz/fuzz_targets/*.rs) for a bounded time with libFuzzer + ASan.
# Needs the nightly toolchain; without it, prints why and exits 0.
# Usage: scripts/fuzz.sh [seconds-per-target]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: SKIPPED: the nightly toolchain is not installed (cargo-fuzz needs it)"
    exit 0
fi

target=x86_64-unknown-linux-gnu
# The flags cargo-fuzz passes, so cargo-fuzz itself need not be installed.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Zsanitizer=address -Cdebug-assertions"
export CARGO_TARGET_DIR="$PWD/target/fuzz"
cargo +nightly build --release --manifest-path fuzz/Cargo.toml --target "$target" --bins

for src in fuzz/fuzz_targets/*.rs; do
    name=$(basename "$src" .rs)
    corpus="target/fuzz/corpus/$name"
    mkdir -p "$corpus"
    echo "fuzz: $name for ${secs}s"
    "$CARGO_TARGET_DIR/$target/release/$name" -max_total_time="$secs" -print_final_stats=1 "$corpus" 2>&1 |
        grep -E "stat::number_of_executed_units|Done|ERROR|SUMMARY|panicked" || true
    # libFuzzer exits non-zero on a crash; re-check the status explicitly.
    "$CARGO_TARGET_DIR/$target/release/$name" -runs=0 "$corpus" >/dev/null 2>&1 || {
        echo "fuzz: $name: a corpus input crashes"; exit 1; }
done
echo "fuzz: all targets ran clean"
