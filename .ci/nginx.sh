# Sourced by .ci/interop.sh and benches/loopback.sh: nginx on loopback, started and stopped by
# the caller's own PID file.
#   free_port                      prints a free loopback port
#   start_nginx DIR PORT MIB [TLS_PORT]
#       serves DIR/www/small.txt and DIR/www/large.bin (MIB MiB of random bytes) with
#       keep-alive on PORT, and over HTTPS on TLS_PORT with DIR/server.pem and DIR/server.key;
#       its PID is in DIR/nginx.pid. NGINX_CONNECTIONS (default 1024) sets its
#       worker_connections, with twice that many file descriptors. NGINX_TCP_NOPUSH=on sends
#       a response's head and a file body in one segment (TCP_CORK with sendfile), as the
#       nginx.conf that Debian ships does; the default, off, sends them as two.

#   make_certificates DIR          a CA (DIR/ca.pem) and a server certificate for localhost and
#                                  127.0.0.1 (DIR/server.pem, DIR/server.key), with openssl

make_certificates() {
  local work=$1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=tidings test CA" \
    -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$work/san.ext"
  openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
    -days 2 -extfile "$work/san.ext" -out "$work/server.pem" 2>/dev/null
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_nginx() {
  local work=$1 port=$2 mib=$3 tls_port=${4:-} nginx tls_server=""
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { apt-get update -qq && apt-get install -y -qq nginx >/dev/null; }
  nginx=$(command -v nginx || echo /usr/sbin/nginx)
  mkdir -p "$work/www" "$work/logs"
  chmod 755 "$work" "$work/www"   # nginx workers run as an unprivileged user
  printf 'hello from nginx\n' > "$work/www/small.txt"
  head -c $((mib * 1024 * 1024)) /dev/urandom > "$work/www/large.bin"
  chmod 644 "$work/www/"*
  if [ -n "$tls_port" ]; then
    tls_server="server { listen 127.0.0.1:$tls_port ssl backlog=16384; ssl_certificate $work/server.pem; ssl_certificate_key $work/server.key; root $work/www; }"
  fi
  cat > "$work/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile $(( 2 * ${NGINX_CONNECTIONS:-1024} ));
pid $work/nginx.pid;
error_log $work/logs/error.log;
events { worker_connections ${NGINX_CONNECTIONS:-1024}; }
http {
  access_log off;
  keepalive_timeout 60s;
  keepalive_requests 1000000;
  sendfile on;
  tcp_nopush ${NGINX_TCP_NOPUSH:-off};
  client_body_temp_path $work/tmp_body;
  proxy_temp_path $work/tmp_proxy;
  fastcgi_temp_path $work/tmp_fastcgi;
  uwsgi_temp_path $work/tmp_uwsgi;
  scgi_temp_path $work/tmp_scgi;
  server { listen 127.0.0.1:$port backlog=16384; root $work/www; }
  $tls_server
}
CONF
  "$nginx" -c "$work/nginx.conf" -p "$work" -e "$work/logs/error.log"
}
