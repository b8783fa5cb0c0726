#!/usr/bin/env bash
# Broadcast across servers through one Redis, on loopback (everything shares this
# machine's cores: three servers, Redis, the subscribers' client and the publishers):
#   (a) NODES servers, SUBS subscribers on each (one topic), RATE publishes a second for
#       DURATION_S seconds, spread over every server: deliveries missing, repeated or out
#       of order (ids are EPOCH:N, one counter for the topic), and the publish-to-receive
#       p50/p99/max (wall clock, the publisher's stamp in the data);
#   (b) publish throughput through one server with history on (wrk, POST /topics/NAME,
#       every answer a 202 with the event's id once Redis took it).
#
#   benches/broker.sh                          # NODES=3 SUBS=300 RATE=1000 DURATION_S=30
set -euo pipefail
cd "$(dirname "$0")/.."

NODES=${NODES:-3}
SUBS=${SUBS:-300}
RATE=${RATE:-1000}
DURATION_S=${DURATION_S:-30}
BASE=${BASE:-18580}
REDIS_PORT=${REDIS_PORT:-18579}
ulimit -n "$(ulimit -Hn)"
command -v redis-server >/dev/null || { echo "install redis-server (apt-get install -y redis-server)"; exit 1; }
cargo build --release --quiet -p warden-server
cargo build --release --quiet --manifest-path benches/sse-load/Cargo.toml
load=benches/sse-load/target/release/sse-load
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
    >/dev/null 2>&1 &
pids+=($!)
until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.05; done
addrs=""
for i in $(seq 0 $((NODES - 1))); do
    port=$((BASE + i))
    RUST_LOG=warn ./target/release/warden --addr "127.0.0.1:$port" --workers 1 \
        --topic-history 1024 --broker "redis://127.0.0.1:$REDIS_PORT" >/dev/null 2>"$work/node$i.log" &
    pids+=($!)
    addrs="${addrs:+$addrs,}127.0.0.1:$port"
done
for i in $(seq 0 $((NODES - 1))); do
    until curl -sfI -o /dev/null -m 1 "http://127.0.0.1:$((BASE + i))/topics/warm"; do sleep 0.05; done
done
echo "== (a) $NODES servers x $SUBS subscribers, $RATE publishes/s for ${DURATION_S}s through every server"
per=$((RATE / NODES))
events=$((per * NODES * DURATION_S))
mkfifo "$work/go"
"$load" subscribe "$addrs" $((NODES * SUBS)) bench "$events" <"$work/go" >"$work/sub.out" &
sub=$!
exec 3>"$work/go"
until grep -q ready "$work/sub.out" 2>/dev/null; do sleep 0.1; done
echo go >&3
publishers=()
for i in $(seq 0 $((NODES - 1))); do
    "$load" publish "127.0.0.1:$((BASE + i))" bench "$per" "$DURATION_S" 2>>"$work/pub.err" &
    publishers+=($!)
done
for p in "${publishers[@]}"; do wait "$p"; done
wait "$sub" || true
# CPU time of each server (user + system, from /proc/PID/stat) over the whole run.
tick=$(getconf CLK_TCK)
for pid in "${pids[@]:1}"; do
    awk -v t="$tick" -v n=$((NODES * SUBS)) -v e="$events" \
        '{ s = ($14 + $15) / t; printf "server pid %d: %.2f s CPU, %.2f us per delivery\n", $1, s, s * 1e6 * '"$NODES"' / (n * e) }' "/proc/$pid/stat"
done
exec 3>&-
grep -v "^event " "$work/sub.out" | grep -v ready
cat "$work/pub.err"
for i in $(seq 0 $((NODES - 1))); do
    curl -s "http://127.0.0.1:$((BASE + i))/stats" | grep -o '"broadcast":{[^]]*}}'
done

echo "== (b) publish throughput through one server (wrk -t1 -c${CONNS:-64} -d10s POST)"
cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "tick"
LUA
wrk -t1 -c${CONNS:-64} -d10s -s "$work/post.lua" "http://127.0.0.1:$BASE/topics/throughput" | grep -E "Requests/sec|Non-2xx|Latency|requests in"
redis-cli -p "$REDIS_PORT" xlen 'warden:{throughput}:s'
redis-cli -p "$REDIS_PORT" hget 'warden:{throughput}:m' n
