#!/usr/bin/env bash
# Interop: real servers on loopback — Python httpbin under gunicorn, and nginx (keep-alive,
# a large file, HTTPS with a locally generated CA) — then tidings-std's interop tests.
# Stops only the processes it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v gunicorn >/dev/null && python3 -c 'import httpbin' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check httpbin gunicorn
. .ci/nginx.sh

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

HTTPBIN_PORT=$(free_port); NGINX_PORT=$(free_port); NGINX_TLS_PORT=$(free_port)

make_certificates "$work"
start_nginx "$work" "$NGINX_PORT" 32 "$NGINX_TLS_PORT"

(cd "$work" && exec gunicorn -k gthread --threads 8 --keep-alive 30 -b "127.0.0.1:$HTTPBIN_PORT" httpbin:app) \
  > "$work/logs/gunicorn.log" 2>&1 &
pids+=($!)

ready() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" 2>/dev/null; }
for _ in $(seq 1 100); do
  ready "http://127.0.0.1:$HTTPBIN_PORT/get" && ready "http://127.0.0.1:$NGINX_PORT/small.txt" && break
  sleep 0.2
done

export TIDINGS_INTEROP_HTTPBIN="http://127.0.0.1:$HTTPBIN_PORT"
export TIDINGS_INTEROP_NGINX="http://127.0.0.1:$NGINX_PORT"
export TIDINGS_INTEROP_NGINX_TLS="https://localhost:$NGINX_TLS_PORT"
export TIDINGS_INTEROP_CA="$work/ca.pem"
export TIDINGS_INTEROP_LARGE="$work/www/large.bin"
cargo test -p tidings-std --test interop -- --ignored
