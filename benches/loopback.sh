#!/usr/bin/env bash
# Loopback comparison against peer clients: starts nginx on a free loopback port (a small
# file and a 100 MiB file, keep-alive), runs the `loopback` bench (tidings-std against the
# blocking peers; `TIDINGS_BENCH=concurrent` runs tidings-mio against the async peers) with
# every client in the same run, and stops nginx (only the process it started, by PID). The
# nginx setup is shared with .ci/interop.sh through .ci/nginx.sh. `TIDINGS_BENCH=scale` runs
# the scale bench (10,000 in flight): nginx gets 24,000 worker connections, `tcp_nopush on`
# (as Debian's nginx.conf has it; `NGINX_TCP_NOPUSH=off` to measure without) and the bench the
# most file descriptors this shell may open, and the bench is told nginx's PID to read the
# server's CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/nginx.sh
work=$(mktemp -d)
trap '[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT
port=$(free_port); tls_port=$(free_port)
if [ "${TIDINGS_BENCH:-}" = scale ]; then
  export NGINX_CONNECTIONS=24000 NGINX_TCP_NOPUSH=${NGINX_TCP_NOPUSH:-on}
  ulimit -n "$(ulimit -Hn)"
fi
make_certificates "$work"
start_nginx "$work" "$port" 100 "$tls_port"
sleep 0.5
TIDINGS_BENCH_SERVER_PID=$(cat "$work/nginx.pid") TIDINGS_BENCH_URL="http://127.0.0.1:$port" TIDINGS_BENCH_TLS_URL="https://localhost:$tls_port" \
  TIDINGS_BENCH_CA="$work/ca.pem" cargo bench -p tidings-benches --features peers --bench "${TIDINGS_BENCH:-loopback}" "$@"
