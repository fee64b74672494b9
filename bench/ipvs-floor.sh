#!/usr/bin/env bash
# Benchmark floor for IPVS programming: the time the kernel needs for
# SERVICES x DESTS entries sent one request + one ACK at a time
# (examples/ipvs_floor.rs), RUNS times inside one IPVS guest
# (scripts/ipvs-vm), each run in a fresh network namespace. keepalived-rs
# and keepalived are to be measured in the same guest run and compared with
# this: guest times are TCG times, never compare them with host times.
# Usage: bench/ipvs-floor.sh [RUNS] (default 5); env SERVICES=1000 DESTS=10.
# Prints each run's JSON line, then min / median / max seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
services=${SERVICES:-1000}
dests=${DESTS:-10}
[ "$(id -u)" -eq 0 ] || { echo "bench/ipvs-floor.sh needs root (scripts/ipvs-vm)" >&2; exit 1; }
cargo build --release --quiet --example ipvs_floor
work=$(mktemp -d /tmp/ipvs-floor.XXXXXX)
trap 'rm -rf "$work"' EXIT
# A private copy: other builds in this tree must not swap the binary mid-run.
cp target/release/examples/ipvs_floor "$work/ipvs_floor"
scripts/ipvs-vm -w "$work" -- bash -c '
  for i in $(seq "$1"); do "$2/ipvs_floor" --services "$3" --dests "$4"; done > "$2/runs.jsonl"
' _ "$runs" "$work" "$services" "$dests"
cat "$work/runs.jsonl"
python3 - "$work/runs.jsonl" <<'PY'
import json, statistics, sys
s = sorted(json.loads(l)["seconds"] for l in open(sys.argv[1]) if l.strip())
print(f"floor, {len(s)} runs: min {s[0]:.3f} / median {statistics.median(s):.3f} / max {s[-1]:.3f} s")
PY
