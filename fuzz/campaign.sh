#!/usr/bin/env bash
# A real fuzzing campaign: every target (or those named) for SECONDS each (default 1800)
# under AddressSanitizer on nightly, one after another on one core. Logs go to LOGS
# (default /tmp/tidings-fuzz); `python3 fuzz/summarize.py LOGS` turns them into the table of
# FUZZING.md. Corpora grow in fuzz/corpus/TARGET (seeded from fuzz/seeds/TARGET); crashes
# land in fuzz/artifacts/TARGET.
#
#   bash fuzz/campaign.sh                 # every target, 30 minutes each
#   SECONDS_EACH=60 bash fuzz/campaign.sh socks split
#
# Never stop (SIGSTOP) a running target to free the machine: libFuzzer counts the stopped
# time against the input it was running and reports a false timeout (FUZZING.md).
set -uo pipefail
cd "$(dirname "$0")"
logs=${LOGS:-/tmp/tidings-fuzz}
each=${SECONDS_EACH:-1800}
mkdir -p "$logs"
targets=("$@")
[ ${#targets[@]} -eq 0 ] && mapfile -t targets < <(cargo fuzz list)
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "seeds/$target"
  start=$(date +%s)
  cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$each" -malloc_limit_mb=512 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    > "$logs/$target.log" 2>&1
  echo "$target exit $? after $(( $(date +%s) - start )) s" >> "$logs/campaign.log"
done
echo CAMPAIGN-DONE >> "$logs/campaign.log"
