#!/usr/bin/env bash
# Soak: a few million requests with faults mixed in (handler panics, invalid responses,
# worker crashes, clients that leave or reset, malformed requests), then the server's
# RSS and open descriptors at the start and at the end. They must be flat.
#
#   benches/soak.sh            # 120 s, 2 workers
#   SOAK=600 benches/soak.sh   # longer
set -euo pipefail
cd "$(dirname "$0")/.."
SOAK=${SOAK:-120}
PORT=${PORT:-18180}
if ! command -v wrk >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --quiet
RUST_LOG=off RUST_BACKTRACE=0 ./target/release/warden --addr "127.0.0.1:$PORT" --workers 2 \
    --fault-routes >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/plaintext" >/dev/null && break; sleep 0.05; done

rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
fds() { ls "/proc/$server/fd" | wc -l; }
# Warm up first, so the buffer pools and the slab have their working size.
wrk -t1 -c64 -d3s "http://127.0.0.1:$PORT/plaintext" >/dev/null
sleep 1
rss0=$(rss); fds0=$(fds)

python3 benches/soak_chaos.py 127.0.0.1 "$PORT" "$SOAK" >/tmp/soak-chaos.txt &
chaos=$!
wrk -t1 -c64 -d"${SOAK}s" -s benches/soak.lua "http://127.0.0.1:$PORT" >/tmp/soak-wrk.txt
wait "$chaos" || true
sleep 2  # let closing connections finish
rss1=$(rss); fds1=$(fds)
stats=$(curl -s "http://127.0.0.1:$PORT/stats")

echo "soak: ${SOAK}s, 2 workers"
grep -E "requests in|Non-2xx|Socket errors" /tmp/soak-wrk.txt || true
echo "chaos clients: $(cat /tmp/soak-chaos.txt)"
echo "server stats: $stats"
echo "RSS: ${rss0} KiB at the start, ${rss1} KiB at the end"
echo "open descriptors: ${fds0} at the start, ${fds1} at the end"
kill -0 "$server" && echo "server alive at the end: yes"
