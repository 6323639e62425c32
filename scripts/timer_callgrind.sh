#!/usr/bin/env bash
# Instructions and last-level cache misses per operation of the bare timer wheel with
# 1,000,000 timeouts pending (benches/timer_callgrind.rs), counted by cachegrind (8 MiB LL).
#
#   scripts/timer_callgrind.sh                 # build the bench and count
#   EXE=path/to/timer_callgrind scripts/timer_callgrind.sh   # count a given build
#   FUNCTIONS=1 scripts/timer_callgrind.sh     # also each phase's functions (cg_annotate)
#   LOAD=ms scripts/timer_callgrind.sh         # the suite's load: 1 ms ticks, polled every tick
#
# Each phase runs after all earlier ones; (count(phase) - count(previous phase)) / ops is the
# phase's cost per operation: the setup and start-up cancel out.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
TARGET=${CARGO_TARGET_DIR:-target}
OUT=${OUT:-$TARGET/timer_callgrind}
mkdir -p "$OUT"
if [ -z "${EXE:-}" ]; then
    EXE=$(cargo bench -p ferrio-benches --bench timer_callgrind --no-run --message-format=json 2>/dev/null \
        | grep -o '"executable":"[^"]*timer_callgrind[^"]*"' | tail -n1 | cut -d'"' -f4)
fi
[ -x "$EXE" ] || { echo "could not build benches/timer_callgrind.rs" >&2; exit 1; }

PHASES=(setup insert cancel reset expiry)
OPS=(0 100000 100000 100000 1000000)
# "Ir LLmisses" of one run, from cachegrind's summary line (events Ir ... ILmr ... DLmr DLmw).
count() {
    local file="$OUT/cachegrind.$1"
    valgrind --tool=cachegrind --cache-sim=yes --LL=8388608,16,64 --cachegrind-out-file="$file" \
        "$EXE" "$1" ${LOAD:-} >"$file.log" 2>&1 || { cat "$file.log" >&2; exit 1; }
    awk '/^events:/ { for (i = 2; i <= NF; i++) col[$i] = i }
         /^summary:/ { print $(col["Ir"]), $(col["ILmr"]) + $(col["DLmr"]) + $(col["DLmw"]) }' "$file"
}
printf '%-8s %12s %14s\n' phase "Ir/op" "LL misses/op"
read -r prev_ir prev_ll < <(count setup)
for i in 1 2 3 4; do
    read -r ir ll < <(count "${PHASES[$i]}")
    awk -v a="$ir" -v b="$prev_ir" -v c="$ll" -v d="$prev_ll" -v n="${OPS[$i]}" -v p="${PHASES[$i]}" \
        'BEGIN { printf "%-8s %12.1f %14.2f\n", p, (a - b) / n, (c - d) / n }'
    if [ "${FUNCTIONS:-0}" = 1 ]; then
        cg_diff "$OUT/cachegrind.${PHASES[$((i - 1))]}" "$OUT/cachegrind.${PHASES[$i]}" >"$OUT/diff.${PHASES[$i]}" 2>/dev/null
        cg_annotate --auto=no "$OUT/diff.${PHASES[$i]}" 2>/dev/null | sed -n '/file:function/,/^$/p' | head -25 || true
    fi
    prev_ir=$ir; prev_ll=$ll
done
