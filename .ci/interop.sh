#!/usr/bin/env bash
# Interop: real servers on loopback — Python httpbin under gunicorn, nginx (keep-alive,
# a large file, HTTPS with a locally generated CA), tinyproxy (a forward proxy with Basic
# credentials, CONNECT included), stunnel in front of tinyproxy (an https:// proxy) and
# microsocks (SOCKS5, with and without a password) — then both transports' interop tests and
# the CLI through the proxies.
# Stops only the processes it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v gunicorn >/dev/null && python3 -c 'import httpbin' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check httpbin gunicorn
. .ci/nginx.sh
command -v tinyproxy >/dev/null && command -v microsocks >/dev/null && command -v stunnel4 >/dev/null \
  || { apt-get update -qq && apt-get install -y -qq tinyproxy microsocks stunnel4 >/dev/null; }

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

HTTPBIN_PORT=$(free_port); NGINX_PORT=$(free_port); NGINX_TLS_PORT=$(free_port); PROXY_PORT=$(free_port)
SOCKS_PORT=$(free_port); SOCKS_AUTH_PORT=$(free_port); HTTPS_PROXY_PORT=$(free_port)

make_certificates "$work"
start_nginx "$work" "$NGINX_PORT" 32 "$NGINX_TLS_PORT"

(cd "$work" && exec gunicorn -k gthread --threads 8 --keep-alive 30 -b "127.0.0.1:$HTTPBIN_PORT" httpbin:app) \
  > "$work/logs/gunicorn.log" 2>&1 &
pids+=($!)

cat > "$work/tinyproxy.conf" <<CONF
Port $PROXY_PORT
Listen 127.0.0.1
Allow 127.0.0.1
Timeout 60
MaxClients 64
BasicAuth tidings s3cret
LogLevel Warning
CONF
tinyproxy -d -c "$work/tinyproxy.conf" > "$work/logs/tinyproxy.log" 2>&1 &
pids+=($!)
# stunnel terminates TLS for tinyproxy: an https:// proxy, with the nginx certificate.
cat > "$work/stunnel.conf" <<CONF
foreground = yes
pid =
[https-proxy]
accept = 127.0.0.1:$HTTPS_PROXY_PORT
connect = 127.0.0.1:$PROXY_PORT
cert = $work/server.pem
key = $work/server.key
CONF
stunnel4 "$work/stunnel.conf" > "$work/logs/stunnel.log" 2>&1 &
pids+=($!)
microsocks -i 127.0.0.1 -p "$SOCKS_PORT" > "$work/logs/microsocks.log" 2>&1 &
pids+=($!)
microsocks -i 127.0.0.1 -p "$SOCKS_AUTH_PORT" -u tidings -P s3cret > "$work/logs/microsocks-auth.log" 2>&1 &
pids+=($!)

ready() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" 2>/dev/null; }
for _ in $(seq 1 100); do
  ready "http://127.0.0.1:$HTTPBIN_PORT/get" && ready "http://127.0.0.1:$NGINX_PORT/small.txt" \
    && python3 -c 'import socket, sys; [socket.create_connection(("127.0.0.1", int(p)), 1) for p in sys.argv[1:]]' \
      "$PROXY_PORT" "$SOCKS_PORT" "$SOCKS_AUTH_PORT" "$HTTPS_PROXY_PORT" 2>/dev/null \
    && break
  sleep 0.2
done

export TIDINGS_INTEROP_HTTPBIN="http://127.0.0.1:$HTTPBIN_PORT"
export TIDINGS_INTEROP_NGINX="http://127.0.0.1:$NGINX_PORT"
export TIDINGS_INTEROP_NGINX_TLS="https://localhost:$NGINX_TLS_PORT"
export TIDINGS_INTEROP_CA="$work/ca.pem"
export TIDINGS_INTEROP_LARGE="$work/www/large.bin"
export TIDINGS_INTEROP_PROXY="http://tidings:s3cret@127.0.0.1:$PROXY_PORT"
export TIDINGS_INTEROP_HTTPS_PROXY="https://tidings:s3cret@localhost:$HTTPS_PROXY_PORT"
export TIDINGS_INTEROP_SOCKS="socks5h://127.0.0.1:$SOCKS_PORT"
export TIDINGS_INTEROP_SOCKS_AUTH="socks5h://tidings:s3cret@127.0.0.1:$SOCKS_AUTH_PORT"
cargo test -p tidings-std --test suite -- --ignored
cargo test -p tidings-mio --test suite -- --ignored

# The CLI's --proxy through tinyproxy, and --no-proxy beating the environment.
cargo build -q -p tidings-examples --bin tidings
cli=target/debug/tidings
"$cli" --proxy "$TIDINGS_INTEROP_PROXY" --report json "$TIDINGS_INTEROP_HTTPBIN/get" \
  | python3 -c 'import json, sys; r = json.loads(sys.stdin.readline()); assert r["status"] == 200, r; print("cli --proxy: 200")'
http_proxy="http://127.0.0.1:1" no_proxy= NO_PROXY= "$cli" --no-proxy --report json "$TIDINGS_INTEROP_HTTPBIN/get" \
  | python3 -c 'import json, sys; r = json.loads(sys.stdin.readline()); assert r["status"] == 200, r; print("cli --no-proxy: 200")'
"$cli" --transport mio --proxy "$TIDINGS_INTEROP_PROXY" --report json "$TIDINGS_INTEROP_HTTPBIN/get" "$TIDINGS_INTEROP_HTTPBIN/headers" \
  | python3 -c 'import json, sys; r = [json.loads(line) for line in sys.stdin]; assert [x["status"] for x in r] == [200, 200], r; print("cli --transport mio --proxy: 200, 200")'
"$cli" --proxy "$TIDINGS_INTEROP_SOCKS_AUTH" --cacert "$TIDINGS_INTEROP_CA" --report json \
  "$TIDINGS_INTEROP_NGINX/small.txt" "$TIDINGS_INTEROP_NGINX_TLS/small.txt" \
  | python3 -c 'import json, sys; r = [json.loads(line) for line in sys.stdin]; assert [x["status"] for x in r] == [200, 200], r; print("cli --proxy socks5h://: 200, 200")'
all_proxy="$TIDINGS_INTEROP_SOCKS" no_proxy= NO_PROXY= "$cli" --transport mio --report json "$TIDINGS_INTEROP_NGINX/small.txt" \
  | python3 -c 'import json, sys; r = json.loads(sys.stdin.readline()); assert r["status"] == 200, r; print("cli all_proxy=socks5h:// (mio): 200")'
"$cli" --proxy "$TIDINGS_INTEROP_HTTPS_PROXY" --cacert "$TIDINGS_INTEROP_CA" --transport mio --report json \
  "$TIDINGS_INTEROP_HTTPBIN/get" "$TIDINGS_INTEROP_NGINX_TLS/small.txt" \
  | python3 -c 'import json, sys; r = [json.loads(line) for line in sys.stdin]; assert [x["status"] for x in r] == [200, 200], r; print("cli --proxy https:// (mio): 200, 200")'
