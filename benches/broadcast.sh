#!/usr/bin/env bash
# Broadcast benchmarks, with a load client that keeps up (benches/sse-load, Rust over mio):
#   (a) memory per idle subscriber at N subscribers on one worker, beside an idle
#       keep-alive connection measured the same way (server RSS growth / N);
#   (b) how long one publish takes to reach all N (from its publication, wall clock);
#   (d) RATE publishes a second for DURATION_S seconds to a topic with N subscribers: events lost,
#       and the p50/p99/max publish-to-receive delay.
#
#   benches/broadcast.sh                          # N=10000, RATE=100, DURATION_S=30
#   N=5000 DURATION_S=10 benches/broadcast.sh
#
# The server, the client and the publisher share this machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-10000}
RATE=${RATE:-100}
DURATION_S=${DURATION_S:-30}
PORT=${PORT:-18480}
ulimit -n "$(ulimit -Hn)"
cargo build --release --quiet -p warden-server
cargo build --release --quiet --manifest-path benches/sse-load/Cargo.toml
load=benches/sse-load/target/release/sse-load
work=$(mktemp -d)
pid=""
stop() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    pid=""
}
trap 'stop; rm -rf "$work"' EXIT
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
start() {
    RUST_LOG=error ./target/release/warden --addr "127.0.0.1:$PORT" --workers "$1" \
        --keepalive-timeout-ms 600000 --header-timeout-ms 600000 >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/plaintext" >/dev/null && break; sleep 0.05; done
}
# hold MODE ARGS...: runs the client until it is ready, measures RSS growth per
# connection, then lets it go on; its output goes to $work/out.
hold() {
    local before fifo="$work/fifo"
    before=$(rss "$pid")
    rm -f "$fifo"; mkfifo "$fifo"
    "$load" "$@" <"$fifo" >"$work/out" 2>"$work/err" &
    client=$!
    exec 3>"$fifo"
    until grep -q "^ready" "$work/out" 2>/dev/null; do
        kill -0 "$client" 2>/dev/null || { cat "$work/err"; exit 1; }
        sleep 0.2
    done
    sleep 1
    grown=$(( ($(rss "$pid") - before) * 1024 / N ))
}

echo "## $N connections on one worker"
echo
start 1
hold idle "127.0.0.1:$PORT" "$N"
idle=$grown
exec 3>&-; wait "$client" || true
stop

start 1
hold subscribe "127.0.0.1:$PORT" "$N" bench 3
subscriber=$grown
echo >&3 # measured: the client reads from now on
sleep 0.5
for _ in 1 2 3; do
    "$load" publish "127.0.0.1:$PORT" bench 1 1 2>/dev/null
    sleep 1
done
exec 3>&-; wait "$client" || true
echo "| | bytes per connection (server RSS growth / $N) |"
echo "| --- | --- |"
echo "| idle keep-alive connection | $idle |"
echo "| idle broadcast subscriber | $subscriber |"
echo
sed 's/^/    /' "$work/out" | grep -v "^    ready"
stop
echo

echo "## $RATE publishes a second for $DURATION_S s to $N subscribers, one worker"
echo
start 1
hold subscribe "127.0.0.1:$PORT" "$N" bench $((RATE * DURATION_S))
echo >&3
sleep 0.5
cpu_before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
user_before=$(awk '{print $14}' "/proc/$pid/stat")
"$load" publish "127.0.0.1:$PORT" bench "$RATE" "$DURATION_S" 2>&1 | sed 's/^/    /'
exec 3>&-; wait "$client" || true
cpu_after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
user_after=$(awk '{print $14}' "/proc/$pid/stat")
grep -v "^ready\|^event " "$work/out" | sed 's/^/    /'
deliveries=$((RATE * DURATION_S * N))
echo "    server CPU per delivery: $(( (cpu_after - cpu_before) * 1000000000 / $(getconf CLK_TCK) / deliveries )) ns ($(( (user_after - user_before) * 1000000000 / $(getconf CLK_TCK) / deliveries )) ns of it in user space)"
stop
echo
echo "($(date -u +%Y-%m-%d), $(nproc) cores)"
