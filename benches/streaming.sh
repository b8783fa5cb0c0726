#!/usr/bin/env bash
# Streaming benchmarks (besides the two below, 3. a 1 GiB upload to POST /upload, whose
# body is read as it arrives and checksummed on the blocking pool):
#   1. a 1 GiB download over loopback from warden --static (sendfile from the loop) and
#      from nginx (sendfile on), one worker each, in the same run; throughput and the
#      server's RSS before and at its peak;
#   2. N Server-Sent Events streams on one worker (default 10,000): the server's memory
#      per stream beside an idle keep-alive connection's, and how far apart one event
#      reaches the first and the last stream (one ticker thread fans it out);
#   4. slow subscribers: 100 event streams that never read beside 900 that do (20 events
#      250 ms apart): how late the readers' events arrive (benches/sse_stalled.py).
#
#   benches/streaming.sh                  # all
#   ONLY=download benches/streaming.sh    # or ONLY=upload, ONLY=sse, ONLY=stalled
#   SIZE_MB=256 SSE=2000 benches/streaming.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MB=${SIZE_MB:-1024}
SSE=${SSE:-10000}
RUNS=${RUNS:-3}
PORT=${PORT:-18280}
ONLY=${ONLY:-}
ulimit -n "$(ulimit -Hn)"

for tool in curl nginx; do
    if ! command -v "$tool" >/dev/null; then
        echo "installing $tool from Debian's package" >&2
        apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null
    fi
done
cargo build --release --quiet

work=$(mktemp -d)
chmod 755 "$work" # nginx's workers run as another user and must read the files
pid=""
stop() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    pid=""
}
trap 'stop; rm -rf "$work"' EXIT

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
peak() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
wait_up() {
    for _ in $(seq 200); do
        curl -s -o /dev/null "http://127.0.0.1:$PORT/$1" && return 0
        sleep 0.05
    done
    echo "server did not start" >&2
    exit 1
}

if [ -z "$ONLY" ] || [ "$ONLY" = download ]; then
    mkdir -p "$work/www"
    head -c "$((SIZE_MB * 1024 * 1024))" /dev/zero > "$work/www/big.bin"
    cat "$work/www/big.bin" > /dev/null # in the page cache for both servers alike
    cat > "$work/nginx.conf" <<EOF
worker_processes 1;
error_log stderr error;
pid $work/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    server {
        listen 127.0.0.1:$PORT;
        location /static/ { alias $work/www/; }
    }
}
EOF
    echo "## ${SIZE_MB} MiB download over loopback (curl, one connection, $RUNS runs)"
    echo
    echo "| server | MB/s (median of $RUNS) | all runs | RSS before | peak RSS |"
    echo "| --- | --- | --- | --- | --- |"
    for server in warden nginx; do
        if [ "$server" = warden ]; then
            RUST_LOG=error ./target/release/warden --addr "127.0.0.1:$PORT" --workers 1 \
                --static "$work/www" >/dev/null 2>&1 &
            pid=$!
            master=$pid
        else
            nginx -c "$work/nginx.conf" -p "$work" -g 'daemon off;' >/dev/null 2>&1 &
            pid=$!
        fi
        wait_up static/missing
        if [ "$server" = nginx ]; then
            master=$(pgrep -P "$pid" | head -1) # the worker process serves
        fi
        before=$(rss "$master")
        speeds=""
        for _ in $(seq "$RUNS"); do
            s=$(curl -s -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$PORT/static/big.bin")
            speeds="$speeds $(awk -v s="$s" 'BEGIN {printf "%.0f", s / 1e6}')"
        done
        median=$(echo "$speeds" | tr ' ' '\n' | grep -v '^$' | sort -n |
            awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
        echo "| $server | $median |$speeds | ${before} KiB | $(peak "$master") KiB |"
        stop
    done
    echo
fi

if [ -z "$ONLY" ] || [ "$ONLY" = upload ]; then
    [ -f "$work/www/big.bin" ] || { mkdir -p "$work/www"; head -c "$((SIZE_MB * 1024 * 1024))" /dev/zero > "$work/www/big.bin"; }
    echo "## ${SIZE_MB} MiB upload over loopback (curl -T, POST /upload: read as it arrives on the blocking pool, checksummed)"
    echo
    RUST_LOG=error ./target/release/warden --addr "127.0.0.1:$PORT" --workers 1 >/dev/null 2>&1 &
    pid=$!
    wait_up plaintext
    before=$(rss "$pid")
    speeds=""
    for _ in $(seq "$RUNS"); do
        s=$(curl -s -o "$work/upload.out" -w '%{speed_upload}' -X POST -T "$work/www/big.bin" \
            "http://127.0.0.1:$PORT/upload")
        grep -q "length=$((SIZE_MB * 1024 * 1024)) " "$work/upload.out" || {
            echo "upload failed: $(cat "$work/upload.out")" >&2
            exit 1
        }
        speeds="$speeds $(awk -v s="$s" 'BEGIN {printf "%.0f", s / 1e6}')"
    done
    median=$(echo "$speeds" | tr ' ' '\n' | grep -v '^$' | sort -n |
        awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
    echo "| server | MB/s (median of $RUNS) | all runs | RSS before | peak RSS |"
    echo "| --- | --- | --- | --- | --- |"
    echo "| warden | $median |$speeds | ${before} KiB | $(peak "$pid") KiB |"
    stop
    echo
fi

if [ -z "$ONLY" ] || [ "$ONLY" = sse ]; then
    echo "## $SSE Server-Sent Events streams on one worker"
    echo
    # An idle keep-alive connection first, for comparison.
    RUST_LOG=error ./target/release/warden --addr "127.0.0.1:$PORT" --workers 1 \
        --keepalive-timeout-ms 600000 --header-timeout-ms 600000 >/dev/null 2>&1 &
    pid=$!
    wait_up plaintext
    before=$(rss "$pid")
    fifo="$work/fifo"
    mkfifo "$fifo"
    python3 benches/idle_clients.py 127.0.0.1 "$PORT" "$SSE" <"$fifo" >"$work/idle.out" &
    clients=$!
    exec 3>"$fifo"
    until grep -q "open" "$work/idle.out" 2>/dev/null; do sleep 0.2; done
    sleep 0.5
    idle=$(( ($(rss "$pid") - before) * 1024 / SSE ))
    exec 3>&-
    wait "$clients" || true
    rm -f "$fifo"
    stop

    # Three events 15 s apart: the first at once (then memory is measured), two fanned out.
    RUST_LOG=error ./target/release/warden --addr "127.0.0.1:$PORT" --workers 1 >/dev/null 2>&1 &
    pid=$!
    wait_up plaintext
    before=$(rss "$pid")
    mkfifo "$fifo"
    python3 benches/sse_clients.py 127.0.0.1 "$PORT" "$SSE" 3 15000 <"$fifo" >"$work/sse.out" &
    clients=$!
    exec 3>"$fifo"
    until grep -q "ready" "$work/sse.out" 2>/dev/null; do sleep 0.2; done
    sleep 0.5
    after=$(rss "$pid")
    echo >&3
    exec 3>&-
    wait "$clients"
    stop
    echo "| | bytes per connection (server RSS growth / $SSE) |"
    echo "| --- | --- |"
    echo "| idle keep-alive connection | $idle |"
    echo "| idle event stream (deferred request, stream, writer, ticker entry) | $(( (after - before) * 1024 / SSE )) |"
    echo
    sed 's/^/    /' "$work/sse.out"
    echo
fi
if [ -z "$ONLY" ] || [ "$ONLY" = stalled ]; then
    echo "## Slow subscribers beside readers, one worker"
    echo
    RUST_LOG=error ./target/release/warden --addr "127.0.0.1:$PORT" --workers 1 >/dev/null 2>&1 &
    pid=$!
    wait_up plaintext
    python3 benches/sse_stalled.py 127.0.0.1 "$PORT" 100 900 20 250 | sed 's/^/    /'
    stop
    echo
fi
echo "($(date -u +%Y-%m-%d), $(nproc) cores)"
