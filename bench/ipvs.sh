#!/usr/bin/env bash
# IPVS programming benchmark (issue 5): SERVICES x DESTS NAT entries, no
# checkers (real servers are up at once in both daemons), inside one IPVS
# guest (scripts/ipvs-vm), every measurement in a fresh network namespace:
#   - floor: examples/ipvs_floor.rs (one request + one ACK at a time, nothing else);
#   - keepalived-rs -C and keepalived 2.2.7 -C, each through
#     examples/ipvs_bench.rs: cold start until every entry is in the kernel,
#     SIGHUP with one weight changed until the change is in, SIGTERM until the
#     table is empty and the process has exited.
# The three alternate, RUNS rounds. Guest times are TCG times: compare the
# rows of one run with each other, never with host times.
# A stop that leaves entries behind (keepalived's parent killing its
# checker child) counts until the exit; "left" says how many stayed. Daemon
# logs: $work/<what>-<run>.log (kept with KEEP=1).
# Usage: bench/ipvs.sh [RUNS] (default 3); env SERVICES=1000 DESTS=10,
# KEEPALIVED=/usr/sbin/keepalived, IPVS_BENCH_ONLY="floor keepalived-rs keepalived",
# PAUSE=5 (seconds before each measurement, for the kernel's teardown of the
# previous namespace).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
services=${SERVICES:-1000}
dests=${DESTS:-10}
keepalived=${KEEPALIVED:-/usr/sbin/keepalived}
only=${IPVS_BENCH_ONLY:-floor keepalived-rs keepalived}
[ "$(id -u)" -eq 0 ] || { echo "bench/ipvs.sh needs root (scripts/ipvs-vm)" >&2; exit 1; }
cargo build --release --quiet --bin keepalived-rs --example ipvs_floor --example ipvs_bench
work=$(mktemp -d /tmp/ipvs-bench.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
# Private copies: other builds in this tree must not swap binaries mid-run.
cp target/release/keepalived-rs target/release/examples/ipvs_floor \
   target/release/examples/ipvs_bench "$work/"
changed=$((services / 2))
python3 bench/ipvs-gen.py "$services" "$dests" > "$work/a.conf"
python3 bench/ipvs-gen.py "$services" "$dests" --changed "$changed" > "$work/b.conf"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
scripts/ipvs-vm -t 3000 -w "$work" -- bash -c '
  set -u
  w=$1 runs=$2 services=$3 dests=$4 changed=$5 ka=$6 only=$7 pause=$8
  # Run from the guest tmpfs: pages of a binary on the writable 9p share
  # fault in slowly (keepalived itself comes from the cached read-only root).
  b=/run/ipvs-bench; mkdir -p $b
  cp "$w/keepalived-rs" "$w/ipvs_floor" "$w/ipvs_bench" "$w/a.conf" "$w/b.conf" $b/
  w0=$w; w=$b
  bench() {
    "$w/ipvs_bench" --services "$services" --dests "$dests" --changed "$changed" \
      --conf "$w/run.conf" --a "$w/a.conf" --b "$w/b.conf" --log "$w0/$what-$i.log" -- "$@"
  }
  for i in $(seq "$runs"); do
    for what in $only; do
      # The namespace of the previous run is torn down by the kernel in the
      # background (thousands of IPVS entries under TCG take seconds): let
      # that finish before the next measurement starts.
      sleep "$pause"
      rm -f "$w"/*.pid "$w/ctl.sock"
      case $what in
        floor) "$w/ipvs_floor" --services "$services" --dests "$dests" ;;
        keepalived-rs) bench "$w/keepalived-rs" -n -l -C -f "$w/run.conf" -p "$w/krs.pid" \
                           --control-socket "$w/ctl.sock" ;;
        keepalived) bench "$ka" -n -l -C -f "$w/run.conf" -p "$w/ka.pid" -c "$w/kc.pid" \
                        -r "$w/kv.pid" ;;
      esac
    done
  done > "$w0/runs.jsonl"
' _ "$work" "$runs" "$services" "$dests" "$changed" "$keepalived" "$only" "${PAUSE:-5}" \
  || echo "guest run ended with status $?" >&2
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cat "$work/runs.jsonl"
python3 - "$work/runs.jsonl" "$work" <<'PY'
import datetime, glob, json, os, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
# keepalived-rs's own log: from "programming the table" (configuration read,
# checkers planned) to "table programmed" (last ACK handled) is the part of
# the cold start that the floor does.
def stamp(line):
    return datetime.datetime.fromisoformat(line.split()[0].replace("Z", "+00:00")).timestamp()
prog = []
for f in sorted(glob.glob(os.path.join(sys.argv[2], "keepalived-rs-*.log"))):
    a = b = None
    for line in open(f, errors="replace"):
        if a is None and "IPVS: programming the table" in line:
            a = stamp(line)
        elif a is not None and b is None and "IPVS: table programmed" in line:
            b = stamp(line)
    if a is not None and b is not None:
        prog.append(b - a)
def fmt(v):
    return f"{min(v):.3f} / {statistics.median(v):.3f} / {max(v):.3f}" if v else "-"
floor = [r["seconds"] for r in rows if "seconds" in r]
print(f"| what | runs | cold start, s (min / median / max) | reload, s | stop, s |")
print(f"|---|---|---|---|---|")
print(f"| floor (ipvs_floor) | {len(floor)} | {fmt(floor)} | | |")
for name in ("keepalived-rs", "keepalived"):
    r = [x for x in rows if x.get("cmd") == name]
    if r:
        left = ", ".join(str(x["left"]) for x in r)
        print(f"| {name} | {len(r)} | {fmt([x['start'] for x in r])} | "
              f"{fmt([x['reload'] for x in r])} | {fmt([x['stop'] for x in r])} (left: {left}) |")
        if name == "keepalived-rs" and prog:
            print(f"| keepalived-rs, programming only (its log) | {len(prog)} | {fmt(prog)} | | |")
PY
