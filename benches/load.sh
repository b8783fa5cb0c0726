#!/usr/bin/env bash
# Load tests: warden and its peers (actix-web 4, hyper 1, may_minihttp), one worker each,
# the same wrk settings, one after the other on this machine. Prints one Markdown table.
#
#   benches/load.sh                 # everything, 10 s per run
#   DURATION=5s benches/load.sh     # shorter runs
#   PEERS="may" benches/load.sh     # fewer peers
#   ONLY=mixed benches/load.sh      # only the mixed load (slow handlers beside fast ones)
#   CHART=docs/load.svg benches/load.sh   # also draw the tables as an SVG bar chart
#
# wrk gets one thread (-t1): on a 2-core machine the client needs the other core, and the
# pipelined figures then measure the server. Keep-alive figures are bounded by wrk itself.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
PEERS=${PEERS:-"actix hyper may"}
IDLE=${IDLE:-10000}
BASE_PORT=${BASE_PORT:-18080}

if ! command -v wrk >/dev/null; then
    echo "installing wrk from Debian's package" >&2
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
ulimit -n "$(ulimit -Hn)"

echo "building warden and the peers (release)" >&2
cargo build --release --quiet
cargo build --release --quiet --manifest-path benches/peers/Cargo.toml
peer_bin=benches/peers/target/release

pid=""
stop() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    pid=""
}
trap stop EXIT

# start NAME PORT WORKERS: runs a server in the background, waits until it answers.
start() {
    local name=$1 port=$2 workers=$3
    case $name in
        warden) RUST_LOG=error RUST_BACKTRACE=0 ./target/release/warden --addr "127.0.0.1:$port" \
                    --workers "$workers" --fault-routes --keepalive-timeout-ms 600000 \
                    --header-timeout-ms 600000 >/dev/null 2>&1 & ;;
        *) WORKERS=$workers RUST_BACKTRACE=0 "$peer_bin/peer-$name" "127.0.0.1:$port" >/dev/null 2>&1 & ;;
    esac
    pid=$!
    for _ in $(seq 200); do
        if curl -sf "http://127.0.0.1:$port/plaintext" >/dev/null; then
            # One discarded second of load: on this VM the first seconds after idle run
            # slow, and would otherwise land on whichever measurement comes first.
            wrk -t1 -c16 -d1s "http://127.0.0.1:$port/plaintext" >/dev/null 2>&1 || true
            return 0
        fi
        sleep 0.05
    done
    echo "$name did not start" >&2
    return 1
}

# Server CPU time (user + system) in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }

# wrk_run ARGS...: prints "REQ_PER_SEC P99_MS SERVER_CPU_NS_PER_REQUEST". wrk is the
# bottleneck of most of these runs (it needs a core of its own), so the server's CPU per
# request is the figure that compares servers; req/s compares what a client sees.
wrk_run() {
    local before out after
    before=$(cpu_ticks)
    out=$(wrk -t1 -d"$DURATION" --latency "$@" 2>/dev/null)
    after=$(cpu_ticks)
    echo "$out" | awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
        /requests in/ {n=$1}
        /Requests\/sec/ {rps=$2}
        /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; p99=v}
        END {printf "%d %.2f %d\n", rps, p99, (n > 0 ? ticks * 1e9 / hz / n : 0)}'
}

# idle_bytes PORT: server RSS growth per idle keep-alive connection.
idle_bytes() {
    local port=$1 before after fifo clients
    before=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    fifo=$(mktemp -u); mkfifo "$fifo"
    python3 benches/idle_clients.py 127.0.0.1 "$port" "$IDLE" <"$fifo" >/dev/null &
    clients=$!
    exec 3>"$fifo"
    for _ in $(seq 1200); do
        [ "$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)" -ge "$IDLE" ] && break
        sleep 0.1
    done
    sleep 1
    after=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    exec 3>&-
    wait "$clients" 2>/dev/null || true
    rm -f "$fifo"
    echo $(( (after - before) * 1024 / IDLE ))
}

# storm PORT PATH: plaintext keep-alive req/s while a second client hammers PATH.
storm() {
    local port=$1 path=$2
    wrk -t1 -c8 -d"$DURATION" "http://127.0.0.1:$port$path" >/dev/null 2>&1 &
    local hammer=$!
    sleep 0.2
    wrk_run -c64 "http://127.0.0.1:$port/plaintext" | cut -d' ' -f1
    wait "$hammer" 2>/dev/null || true
}

# mixed PORT: 32 connections on a route that blocks 50 ms (each server's documented way
# to block: warden's blocking pool, actix's web::block, hyper's spawn_blocking, may's
# coroutine sleep) beside 16 connections measuring /plaintext, in the same run. Prints
# "PLAIN_REQ_PER_SEC PLAIN_P99_MS SLOW_REQ_PER_SEC".
mixed() {
    local port=$1 slow_out plain
    slow_out=$(mktemp)
    wrk -t1 -c32 -d"$DURATION" "http://127.0.0.1:$port/sleep?ms=50" >"$slow_out" 2>/dev/null &
    local slow=$!
    sleep 0.2
    plain=$(wrk_run -c16 "http://127.0.0.1:$port/plaintext" | cut -d' ' -f1,2)
    wait "$slow" 2>/dev/null || true
    echo "$plain $(awk '/Requests\/sec/ {printf "%d", $2}' "$slow_out")"
    rm -f "$slow_out"
}

declare -A result
port=$BASE_PORT

if [ -n "${ONLY:-}" ] && [ "$ONLY" != mixed ]; then
    echo "ONLY=$ONLY: the only partial run is ONLY=mixed" >&2
    exit 2
fi
if [ "${ONLY:-}" != mixed ]; then
servers="warden $PEERS"
for name in $servers; do
    echo "measuring $name" >&2
    start "$name" "$port" 1
    read -r rps p99 ns < <(wrk_run -c64 "http://127.0.0.1:$port/plaintext")
    result[$name,plain]=$rps; result[$name,plain99]=$p99; result[$name,plainns]=$ns
    # wrk's latency histogram is meaningless with pipelining: no p99 for it.
    read -r rps p99 ns < <(wrk_run -c256 -s benches/pipeline.lua "http://127.0.0.1:$port/plaintext" -- 16)
    result[$name,pipe]=$rps; result[$name,pipens]=$ns
    read -r rps p99 ns < <(wrk_run -c64 "http://127.0.0.1:$port/json")
    result[$name,json]=$rps; result[$name,json99]=$p99; result[$name,jsonns]=$ns
    if [ "$name" = warden ]; then
        result[warden,close]=$(wrk_run -c64 -H "Connection: close" "http://127.0.0.1:$port/plaintext" | cut -d' ' -f1)
    fi
    result[$name,clean]=$(storm "$port" /missing)
    result[$name,storm]=$(storm "$port" /fault/panic)
    if curl -sf "http://127.0.0.1:$port/plaintext" >/dev/null; then
        result[$name,idle]=$(idle_bytes "$port")
    else
        result[$name,idle]="died"
    fi
    stop
    port=$((port + 1))
done

echo "measuring warden with 2 workers" >&2
start warden "$port" 2
result[warden2,plain]=$(wrk_run -c64 "http://127.0.0.1:$port/plaintext" | cut -d' ' -f1)
result[warden2,pipe]=$(wrk_run -c256 -s benches/pipeline.lua "http://127.0.0.1:$port/plaintext" -- 16 | cut -d' ' -f1)
result[warden2,close]=$(wrk_run -c64 -H "Connection: close" "http://127.0.0.1:$port/plaintext" | cut -d' ' -f1)
stop
port=$((port + 1))
fi

for name in warden $PEERS; do
    echo "measuring $name under the mixed load (2 workers)" >&2
    start "$name" "$port" 2
    read -r rps p99 slow < <(mixed "$port")
    result[$name,mixplain]=$rps; result[$name,mix99]=$p99; result[$name,mixslow]=$slow
    stop
    port=$((port + 1))
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
best() { # best peer figure for KEY: the highest ("more") or the lowest ("less")
    local key=$1 how=$2 best="" v
    for p in $PEERS; do
        v=${result[$p,$key]:-}
        [[ $v =~ ^[0-9]+$ ]] || continue
        if [ -z "$best" ]; then best=$v
        elif [ "$how" = less ] && [ "$v" -lt "$best" ]; then best=$v
        elif [ "$how" = more ] && [ "$v" -gt "$best" ]; then best=$v; fi
    done
    echo "${best:-0}"
}

header="| test | warden |"; sep="| --- | --- |"
for p in $PEERS; do header="$header $p |"; sep="$sep --- |"; done
# row LABEL KEY HOW: HOW is "more" (higher is better: ratio warden / best), "less" (lower
# is better: ratio best / warden, so >1 means warden is better), or "none".
row() {
    local label=$1 key=$2 how=$3 line
    line="| $label | ${result[warden,$key]} |"
    for p in $PEERS; do line="$line ${result[$p,$key]:--} |"; done
    case $how in
        more) echo "$line $(ratio "${result[warden,$key]}" "$(best "$key" more)")x |" ;;
        less) echo "$line $(ratio "$(best "$key" less)" "${result[warden,$key]}")x |" ;;
        *) echo "$line - |" ;;
    esac
}
# p99 figures with one decimal are not integers: compare them with awk.
best_float() {
    local key=$1 best="" v
    for p in $PEERS; do
        v=${result[$p,$key]:-}
        [ -n "$v" ] || continue
        best=$(awk -v a="$v" -v b="$best" 'BEGIN { print (b == "" || a < b) ? a : b }')
    done
    echo "${best:-0}"
}

report() {
echo
echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), wrk -t1, ${DURATION} per run"
echo
echo "Mixed load, 2 workers each: 32 connections on /sleep?ms=50 (ceiling 640 req/s) beside"
echo "16 connections on /plaintext, in the same run."
echo
echo "$header warden vs best peer (>1: warden better) |"
echo "$sep --- |"
row "plaintext beside slow handlers (req/s)" mixplain more
line="| plaintext p99 beside slow handlers (ms) | ${result[warden,mix99]} |"
for p in $PEERS; do line="$line ${result[$p,mix99]:--} |"; done
echo "$line $(ratio "$(best_float mix99)" "${result[warden,mix99]}")x |"
row "slow route, 50 ms blocking (req/s)" mixslow more
[ "${ONLY:-}" = mixed ] && return 0

echo
echo "One worker each."
echo
echo "$header warden vs best peer (>1: warden better) |"
echo "$sep --- |"
row "plaintext keep-alive, 64 conns (req/s)" plain more
row "  p99 latency (ms)" plain99 none
row "  server CPU per request (ns)" plainns less
row "plaintext pipelined x16, 256 conns (req/s)" pipe more
row "  server CPU per request (ns)" pipens less
row "JSON keep-alive, 64 conns (req/s)" json more
row "  p99 latency (ms)" json99 none
row "  server CPU per request (ns)" jsonns less
row "bytes per idle keep-alive connection ($IDLE)" idle less
row "plaintext beside a client on a 404 route (req/s)" clean more
row "plaintext beside a panic storm (req/s)" storm more
echo
echo "warden, panic storm / clean: $(ratio "${result[warden,storm]}" "${result[warden,clean]}")x"
echo "warden, 2 workers / 1 worker: keep-alive $(ratio "${result[warden2,plain]}" "${result[warden,plain]}")x, pipelined $(ratio "${result[warden2,pipe]}" "${result[warden,pipe]}")x, new connection per request $(ratio "${result[warden2,close]}" "${result[warden,close]}")x (${result[warden,close]} and ${result[warden2,close]} req/s)"
}

# The tables on standard output; with CHART=file.svg, also as a bar chart.
tables=$(mktemp)
report | tee "$tables"
if [ -n "${CHART:-}" ]; then
    python3 benches/chart.py <"$tables" >"$CHART"
    echo "chart written to $CHART" >&2
fi
rm -f "$tables"
