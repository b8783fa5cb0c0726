#!/usr/bin/env bash
# Two builds of the binary side by side: the same keep-alive and pipelined load on one
# worker, the binaries alternating within each round so the machine's drift lands on both
# alike. Prints the medians of ROUNDS rounds: wrk's req/s and the server's own CPU time
# per request (user + system, from /proc/PID/stat; on 2 cores wrk's core bounds req/s).
#
#   benches/ab.sh OLD_BINARY NEW_BINARY          # 7 rounds of 4 s per binary and mode
#   ROUNDS=9 DURATION=5s benches/ab.sh a b
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 OLD_BINARY NEW_BINARY" >&2; exit 2; }
DURATION=${DURATION:-4s}
ROUNDS=${ROUNDS:-7}
PORT=${PORT:-18190}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
ulimit -n "$(ulimit -Hn)"

pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; true' EXIT

# run BINARY MODE: prints "req/s ns/request".
run() {
    "$1" --addr "127.0.0.1:$PORT" --workers 1 --keepalive-timeout-ms 600000 \
        --header-timeout-ms 600000 >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/plaintext" >/dev/null && break; sleep 0.05; done
    wrk -t1 -c16 -d1s "http://127.0.0.1:$PORT/plaintext" >/dev/null 2>&1 || true
    local before after out
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    if [ "$2" = pipelined ]; then
        out=$(wrk -t1 -c256 -d"$DURATION" -s benches/pipeline.lua "http://127.0.0.1:$PORT/plaintext" -- 16)
    else
        out=$(wrk -t1 -c64 -d"$DURATION" "http://127.0.0.1:$PORT/plaintext")
    fi
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    echo "$out" | awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" \
        '/requests in/ {n = $1} /Requests\/sec/ {r = $2} END {printf "%d %d\n", r, t * 1e9 / hz / n}'
}

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

declare -A rps ns
for _ in $(seq "$ROUNDS"); do
    for mode in keep-alive pipelined; do
        for which in old new; do
            bin=$1; [ "$which" = new ] && bin=$2
            read -r r n < <(run "$bin" "$mode")
            rps[$which-$mode]+="$r "
            ns[$which-$mode]+="$n "
        done
    done
done
echo "| mode | old req/s | new req/s | old ns CPU/req | new ns CPU/req |"
echo "| --- | --- | --- | --- | --- |"
for mode in keep-alive pipelined; do
    m() { tr ' ' '\n' <<<"$1" | grep . | median; }
    echo "| $mode | $(m "${rps[old-$mode]}") | $(m "${rps[new-$mode]}") | $(m "${ns[old-$mode]}") | $(m "${ns[new-$mode]}") |"
done
