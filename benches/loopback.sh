#!/usr/bin/env bash
# Loopback comparison against peer clients: starts nginx on a free loopback port (a small
# file and a 100 MiB file, keep-alive), runs the `loopback` bench with every client in the
# same run, and stops nginx (only the process it started, by PID).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { apt-get update -qq && apt-get install -y -qq nginx >/dev/null; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
work=$(mktemp -d)
trap '[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/www" "$work/logs"
chmod 755 "$work" "$work/www"
printf 'hello from nginx\n' > "$work/www/small.txt"
head -c $((100 * 1024 * 1024)) /dev/zero > "$work/www/large.bin"
chmod 644 "$work/www/"*
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_timeout 60s;
  keepalive_requests 1000000;
  sendfile on;
  client_body_temp_path $work/tmp;
  server { listen 127.0.0.1:$port backlog=4096; root $work/www; }
}
CONF
"$NGINX" -c "$work/nginx.conf" -p "$work" -e "$work/logs/error.log"
sleep 0.5
TIDINGS_BENCH_URL="http://127.0.0.1:$port" cargo bench -p tidings-benches --features peers --bench loopback "$@"
