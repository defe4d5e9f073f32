# Sourced by the bench scripts: `executable NAME` builds the `tidings-benches` bench NAME
# (with the peers) and prints the path of its binary, to run it directly.
executable() {
  cargo bench -p tidings-benches --features peers --bench "$1" --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == sys.argv[1] and m.get("executable"):
        print(m["executable"])' "$1"
}
