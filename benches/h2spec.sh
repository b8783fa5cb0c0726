#!/usr/bin/env bash
# h2spec (HTTP/2 conformance, 146 cases) against a server, and nginx's score beside it.
# h2spec is Go and builds offline from its source with Debian's packages:
#   apt-get install -y golang-go golang-golang-x-net-dev golang-github-spf13-cobra-dev \
#       golang-github-fatih-color-dev nginx-light
#   H2SPEC_SRC=/path/to/summerwind/h2spec benches/h2spec.sh nginx        # the peer, h2c
#   H2SPEC_SRC=... benches/h2spec.sh PORT [--tls] [--strict]             # any server
# Not part of CI (CI cannot fetch h2spec's source).
set -euo pipefail
cd "$(dirname "$0")/.."
H2SPEC=${H2SPEC:-/tmp/h2spec}
if [ ! -x "$H2SPEC" ]; then
    : "${H2SPEC_SRC:?set H2SPEC_SRC to a checkout of github.com/summerwind/h2spec}"
    gopath=$(mktemp -d)
    mkdir -p "$gopath/src/github.com/summerwind"
    cp -r "$H2SPEC_SRC" "$gopath/src/github.com/summerwind/h2spec"
    (cd "$gopath/src/github.com/summerwind/h2spec/cmd/h2spec" &&
        GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" go build -o "$H2SPEC" .)
fi
target=${1:?a port, or nginx}
shift
if [ "$target" = nginx ]; then
    work=$(mktemp -d)
    port=${PORT:-18690}
    cat >"$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$port http2;
        location / { return 200 "Hello, World!"; }
    }
}
CONF
    nginx -c "$work/nginx.conf" -p "$work" &
    pid=$!
    trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
    sleep 0.5
    echo "== nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), h2c prior knowledge"
    "$H2SPEC" -h 127.0.0.1 -p "$port" "$@" | tail -4
else
    "$H2SPEC" -h 127.0.0.1 -p "$target" "$@" | tail -4
fi
