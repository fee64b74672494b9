#!/usr/bin/env bash
# Benchmark: the real-server checkers of keepalived-rs on loopback.
#   1. TCP=10000 TCP_CHECK targets, delay_loop 1 s;
#   2. HTTP=1000 HTTP_GET targets (digest checked), delay_loop 1 s.
# The targets (loopback ports from 12000 up, below the ephemeral range) are
# served by a separate process (examples/checkers_bench.rs
# "serve"), so only the checker's own CPU is counted. For each config it
# prints one JSON line: checks/s, failures, CPU % of one core, RSS, and the
# start lateness of the probes against their schedule (p50/p99/max).
# keepalived's own checker needs IPVS, so the side-by-side run is
# bench/checkers-vs-keepalived.sh, inside the QEMU guest of scripts/ipvs-vm.
# Usage: bench/checkers.sh      env: TCP=10000 HTTP=1000 SETTLE=5 WINDOW=20 THREADS=0 DELAY_LOOP=1
#   THREADS=0: one current-thread runtime, as the daemon runs its checkers
#   (on their own thread); N: a multi-thread runtime with N workers.
#   AUTOGROUP_NICE=-10: run server and checker each in its own session with
#     that scheduler-autogroup nice. With kernel.sched_autogroup_enabled=1,
#     CPU is shared fairly between sessions and plain `nice` only acts within
#     one: on a machine shared with other sessions' builds this is the way to
#     measure the checker rather than its share of the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
tcp=${TCP:-10000}
http=${HTTP:-1000}
settle=${SETTLE:-5}
window=${WINDOW:-20}
threads=${THREADS:-0}
delay_loop=${DELAY_LOOP:-1}

# 10,000 listeners plus connections in flight.
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((tcp + http + 1000)) ] || { echo "need ulimit -n >= $((tcp + http + 1000))" >&2; exit 1; }

cargo build --release --quiet --example checkers_bench
work=$(mktemp -d /tmp/checkers-bench.XXXXXX)
cp target/release/examples/checkers_bench "$work/"
bin=$work/checkers_bench
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# Start a command in the background (in its own session with AUTOGROUP_NICE);
# sets $started to its pid.
start_bg() {
  if [ -n "${AUTOGROUP_NICE:-}" ]; then
    setsid -w "$@" &
    local wrapper=$!
    started=""
    for _ in $(seq 50); do
      started=$(pgrep -n -f "^$1 $2") && break
      sleep 0.05
    done
    [ -n "$started" ] || started=$wrapper
    echo "$AUTOGROUP_NICE" > "/proc/$started/autogroup"
  else
    "$@" &
    started=$!
  fi
}

run() { # TCP_COUNT HTTP_COUNT
  rm -f "$work/ports"
  start_bg "$bin" serve "$1" "$2" "$work/ports"
  local server=$started
  for _ in $(seq 100); do [ -s "$work/ports" ] && break; sleep 0.1; done
  [ -s "$work/ports" ] || { echo "server did not start" >&2; exit 1; }
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  start_bg "$bin" check "$work/ports" "$delay_loop" "$settle" "$window" "$threads"
  while kill -0 "$started" 2>/dev/null; do sleep 0.2; done
  kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
}

run "$tcp" 0
run 0 "$http"
