#!/usr/bin/env bash
# Instructions per pipelined request on the worker thread: deterministic, unlike wall clock.
#
# Runs the release binary (one worker) under callgrind twice, once with N and once with 2N
# batches of 16 pipelined GET /plaintext on one connection, and divides the worker thread's
# difference by 16N: start-up, the first request's warm-up and shutdown cancel out.
#
#   benches/callgrind.sh [BINARY]        (default: target/release/warden; N=${BATCHES:-2000})
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/warden}
batches=${BATCHES:-2000}
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

client() { # port batches
  python3 - "$1" "$2" <<'PY'
import socket, sys
port, batches = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
req = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n" * 16
for _ in range(batches):
    s.sendall(req)
    got = b""
    while got.count(b"Hello, World!") < 16:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("server closed early")
        got += chunk
s.close()
PY
}

worker_instructions() { # batches -> instructions on the busiest thread
  local out="$work/run$1"
  mkdir -p "$out"
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out/cg.%p" \
    "$bin" --addr 127.0.0.1:0 --workers 1 >"$out/log" 2>&1 &
  local pid=$! port=""
  for _ in $(seq 600); do
    port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$out/log")
    [ -n "$port" ] && break
    sleep 0.1
  done
  client "$port" "$1"
  kill -TERM "$pid"
  wait "$pid" || true
  grep -h '^summary:\|^totals:' "$out"/cg.* | awk '{print $2}' | sort -n | tail -1
}

small=$(worker_instructions "$batches")
large=$(worker_instructions $((batches * 2)))
echo "instructions per pipelined request (worker thread): $(( (large - small) / (batches * 16) ))"
