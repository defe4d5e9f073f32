#!/usr/bin/env bash
# Client CPU per request against the floors, in rounds, everything pinned to one CPU.
#
#   bash benches/pinned.sh                    # 5 rounds of 250,000 requests on CPU 0
#   ROUNDS=3 N=100000 CPU=1 bash benches/pinned.sh
#
# Starts nginx on loopback like benches/loopback.sh (one worker; stops it by PID), pins its
# worker and every client to CPU `CPU`, and runs each round in this order, each client in a
# process of its own:
#   - sequential small GETs over one kept-alive connection (the loopback bench's scenario
#     (a)): the floor (a hand-written exchange over a blocking `TcpStream`) and tidings-std;
#   - small GETs with 1 and 64 in flight (the scale bench's child): tidings-mio and hyper's
#     client on one thread, and at 64 the floor on 64 threads.
# Pinned, a request's wake-ups cost what a busy server's do: unpinned on two cores, each
# blocking wait of a sequential client lets its CPU idle and pays a cross-CPU wake-up, which
# swamps what the clients themselves do (the floor measures ~27 µs per request that way,
# ~5 µs pinned). Lines print as they come: per client, requests/s and client CPU per request,
# and from the scale bench user and system time per request.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/nginx.sh
cpu=${CPU:-0}
n=${N:-250000}
rounds=${ROUNDS:-5}
work=$(mktemp -d)
trap '[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT
. benches/executable.sh
loopback=$(executable loopback)
scale=$(executable scale)
port=$(free_port); tls_port=$(free_port)
make_certificates "$work"
start_nginx "$work" "$port" 1 "$tls_port"
sleep 0.5
for pid in $(pgrep -P "$(cat "$work/nginx.pid")"); do taskset -p -c "$cpu" "$pid" >/dev/null; done
url="http://127.0.0.1:$port"
echo "| round | client | in flight | requests/s | client CPU per request | user | system |"
echo "|---|---|---|---|---|---|---|"
for round in $(seq 1 "$rounds"); do
  for client in floor tidings-std; do
    # The loopback bench's row: | name | requests/s | CPU per request | ...
    TIDINGS_BENCH_URL="$url" TIDINGS_BENCH_SCENARIOS=a TIDINGS_BENCH_ONLY="$client" TIDINGS_BENCH_REQUESTS="$n" \
      taskset -c "$cpu" "$loopback" 2>&1 |
      awk -F'|' -v round="$round" -v client="$client" '
        $2 ~ "^ " client { gsub(/^ +| +$/, "", $3); gsub(/^ +| +$/, "", $4)
          printf "| %s | %s | 1 | %s | %s | | |\n", round, client, $3, $4; exit }'
  done
  for level in 1 64; do
    for client in floor tidings-mio hyper; do
      [ "$client" = floor ] && [ "$level" = 1 ] && continue
      # The scale bench's RUN line: client, tls, level, requests/s, CPU µs, memory ×2, user, system, ...
      TIDINGS_BENCH_URL="$url" TIDINGS_SCALE_CHILD="$client,false,$level" TIDINGS_BENCH_REQUESTS="$n" \
        taskset -c "$cpu" "$scale" 2>&1 |
        awk -F'\t' -v round="$round" '
          $1 == "RUN" { printf "| %s | %s | %s | %.0f | %.2f µs | %.2f µs | %.2f µs |\n", round, $2, $4, $5, $6, $9, $10 }'
    done
  done
done
