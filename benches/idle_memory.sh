#!/usr/bin/env bash
# Server memory per idle keep-alive connection: RSS before and after N connections that
# each made one request and now sit idle. Usage: benches/idle_memory.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
port=${PORT:-18080}
ulimit -n "$(ulimit -Hn)"  # the server and the client each hold N descriptors
cargo build --release --quiet
./target/release/warden --addr "127.0.0.1:$port" --workers 1 --keepalive-timeout-ms 600000 \
    --header-timeout-ms 600000 >/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    curl -s "http://127.0.0.1:$port/plaintext" >/dev/null && break
    sleep 0.05
done
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
before=$(rss)
fifo=$(mktemp -u)
mkfifo "$fifo"
python3 benches/idle_clients.py 127.0.0.1 "$port" "$n" <"$fifo" &
clients=$!
exec 3>"$fifo"
# Wait until every connection is open and answered.
for _ in $(seq 600); do
    active=$(ls "/proc/$server/fd" | wc -l)
    [ "$active" -ge "$n" ] && break
    sleep 0.1
done
sleep 1
after=$(rss)
echo "connections: $n"
echo "server RSS before: ${before} KiB, after: ${after} KiB"
echo "bytes per idle connection: $(( (after - before) * 1024 / n ))"
exec 3>&-
wait "$clients" || true
rm -f "$fifo"
