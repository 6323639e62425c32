#!/usr/bin/env bash
# Instructions per TCP ping-pong round trip (user space only), counted by callgrind, in two
# build profiles and on both of ferrio's IO paths.
#
#   scripts/callgrind.sh [--functions] [IMPL...]
#   PROFILES=fat scripts/callgrind.sh ferrio mio        # one profile only
#   N1=1000 N2=11000 scripts/callgrind.sh
#
# IMPL: epoll mio polling ferrio eventloop eventloop-timers eventloop-channel, and the ferrio
# ones with -std (ferrio-std, eventloop-std, ...). Default: all but polling.
#
# IO paths: `ferrio` and `eventloop*` read and write with ferrio's `TryRead::try_read` /
# `TryWrite::try_write`; the `-std` names with std's `Read::read` / `Write::write` on
# `&TcpStream`, as mio users do (mio has only that path; raw epoll calls send/recv).
#
# Profiles (PROFILES, default "fat nolto"), set through cargo's CARGO_PROFILE_BENCH_* variables
# so that the bench profile in Cargo.toml stays as it is:
#   fat    lto = "fat", codegen-units = 1
#   nolto  lto = false, codegen-units = 16 (cargo's defaults for release)
# Each profile builds into its own target directory ($TARGET/callgrind-<profile>), so switching
# costs no rebuild of the other.
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
# --functions also prints, per profile and implementation, the functions' own (exclusive)
# instructions per round trip by the same difference method: where the instructions go.
#
# The callgrind output files stay in $OUT (default $TARGET/callgrind) for callgrind_annotate, e.g.
#   callgrind_annotate --inclusive=yes target/callgrind/callgrind.fat.ferrio.11000 | head -40
set -euo pipefail
cd "$(dirname "$0")/.."

N1=${N1:-1000}
N2=${N2:-11000}
FUNCTIONS=0
if [ "${1:-}" = "--functions" ]; then FUNCTIONS=1; shift; fi
IMPLS=("$@")
[ ${#IMPLS[@]} -eq 0 ] && IMPLS=(epoll mio ferrio ferrio-std eventloop eventloop-std
    eventloop-timers eventloop-timers-std eventloop-channel eventloop-channel-std)
read -r -a PROFILE_LIST <<< "${PROFILES:-fat nolto}"

command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }

TARGET=${CARGO_TARGET_DIR:-target}
OUT=${OUT:-$TARGET/callgrind}
mkdir -p "$OUT"

# Builds the bench in profile $1 and prints the executable's path.
build() {
    local lto cgu
    case $1 in
        fat) lto=fat; cgu=1 ;;
        nolto) lto=false; cgu=16 ;;
        *) echo "unknown profile $1 (fat or nolto)" >&2; exit 2 ;;
    esac
    local exe
    exe=$(CARGO_PROFILE_BENCH_LTO=$lto CARGO_PROFILE_BENCH_CODEGEN_UNITS=$cgu \
        CARGO_TARGET_DIR="$TARGET/callgrind-$1" \
        cargo bench -p ferrio-benches --bench pingpong_callgrind --no-run --message-format=json 2>/dev/null \
        | grep -o '"executable":"[^"]*pingpong_callgrind[^"]*"' | tail -n1 | cut -d'"' -f4)
    [ -x "$exe" ] || { echo "could not build benches/pingpong_callgrind.rs ($1)" >&2; exit 1; }
    echo "$exe"
}

# Total instructions (Ir) of one run, from callgrind's "summary:" line.
count() {
    local exe=$1 profile=$2 impl=$3 n=$4 file="$OUT/callgrind.$2.$3.$4"
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

path_of() {
    case $1 in
        epoll) echo "send/recv" ;;
        mio|polling|*-std) echo "std Read/Write" ;;
        *) echo "TryRead/TryWrite" ;;
    esac
}

declare -A PER
for profile in "${PROFILE_LIST[@]}"; do
    exe=$(build "$profile")
    for impl in "${IMPLS[@]}"; do
        a=$(count "$exe" "$profile" "$impl" "$N1")
        b=$(count "$exe" "$profile" "$impl" "$N2")
        PER[$profile.$impl]=$(awk -v a="$a" -v b="$b" -v n1="$N1" -v n2="$N2" \
            'BEGIN { printf "%.1f", (b - a) / (n2 - n1) }')
    done
done

label() {
    case $1 in
        fat) echo 'lto = "fat", 1 CGU' ;;
        nolto) echo 'lto = false, 16 CGUs' ;;
    esac
}

# The table: one column per profile, with the ratio to mio's bare Poll in that profile.
header='| impl | IO path |'
rule='|---|---|'
for profile in "${PROFILE_LIST[@]}"; do
    header+=" $(label "$profile") | vs mio |"
    rule+='---:|---:|'
done
echo "instructions per round trip, (Ir($N2) - Ir($N1)) / $((N2 - N1))"
echo
echo "$header"
echo "$rule"
for impl in "${IMPLS[@]}"; do
    row="| $impl | $(path_of "$impl") |"
    for profile in "${PROFILE_LIST[@]}"; do
        v=${PER[$profile.$impl]}
        m=${PER[$profile.mio]:-}
        ratio=-
        [ -n "$m" ] && ratio=$(awk -v v="$v" -v m="$m" 'BEGIN { printf "%.2f", v / m }')
        row+=" $v | $ratio |"
    done
    echo "$row"
done

if [ "$FUNCTIONS" = 1 ]; then
    for profile in "${PROFILE_LIST[@]}"; do
        for impl in "${IMPLS[@]}"; do
            printf '\n%s (%s): own instructions per round trip, by function (inlined code is\n' \
                "$impl" "$(label "$profile")"
            printf 'counted under the source file it came from, in the function it was inlined into)\n\n'
            { functions "$OUT/callgrind.$profile.$impl.$N1" | sed 's/^/a\t/'
              functions "$OUT/callgrind.$profile.$impl.$N2" | sed 's/^/b\t/'; } \
                | awk -F'\t' -v n1="$N1" -v n2="$N2" '
                    { if ($1 == "a") a[$3] += $2; else b[$3] += $2; seen[$3] = 1 }
                    END {
                        for (k in seen) { d = (b[k] - a[k]) / (n2 - n1); if (d >= 0.5) printf "%8.1f  %s\n", d, k }
                    }' \
                | sort -rn | head -n 30
        done
    done
fi
