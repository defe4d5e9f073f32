#!/usr/bin/env python3
"""The layering ARCHITECTURE.md promises, checked: dependencies point one way (facade ->
transports -> client -> core, no transport on another, the client and the core on no
transport nor mio, the facade on nothing but tidings crates),
no library file over 800 lines, and no import cycle between a crate's files
(../shared/tools/file-cycles.py). Exits 1 on any breach."""
import json
import os
import subprocess
import sys

os.chdir(os.path.join(os.path.dirname(__file__), ".."))
failures = []

metadata = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--no-deps"]))
deps = {p["name"]: {d["name"] for d in p["dependencies"]} for p in metadata["packages"]}
forbidden = {
    "tidings-core": {"tidings-client", "tidings-std", "tidings-mio", "mio", "tidings"},
    "tidings-client": {"tidings-std", "tidings-mio", "mio", "tidings"},
    "tidings-std": {"tidings-mio", "mio", "tidings"},
    "tidings-mio": {"tidings-std", "tidings"},
}
for crate, banned in forbidden.items():
    for dependency in sorted(deps.get(crate, set()) & banned):
        failures.append(f"{crate} depends on {dependency} (dependencies point transports -> client -> core)")

# The facade only re-exports: its dependencies are the tidings crates (and test servers).
facade = next((p for p in metadata["packages"] if p["name"] == "tidings"), None)
if facade is None:
    failures.append("the facade crate `tidings` is missing")
else:
    for dependency in facade["dependencies"]:
        if dependency["kind"] is None and not dependency["name"].startswith("tidings-"):
            failures.append(f"the facade depends on {dependency['name']} (it only re-exports the tidings crates)")

for folder in ["core", "client", "transport-std", "transport-mio", "tidings"]:
    for root, _, files in os.walk(os.path.join(folder, "src")):
        for name in files:
            if name.endswith(".rs"):
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as source:
                    lines = sum(1 for _ in source)
                if lines > 800:
                    failures.append(f"{path} has {lines} lines (at most 800: split it by concept)")

cycles = "../shared/tools/file-cycles.py"
if os.path.exists(cycles):
    result = subprocess.run([sys.executable, cycles, "core", "client", "transport-std", "transport-mio"])
    if result.returncode != 0:
        failures.append("import cycles between files (listed above)")
else:
    print(f"note: {cycles} is not beside this checkout; file cycles not checked")

for failure in failures:
    print("architecture:", failure)
print("architecture: ok" if not failures else f"architecture: {len(failures)} problem(s)")
sys.exit(1 if failures else 0)
