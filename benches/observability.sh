#!/usr/bin/env bash
# What watching warden costs: the same keep-alive and pipelined load on one worker, plain,
# with /metrics scraped every second (and every 100 ms, to make any dent visible), and
# with the access log on. Variants alternate within each round, so the machine's drift
# lands on all of them alike; the medians of ROUNDS rounds are printed as a Markdown table.
#
#   benches/observability.sh                   # 5 rounds of 5 s per variant
#   ROUNDS=9 DURATION=4s benches/observability.sh
#
# Besides wrk's req/s, the server's own CPU time per request (user + system, from
# /proc/PID/stat) is given: on a 2-core machine wrk's core is the bound for keep-alive.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-5}
PORT=${PORT:-18180}

if ! command -v wrk >/dev/null; then
    echo "installing wrk from Debian's package" >&2
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
ulimit -n "$(ulimit -Hn)"
cargo build --release --quiet

pid=""
scraper=""
stop() {
    local p
    for p in $scraper $pid; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    pid="" scraper=""
}
trap stop EXIT

# run VARIANT MODE: one measurement; prints "req/s ns/request scrapes".
run() {
    local variant=$1 mode=$2 log=error extra=(--metrics-route /metrics) interval=""
    case $variant in
        plain) extra=() ;;
        scrape-1s) interval=1 ;;
        scrape-100ms) interval=0.1 ;;
        access-log) extra=(--access-log logfmt) log=error,warden::access=info ;;
    esac
    RUST_LOG=$log ./target/release/warden --addr "127.0.0.1:$PORT" --workers 1 \
        --keepalive-timeout-ms 600000 --header-timeout-ms 600000 "${extra[@]}" \
        >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/plaintext" >/dev/null && break; sleep 0.05; done
    wrk -t1 -c16 -d1s "http://127.0.0.1:$PORT/plaintext" >/dev/null 2>&1 || true
    local scrapes=/tmp/warden-scrapes.$$
    : > "$scrapes"
    if [ -n "$interval" ]; then
        ( while true; do
              curl -sf "http://127.0.0.1:$PORT/metrics" -o /dev/null && echo >> "$scrapes"
              sleep "$interval"
          done ) &
        scraper=$!
    fi
    local before after out
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    if [ "$mode" = pipelined ]; then
        out=$(wrk -t1 -c256 -d"$DURATION" -s benches/pipeline.lua "http://127.0.0.1:$PORT/plaintext" -- 16)
    else
        out=$(wrk -t1 -c64 -d"$DURATION" "http://127.0.0.1:$PORT/plaintext")
    fi
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    stop
    echo "$out" | awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v s="$(wc -l < "$scrapes")" \
        '/requests in/ {n = $1} /Requests\/sec/ {r = $2} END {printf "%d %d %d\n", r, t * 1e9 / hz / n, s}'
    rm -f "$scrapes"
}

variants="plain scrape-1s scrape-100ms access-log"
declare -A rps ns scr
for round in $(seq "$ROUNDS"); do
    for mode in keep-alive pipelined; do
        for v in $variants; do
            read -r r n s < <(run "$v" "$mode")
            rps[$v,$mode]+="$r "
            ns[$v,$mode]+="$n "
            scr[$v,$mode]+="$s "
            echo "round $round $mode $v: $r req/s, $n ns/request, $s scrapes" >&2
        done
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo
echo "| variant | keep-alive req/s | keep-alive CPU ns/req | pipelined x16 req/s | pipelined CPU ns/req | scrapes per run |"
echo "| --- | --- | --- | --- | --- | --- |"
for v in $variants; do
    printf "| %s | %s | %s | %s | %s | %s |\n" "$v" \
        "$(echo "${rps[$v,keep-alive]}" | median)" "$(echo "${ns[$v,keep-alive]}" | median)" \
        "$(echo "${rps[$v,pipelined]}" | median)" "$(echo "${ns[$v,pipelined]}" | median)" \
        "$(echo "${scr[$v,pipelined]}" | median)"
done
echo
echo "(median of $ROUNDS rounds, $DURATION each, one worker, wrk -t1; $(date -u +%Y-%m-%d))"
