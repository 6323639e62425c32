#!/usr/bin/env bash
# Instructions per TCP ping-pong round trip (user space only), counted by callgrind.
#
#   scripts/callgrind.sh [--functions] [IMPL...]     IMPL: ferrio epoll mio polling eventloop
#                                                    eventloop-timers eventloop-channel
#                                                    (default: all but polling)
#   N1=1000 N2=11000 scripts/callgrind.sh ferrio
#
# --functions also prints, per implementation, the functions' own (exclusive) instructions
# per round trip by the same difference method: where the instructions go.
#
# eventloop*: ferrio's EventLoop driving the same ping-pong through a Handler (run_once per
# readiness); -timers adds one pending timeout an hour away, -channel a live but idle Sender.
#
# Runs benches/pingpong_callgrind.rs (both ends on one poller in one thread) under
# `valgrind --tool=callgrind` at N1 and N2 round trips and prints (Ir(N2) - Ir(N1)) / (N2 - N1):
# the setup and start-up instructions cancel out. Callgrind counts user-space instructions
# only; the kernel's share of each syscall is not in these figures. The counts repeat from run
# to run (unlike wall time), so a change of a few instructions per round trip is visible.
#
# The callgrind output files stay in $OUT (default target/callgrind) for callgrind_annotate, e.g.
#   callgrind_annotate --inclusive=yes target/callgrind/callgrind.ferrio.11000 | head -40
set -euo pipefail
cd "$(dirname "$0")/.."

N1=${N1:-1000}
N2=${N2:-11000}
FUNCTIONS=0
if [ "${1:-}" = "--functions" ]; then FUNCTIONS=1; shift; fi
IMPLS=("$@")
[ ${#IMPLS[@]} -eq 0 ] && IMPLS=(epoll mio ferrio eventloop eventloop-timers eventloop-channel)

command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }

# Build (bench profile = release + debug info) and find the executable.
exe=$(cargo bench -p ferrio-benches --bench pingpong_callgrind --no-run --message-format=json 2>/dev/null \
    | grep -o '"executable":"[^"]*pingpong_callgrind[^"]*"' | tail -n1 | cut -d'"' -f4)
[ -x "$exe" ] || { echo "could not build benches/pingpong_callgrind.rs" >&2; exit 1; }

OUT=${OUT:-${CARGO_TARGET_DIR:-target}/callgrind}
mkdir -p "$OUT"

# Total instructions (Ir) of one run, from callgrind's "summary:" line.
count() {
    local impl=$1 n=$2 file="$OUT/callgrind.$1.$2"
    valgrind --tool=callgrind --callgrind-out-file="$file" "$exe" "$impl" "$n" 2>"$file.log" \
        || { cat "$file.log" >&2; exit 1; }
    awk '/^summary:/ { print $2 }' "$file"
}

# "Ir<TAB>file:function" for every function of a callgrind output, exclusive counts.
functions() {
    callgrind_annotate --inclusive=no --threshold=100 --auto=no "$1" 2>/dev/null \
        | awk '/file:function/ { on = 1; next }
               on && $1 ~ /^[0-9,]+$/ {
                   ir = $1; gsub(",", "", ir)
                   name = $0
                   sub(/^ *[0-9,]+ +(\( *[0-9.]+%\) +)?/, "", name)
                   sub(/ \[[^]]*\]$/, "", name)
                   sub(/^\/rustc\/[0-9a-f]+\/library\//, "std:", name)
                   print ir "\t" name
               }'
}

printf '| impl | Ir(%d) | Ir(%d) | instructions per round trip |\n' "$N1" "$N2"
printf '|---|---:|---:|---:|\n'
for impl in "${IMPLS[@]}"; do
    a=$(count "$impl" "$N1")
    b=$(count "$impl" "$N2")
    per=$(awk -v a="$a" -v b="$b" -v n1="$N1" -v n2="$N2" 'BEGIN { printf "%.1f", (b - a) / (n2 - n1) }')
    printf '| %s | %s | %s | %s |\n' "$impl" "$a" "$b" "$per"
done

if [ "$FUNCTIONS" = 1 ]; then
    for impl in "${IMPLS[@]}"; do
        printf '\n%s: own instructions per round trip, by function (inlined code is counted under\n' "$impl"
        printf 'the source file it came from, in the function it was inlined into)\n\n'
        { functions "$OUT/callgrind.$impl.$N1" | sed 's/^/a\t/'
          functions "$OUT/callgrind.$impl.$N2" | sed 's/^/b\t/'; } \
            | awk -F'\t' -v n1="$N1" -v n2="$N2" '
                { if ($1 == "a") a[$3] += $2; else b[$3] += $2; seen[$3] = 1 }
                END {
                    for (k in seen) { d = (b[k] - a[k]) / (n2 - n1); if (d >= 0.5) printf "%8.1f  %s\n", d, k }
                }' \
            | sort -rn | head -n 30
    done
fi
