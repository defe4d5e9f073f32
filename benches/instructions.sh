#!/usr/bin/env bash
# Instructions per operation, tidings vs raw httparse, for each chunked case, under callgrind.
#
#   bash benches/instructions.sh            # 2000 iterations per side and case
#
# Builds the chunked_ratio bench, runs it with TIDINGS_BENCH_ITERATIONS under callgrind with
# collection on only inside `count_httparse` and `count_tidings`, and divides.
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${ITERATIONS:-2000}
binary=$(cargo bench -p tidings-benches --bench chunked_ratio --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "chunked_ratio" and m.get("executable"):
        print(m["executable"])')
out=$(mktemp -d)
for case in "API head, 1 KiB in 8" "64 chunks" "16 KiB" "3-field"; do
  for side in httparse tidings; do
    TIDINGS_BENCH_CASE="$case" TIDINGS_BENCH_ITERATIONS="$iterations" valgrind --tool=callgrind \
      --callgrind-out-file="$out/$side.out" --collect-atstart=no --toggle-collect="*count_$side*" \
      "$binary" >/dev/null 2>&1
    total=$(grep -m1 '^summary:\|^totals:' "$out/$side.out" | awk '{print $2}')
    printf '%-22s %-9s %8.0f instructions/op\n' "$case" "$side" "$(echo "$total / $iterations" | bc -l)"
  done
done
rm -rf "$out"
