#!/usr/bin/env bash
# Interop: real servers on loopback — Python httpbin under gunicorn, and nginx (keep-alive,
# a large file, HTTPS with a locally generated CA) — then tidings-std's interop tests.
# Stops only the processes it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v gunicorn >/dev/null && python3 -c 'import httpbin' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check httpbin gunicorn
command -v nginx >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx >/dev/null; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTPBIN_PORT=$(free_port); NGINX_PORT=$(free_port); NGINX_TLS_PORT=$(free_port)

# A local CA and a server certificate for localhost and 127.0.0.1.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=tidings interop CA" \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$work/san.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -days 2 -extfile "$work/san.ext" -out "$work/server.pem" 2>/dev/null

mkdir -p "$work/www" "$work/logs"
chmod 755 "$work" "$work/www"   # nginx workers run as an unprivileged user
printf 'hello from nginx\n' > "$work/www/small.txt"
head -c $((32 * 1024 * 1024)) /dev/urandom > "$work/www/large.bin"
chmod 644 "$work/www/"*
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log;
events { worker_connections 256; }
http {
  access_log off;
  keepalive_timeout 30s;
  keepalive_requests 10000;
  sendfile on;
  client_body_temp_path $work/tmp_body;
  proxy_temp_path $work/tmp_proxy;
  fastcgi_temp_path $work/tmp_fastcgi;
  uwsgi_temp_path $work/tmp_uwsgi;
  scgi_temp_path $work/tmp_scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $work/www;
  }
  server {
    listen 127.0.0.1:$NGINX_TLS_PORT ssl;
    ssl_certificate $work/server.pem;
    ssl_certificate_key $work/server.key;
    root $work/www;
  }
}
CONF
"$NGINX" -c "$work/nginx.conf" -p "$work" -e "$work/logs/error.log"

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
