#!/usr/bin/env python3
"""Summarizes a campaign's logs (fuzz/campaign.sh) as the Markdown table of FUZZING.md:
per target, the time run, executions and their rate, coverage (libFuzzer's `cov` edges and
`ft` features), the corpus, peak memory, and whether it crashed.

    python3 fuzz/summarize.py /tmp/tidings-fuzz"""
import os
import re
import sys

logs = sys.argv[1] if len(sys.argv) > 1 else "/tmp/tidings-fuzz"
print("| target | time | executions | exec/s | cov | ft | corpus | peak RSS | result |")
print("|---|---|---|---|---|---|---|---|---|")
for name in sorted(os.listdir(logs)):
    if not name.endswith(".log") or name == "campaign.log":
        continue
    target = name[:-4]
    text = open(os.path.join(logs, name), errors="replace").read()
    stats = dict(re.findall(r"stat::(\w+):\s+(\d+)", text))
    last = re.findall(r"#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\S+)", text)
    done = re.search(r"Done (\d+) runs in (\d+) second", text)
    crashed = re.search(r"(ERROR: AddressSanitizer|panicked at|deadly signal|Test unit written to \S+)", text)
    if not last:
        continue
    runs, cov, ft, units, size = last[-1]
    seconds = done.group(2) if done else "?"
    result = "crash: " + crashed.group(1) if crashed else ("clean" if done else "running")
    print(f"| `{target}` | {seconds} s | {int(stats.get('number_of_executed_units', runs)):,} | "
          f"{stats.get('average_exec_per_sec', '?')} | {cov} | {ft} | {units} inputs, {size} | "
          f"{stats.get('peak_rss_mb', '?')} MB | {result} |")
