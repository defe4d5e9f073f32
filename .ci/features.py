#!/usr/bin/env python3
"""Every feature combination builds and passes its tests: for each library crate, no default
features, each feature alone, and all features (`cargo test`, clippy's lints included).
Exits 1 at the first failure."""
import json
import os
import subprocess
import sys

os.chdir(os.path.join(os.path.dirname(__file__), ".."))
CRATES = ["tidings-core", "tidings-client", "tidings-std", "tidings-mio", "tidings"]
# The facade's front-page guide reads JSON in every example: without `json`, its doctests
# cannot compile, so only its other tests run.
NEEDS_JSON_FOR_DOCTESTS = {"tidings"}
metadata = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--no-deps"]))
for package in metadata["packages"]:
    if package["name"] not in CRATES:
        continue
    features = sorted(name for name in package["features"] if name != "default")
    combinations = [["--no-default-features"]]
    combinations += [["--no-default-features", "--features", feature] for feature in features]
    combinations += [["--all-features"]]
    for flags in combinations:
        command = ["cargo", "clippy", "-q", "-p", package["name"], "--all-targets", *flags, "--", "-D", "warnings"]
        print("features:", " ".join(command[3:]), flush=True)
        if subprocess.run(command).returncode != 0:
            sys.exit(1)
        command = ["cargo", "test", "-q", "-p", package["name"], *flags]
        json_on = "--all-features" in flags or "json" in flags
        if package["name"] in NEEDS_JSON_FOR_DOCTESTS and not json_on:
            command += ["--lib", "--tests"]
        if subprocess.run(command, stdout=subprocess.DEVNULL).returncode != 0:
            print("features: tests failed with", " ".join(flags), flush=True)
            sys.exit(1)
print("features: every combination builds and passes")
