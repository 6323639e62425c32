#!/usr/bin/env bash
# The example servers under real, unmodified clients (issue 15): curl and wrk against
# examples/http_server, redis-cli and redis-benchmark against examples/resp_server.
#
#   scripts/real_clients.sh        # needs curl, wrk, redis-cli, redis-benchmark (.ci/run installs them)
#
# Every server listens on a loopback port the kernel picks, every client run is bounded by
# `timeout`, and the servers are killed on exit. Any mismatch fails the script (non-zero).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
    echo "real_clients: FAILED: $*" >&2
    exit 1
}
for tool in curl wrk redis-cli redis-benchmark timeout; do
    command -v "$tool" >/dev/null || fail "$tool is not installed"
done

cargo build --release --example http_server --example resp_server
bin="${CARGO_TARGET_DIR:-target}/release/examples"
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# start NAME ARGS...: starts a server on 127.0.0.1:0 and sets ADDR, HOST and PORT.
start() {
    local name=$1 log="$work/$1.$RANDOM.log"
    shift
    "$bin/$name" 127.0.0.1:0 "$@" >"$log" 2>&1 &
    pids+=($!)
    ADDR=""
    for _ in $(seq 100); do
        ADDR=$(grep -o 'listening on [0-9.]*:[0-9]*' "$log" | awk '{print $3}' || true)
        [ -n "$ADDR" ] && break
        kill -0 "${pids[-1]}" 2>/dev/null || fail "$name exited: $(cat "$log")"
        sleep 0.1
    done
    [ -n "$ADDR" ] || fail "$name did not start: $(cat "$log")"
    HOST=${ADDR%:*}
    PORT=${ADDR##*:}
    echo "$name $* on $ADDR"
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
    [ "$2" = "$3" ] || fail "$1: expected $(printf %q "$2"), got $(printf %q "$3")"
    echo "  ok  $1"
}

# ----------------------------------------------------------------------------- HTTP
start http_server --idle-ms 5000
url="http://$ADDR"
c() { timeout 20 curl --silent --show-error "$@"; }

expect_eq "curl GET /" "Hello, World!" "$(c "$url/")"
expect_eq "curl 404" "404" "$(c -o /dev/null -w '%{http_code}' "$url/nope")"
expect_eq "curl HEAD" "200" "$(c -I -o /dev/null -w '%{http_code}' "$url/")"
expect_eq "curl --http1.0" "Hello, World!" "$(c --http1.0 "$url/")"

# Keep-alive: curl must say it re-used the connection for the second URL.
c -v -o /dev/null -o /dev/null "$url/" "$url/" 2>"$work/keepalive.txt"
grep -qi 're-using existing connection' "$work/keepalive.txt" ||
    fail "curl did not re-use the connection: $(cat "$work/keepalive.txt")"
echo "  ok  curl keep-alive (re-used the connection)"

# Connection: close: the server says so and closes; curl opens a new connection for the next URL.
c -v -H 'Connection: close' -o /dev/null -o /dev/null "$url/" "$url/" 2>"$work/close.txt"
grep -qi '^< connection: close' "$work/close.txt" || fail "no 'Connection: close' in the response"
grep -qi 're-using existing connection' "$work/close.txt" &&
    fail "curl re-used a connection the server closed"
[ "$(grep -ci 'connected to' "$work/close.txt")" -ge 2 ] || fail "curl did not reconnect after the close"
echo "  ok  curl Connection: close (closed, reconnected)"

# Bodies: 3 MiB with Content-Length (curl sends Expect: 100-continue) and chunked.
head -c $((3 << 20)) /dev/urandom >"$work/body.bin"
c --data-binary @"$work/body.bin" -H 'Content-Type: application/octet-stream' "$url/echo" -o "$work/echo.bin"
cmp -s "$work/body.bin" "$work/echo.bin" || fail "POST /echo (Content-Length) did not echo the body"
echo "  ok  curl POST 3 MiB body echoed"
c --data-binary @"$work/body.bin" -H 'Transfer-Encoding: chunked' "$url/echo" -o "$work/echo2.bin"
cmp -s "$work/body.bin" "$work/echo2.bin" || fail "chunked POST /echo did not echo the body"
echo "  ok  curl chunked POST echoed"
c "$url/bytes/5000000" -o "$work/bytes.bin"
expect_eq "curl GET /bytes/5000000 length" "5000000" "$(stat -c %s "$work/bytes.bin")"
expect_eq "curl garbage request gets 400" "400" \
    "$(c -o /dev/null -w '%{http_code}' -X 'BAD METHOD' "$url/" || true)"

# wrk, bounded: requests served, no socket errors, no non-2xx answers.
wrk_check() {
    timeout 30 wrk -t1 -c32 -d3s "$url/" >"$work/wrk.txt" 2>&1 || fail "wrk failed: $(cat "$work/wrk.txt")"
    local requests
    requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
    [ -n "$requests" ] && [ "$requests" -gt 0 ] || fail "wrk made no requests: $(cat "$work/wrk.txt")"
    grep -q 'Socket errors' "$work/wrk.txt" && fail "wrk socket errors: $(cat "$work/wrk.txt")"
    grep -q 'Non-2xx' "$work/wrk.txt" && fail "wrk non-2xx responses: $(cat "$work/wrk.txt")"
    echo "  ok  wrk $1: $requests requests in 3 s, no errors ($(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt") req/s)"
}
wrk_check "1 loop"
start http_server --loops 2
url="http://$ADDR"
wrk_check "2 loops (SO_REUSEPORT)"
expect_eq "curl GET / on 2 loops" "Hello, World!" "$(c "$url/")"

# ----------------------------------------------------------------------------- RESP
start resp_server --idle-ms 5000
r() { timeout 10 redis-cli -h "$HOST" -p "$PORT" "$@"; }

expect_eq "redis-cli PING" "PONG" "$(r PING)"
expect_eq "redis-cli PING msg" "hello" "$(r PING hello)"
expect_eq "redis-cli ECHO" "hi there" "$(r ECHO 'hi there')"
expect_eq "redis-cli DEL (clean start)" "0" "$(r DEL k n)"
expect_eq "redis-cli GET missing" "" "$(r GET k)"
expect_eq "redis-cli SET" "OK" "$(r SET k v1)"
expect_eq "redis-cli GET" "v1" "$(r GET k)"
expect_eq "redis-cli EXISTS" "2" "$(r EXISTS k k nope)"
expect_eq "redis-cli INCR" "1" "$(r INCR n)"
expect_eq "redis-cli INCR again" "2" "$(r INCR n)"
expect_eq "redis-cli INCR non-integer" "ERR value is not an integer or out of range" "$(r INCR k)"
expect_eq "redis-cli DEL" "2" "$(r DEL k n)"
expect_eq "redis-cli CONFIG GET save" "$(printf 'save\n')" "$(r CONFIG GET save)"
expect_eq "redis-cli CONFIG GET appendonly" "$(printf 'appendonly\nno')" "$(r CONFIG GET appendonly)"
expect_eq "redis-cli wrong arity" "ERR wrong number of arguments for 'get' command" "$(r GET)"
expect_eq "redis-cli unknown command" \
    "ERR unknown command 'NOSUCH', with args beginning with: 'a' " "$(r NOSUCH a)"
expect_eq "redis-cli QUIT" "OK" "$(r QUIT)"
# A value of several MiB through -x (the last argument from stdin), then GET it back.
head -c $((3 << 20)) /dev/urandom | base64 -w0 >"$work/value.txt"
expect_eq "redis-cli SET 4 MiB value" "OK" "$(r -x SET big <"$work/value.txt")"
r GET big >"$work/got.txt"
cmp -s <(cat "$work/value.txt"; echo) "$work/got.txt" || fail "GET big returned other bytes"
echo "  ok  redis-cli GET 4 MiB value"
# Pipelined commands from stdin.
printf 'SET p 1\nINCR p\nINCR p\nGET p\n' | r >"$work/pipe.txt"
expect_eq "redis-cli pipe" "$(printf 'OK\n2\n3\n3')" "$(cat "$work/pipe.txt")"

# redis-benchmark, bounded: every test reports a rate and no error replies.
bench_check() {
    timeout 60 redis-benchmark -h "$HOST" -p "$PORT" -P 16 -n 100000 -c 20 -t ping,set,get,incr -q \
        >"$work/bench.txt" 2>&1 || fail "redis-benchmark failed: $(cat "$work/bench.txt")"
    tr '\r' '\n' <"$work/bench.txt" | grep -E 'requests per second' >"$work/rates.txt" || true
    for t in PING_INLINE PING_MBULK SET GET INCR; do
        grep -q "^$t: [0-9.]* requests per second" "$work/rates.txt" ||
            fail "redis-benchmark: no rate for $t: $(cat "$work/bench.txt")"
    done
    grep -qiE 'error|unexpected|warn' "$work/bench.txt" && fail "redis-benchmark saw errors: $(cat "$work/bench.txt")"
    echo "  ok  redis-benchmark -P 16 $1: $(awk '{printf "%s %s/s  ", $1, $2}' "$work/rates.txt")"
}
bench_check "1 loop"
start resp_server --loops 2
bench_check "2 loops (SO_REUSEPORT)"
expect_eq "redis-cli PING on 2 loops" "PONG" "$(r PING)"

echo "real_clients: all checks passed"
