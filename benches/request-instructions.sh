#!/usr/bin/env bash
# User-space instructions per request, each client against the floor, under callgrind: the
# difference between a run of N and of 2N requests, over N, so start-up and warm-up fall out.
# Starts nginx on loopback like benches/loopback.sh (and stops it, by PID). Needs valgrind
# (`apt-get install valgrind`).
#
#   bash benches/request-instructions.sh        # N = 2000
#   N=4000 bash benches/request-instructions.sh
#   ONLY=tidings bash benches/request-instructions.sh   # only the clients whose name holds it
#
# Sequential small GETs over one kept-alive connection (the loopback bench's scenario (a)):
# tidings-std, ureq, reqwest's blocking client, hyper, the floor (a hand-written exchange).
# Small GETs on one thread with 1 and 64 in flight (the scale bench's child): tidings-mio, hyper.
# Keep callgrind's figures per function for a breakdown with CALLGRIND_OUT=dir; when reading
# them, count each function once (`callgrind_annotate --inclusive=yes` lists inlined callees
# under both their caller's file and their own).
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/nginx.sh
n=${N:-2000}
work=$(mktemp -d)
out=${CALLGRIND_OUT:-$work}
mkdir -p "$out"
trap '[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT
port=$(free_port); tls_port=$(free_port)
make_certificates "$work"
start_nginx "$work" "$port" 1 "$tls_port"
sleep 0.5
. benches/executable.sh
loopback=$(executable loopback)
scale=$(executable scale)
total() { grep -m1 '^summary:\|^totals:' "$1" | awk '{print $2}'; }
printf '| client | user-space instructions per request |\n|---|---|\n'
only=${ONLY:-}
for client in tidings-std "ureq 3" "reqwest blocking" hyper floor; do
  [[ "$client" == *"$only"* ]] || continue
  for count in "$n" $((2 * n)); do
    TIDINGS_BENCH_URL="http://127.0.0.1:$port" TIDINGS_BENCH_SCENARIOS=a TIDINGS_BENCH_ONLY="$client" \
      TIDINGS_BENCH_REQUESTS="$count" valgrind --tool=callgrind \
      --callgrind-out-file="$out/seq-${client// /_}.$count" "$loopback" >/dev/null 2>&1
  done
  a=$(total "$out/seq-${client// /_}.$n"); b=$(total "$out/seq-${client// /_}.$((2 * n))")
  printf '| %s, one kept-alive connection | %d |\n' "$client" $(((b - a) / n))
done
for client in tidings-mio hyper; do
  [[ "$client" == *"$only"* ]] || continue
  for level in 1 64; do
    for count in "$n" $((2 * n)); do
      TIDINGS_BENCH_URL="http://127.0.0.1:$port" TIDINGS_SCALE_CHILD="$client,false,$level" \
        TIDINGS_BENCH_REQUESTS="$count" valgrind --tool=callgrind \
        --callgrind-out-file="$out/flight-$client-$level.$count" "$scale" >/dev/null 2>&1
    done
    a=$(total "$out/flight-$client-$level.$n"); b=$(total "$out/flight-$client-$level.$((2 * n))")
    printf '| %s, %d in flight on one thread | %d |\n' "$client" "$level" $(((b - a) / n))
  done
done
