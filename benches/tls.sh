#!/usr/bin/env bash
# TLS benchmarks: warden against nginx (OpenSSL) and actix-web (rustls with aws-lc-rs,
# as warden), one worker each, in one run on this machine. Prints Markdown tables.
#
#   benches/tls.sh                      # everything, 10 s per run
#   DURATION=5 benches/tls.sh           # shorter runs (seconds)
#   ONLY=keepalive benches/tls.sh       # one part: keepalive, handshakes, idle, storm
#
# 1. keepalive:  HTTPS keep-alive GET /plaintext (wrk -t1 -c64): req/s, and the server's
#                CPU time per request (utime+stime of the whole process, /proc/PID/stat).
# 2. handshakes: full handshakes per second (CLIENTS=8 `openssl s_time -new` in
#                parallel: never resuming; wrk would resume its sessions), ECDSA P-256
#                and RSA-2048 certificates.
# 3. idle:       server memory per idle TLS keep-alive connection (RSS before and after
#                N connections that made one request each).
# 4. storm:      200 clients (`openssl s_time -new`) making full RSA-2048 handshakes
#                without pause against one worker, while one established TLS client
#                sends a request every ms: its latency (p50, p99, max).
#
# warden runs one worker and a handshake pool of one thread (its default on 2 cores);
# nginx one worker process; actix one worker. Certificates are made here with openssl.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
ONLY=${ONLY:-"keepalive handshakes idle storm"}
IDLE=${IDLE:-2000}
PORT=${PORT:-18443}

for tool in wrk nginx openssl curl; do
    if ! command -v "$tool" >/dev/null; then
        echo "installing wrk, nginx-light, openssl, curl from Debian's packages" >&2
        apt-get update -qq && apt-get install -y -qq wrk nginx-light openssl curl >/dev/null
        break
    fi
done
ulimit -n "$(ulimit -Hn)"

echo "building warden and actix-web's TLS peer (release)" >&2
cargo build --release --quiet
cargo build --release --quiet --manifest-path benches/peers/Cargo.toml --bin peer-actix-tls
peer=benches/peers/target/release/peer-actix-tls

work=$(mktemp -d)
pid=""
stop() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    pid=""
}
trap 'stop; rm -rf "$work"' EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
    -keyout "$work/ecdsa.key" -out "$work/ecdsa.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
    -keyout "$work/rsa.key" -out "$work/rsa.crt" 2>/dev/null

# start NAME KEYTYPE: runs a server on $PORT with that certificate, waits until it answers.
start() {
    local name=$1 kind=$2
    local crt="$work/$kind.crt" key="$work/$kind.key"
    case $name in
        warden) RUST_LOG=error ./target/release/warden --addr "127.0.0.1:$PORT" --workers 1 \
                    --tls-cert "$crt" --tls-key "$key" --keepalive-timeout-ms 600000 \
                    --header-timeout-ms 600000 >/dev/null 2>&1 & ;;
        actix) CERT=$crt KEY=$key WORKERS=1 "$peer" "127.0.0.1:$PORT" >/dev/null 2>&1 & ;;
        nginx) cat >"$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log stderr error;
events { worker_connections 20000; }
http {
    access_log off;
    keepalive_timeout 600s;
    keepalive_requests 100000000;
    ssl_session_cache shared:SSL:10m;
    ssl_protocols TLSv1.2 TLSv1.3;
    server {
        listen 127.0.0.1:$PORT ssl;
        ssl_certificate $crt;
        ssl_certificate_key $key;
        location = /plaintext { default_type text/plain; return 200 "Hello, World!"; }
    }
}
CONF
               nginx -c "$work/nginx.conf" -g 'daemon off;' >/dev/null 2>&1 & ;;
    esac
    pid=$!
    for _ in $(seq 200); do
        if curl -skf "https://127.0.0.1:$PORT/plaintext" >/dev/null; then
            wrk -t1 -c16 -d1s "https://127.0.0.1:$PORT/plaintext" >/dev/null 2>&1 || true
            return 0
        fi
        sleep 0.05
    done
    echo "$name did not start" >&2
    exit 1
}

# sum FILE AWK: AWK's number from /proc/P/FILE, summed over the server's processes
# (nginx's worker is a child of its master).
sum() {
    local total=0 p
    for p in $pid $(pgrep -P "$pid" || true); do
        total=$((total + $(awk "$2" "/proc/$p/$1")))
    done
    echo "$total"
}
# CPU ticks (1/100 s) used: utime + stime.
ticks() { sum stat '{print $14 + $15}'; }
rss_kib() { sum status '/VmRSS/ {print $2}'; }

# load LABEL WRK-ARGS...: one wrk run; prints a table row with req/s and CPU per request.
load() {
    local label=$1
    shift
    local before after out rps reqs
    before=$(ticks)
    out=$(wrk "$@" "https://127.0.0.1:$PORT/plaintext")
    after=$(ticks)
    rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    echo "| $label | $rps | $(( (after - before) * 10000000 / reqs )) |"
}

servers="warden nginx actix"
if [[ " $ONLY " == *" keepalive "* ]]; then
    echo
    echo "### HTTPS keep-alive GET /plaintext (wrk -t1 -c64 -d${DURATION}s, ECDSA P-256, TLS 1.3)"
    echo
    echo "| server | req/s | server CPU ns/request |"
    echo "|---|---|---|"
    for s in $servers; do
        start "$s" ecdsa
        load "$s" -t1 -c64 -d"${DURATION}s"
        stop
    done
fi

# handshakes LABEL: CLIENTS `openssl s_time -new` in parallel for DURATION seconds (each
# makes full handshakes one after another, never resuming); prints a table row.
handshakes() {
    local label=$1 before after total=0 n i clients=()
    before=$(ticks)
    for i in $(seq "$CLIENTS"); do
        openssl s_time -new -connect "127.0.0.1:$PORT" -time "$DURATION" >"$work/st.$i" 2>&1 &
        clients+=($!)
    done
    wait "${clients[@]}" || true
    after=$(ticks)
    for i in $(seq "$CLIENTS"); do
        n=$(awk '/connections in .* real seconds/ {print $1}' "$work/st.$i")
        total=$((total + ${n:-0}))
    done
    echo "| $label | $((total / DURATION)) | $(( (after - before) * 10000000 / (total > 0 ? total : 1) )) |"
}

CLIENTS=${CLIENTS:-8}
if [[ " $ONLY " == *" handshakes "* ]]; then
    for kind in ecdsa rsa; do
        echo
        echo "### Full handshakes per second, $kind ($CLIENTS x openssl s_time -new, ${DURATION}s, TLS 1.3)"
        echo
        echo "| server | handshakes/s | server CPU ns/handshake |"
        echo "|---|---|---|"
        for s in $servers; do
            start "$s" "$kind"
            handshakes "$s"
            stop
        done
    done
fi

if [[ " $ONLY " == *" idle "* ]]; then
    echo
    echo "### Memory per idle TLS keep-alive connection ($IDLE connections, ECDSA P-256)"
    echo
    echo "| server | RSS before KiB | RSS after KiB | bytes/connection |"
    echo "|---|---|---|---|"
    for s in $servers; do
        start "$s" ecdsa
        sleep 1
        before=$(rss_kib)
        fifo="$work/fifo"
        rm -f "$fifo"
        mkfifo "$fifo"
        python3 benches/idle_clients.py 127.0.0.1 "$PORT" "$IDLE" tls <"$fifo" >"$work/idle.out" &
        clients=$!
        exec 3>"$fifo"
        for _ in $(seq 1200); do
            grep -q "open" "$work/idle.out" 2>/dev/null && break
            sleep 0.1
        done
        sleep 1
        after=$(rss_kib)
        echo "| $s | $before | $after | $(( (after - before) * 1024 / IDLE )) |"
        exec 3>&-
        wait "$clients" || true
        stop
    done
fi

if [[ " $ONLY " == *" storm "* ]]; then
    echo
    echo "### An established client during a storm of 200 full RSA-2048 handshakes (${DURATION}s)"
    echo
    echo "| server | handshakes/s of the storm | probe requests | p50 ms | p99 ms | max ms |"
    echo "|---|---|---|---|---|---|"
    for s in $servers; do
        start "$s" rsa
        fifo="$work/probe"
        rm -f "$fifo"
        mkfifo "$fifo"
        # Raised priority: 200 client processes share the two cores with it, and its
        # figures should show the server's delays, not its own wait for a core.
        nice -n -10 python3 benches/tls_probe.py 127.0.0.1 "$PORT" "$DURATION" <"$fifo" \
            >"$work/probe.out" &
        probe=$!
        exec 4>"$fifo"
        for _ in $(seq 100); do
            grep -q ready "$work/probe.out" 2>/dev/null && break
            sleep 0.05
        done
        before=$(ticks)
        storm=()
        for i in $(seq 200); do
            openssl s_time -new -connect "127.0.0.1:$PORT" -time "$((DURATION + 2))" \
                >"$work/storm.$i" 2>&1 &
            storm+=($!)
        done
        # The 200 processes start first: the probe measures the storm, not their fork.
        sleep 1.5
        echo >&4
        wait "$probe" || true
        exec 4>&-
        wait "${storm[@]}" || true
        total=0
        for i in $(seq 200); do
            n=$(awk '/connections in .* real seconds/ {print $1}' "$work/storm.$i")
            total=$((total + ${n:-0}))
        done
        rate=$((total / (DURATION + 2)))
        read -r n p50 p99 max < <(tail -1 "$work/probe.out")
        echo "| $s | $rate | $n | $p50 | $p99 | $max |"
        stop
    done
fi
