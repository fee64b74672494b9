#!/usr/bin/env bash
# Benchmark: keepalived-rs's checker side by side with keepalived's, on the
# same generated keepalived.conf, inside the QEMU guest of scripts/ipvs-vm
# (keepalived's checker process needs IPVS; the host kernel has none).
#
# TCP=N TCP_CHECK real servers, then HTTP=M HTTP_GET real servers (one url,
# MD5 digest), delay_loop DELAY_LOOP, RS_PER_VS real servers per virtual
# server (NAT, virtual servers on 10.77.x.y:80). The targets listen on
# 127.0.0.1, ports 12000 and up, served by a separate process
# (examples/checkers_bench.rs "serve"), which also times the checks from the
# target side the same way for both daemons: the lateness of an arrival is the
# interval since the previous connection to the same port minus delay_loop.
# Per run: the daemon runs for SETTLE s, then a WINDOW s window measures the
# CPU of all the daemon's processes and threads (scheduler time from
# /proc/PID/task/*/schedstat; utime+stime from /proc/PID/stat, which the
# guest samples at ticks, as cpu_ticks_percent), the RSS of
# its checking process (and the total), arrivals/s and lateness p50/p99/max.
# keepalived and keepalived-rs run alternately, ROUNDS times each; for TCP
# also bench/tcp-floor.c (FLOOR=1, the default), a C client doing only what
# every TCP check must, at the same rate over the same targets, without and
# with keepalived's SO_LINGER: the kernel's own cost per check, measured
# the same way.
#
# Usage: bench/checkers-vs-keepalived.sh
#   env: TCP=1000 HTTP=1000 ROUNDS=2 SETTLE=8 WINDOW=20 DELAY_LOOP=1
#        RS_PER_VS=100 VM_CPUS=2 VM_MEM=1G KEEPALIVED=/usr/sbin/keepalived
# Prints one JSON line per run on stdout. Needs root (the guest) and qemu.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--guest" ]; then
  cargo build --release --quiet --example checkers_bench --bin keepalived-rs
  work=$(mktemp -d /tmp/checkers-vs-keepalived.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  cp target/release/examples/checkers_bench target/release/keepalived-rs "$work/"
  gcc -O2 -o "$work/tcp-floor" bench/tcp-floor.c
  echo "host load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  scripts/ipvs-vm -c "${VM_CPUS:-2}" -m "${VM_MEM:-1G}" -t 3000 -w "$work" \
    -e TCP="${TCP:-1000}" -e HTTP="${HTTP:-1000}" -e ROUNDS="${ROUNDS:-2}" \
    -e SETTLE="${SETTLE:-8}" -e WINDOW="${WINDOW:-20}" -e DELAY_LOOP="${DELAY_LOOP:-1}" \
    -e RS_PER_VS="${RS_PER_VS:-100}" -e KEEPALIVED="${KEEPALIVED:-/usr/sbin/keepalived}" \
    -e WORK="$work" -- bash bench/checkers-vs-keepalived.sh --guest
  echo "host load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  exit 0
fi

# ---- inside the guest ----
work=$WORK
bin=$work/checkers_bench
ulimit -n 65536
ip link set lo up
echo "guest: $(nproc) vCPU, $(awk '/MemTotal/ {print $2 / 1024 " MB"}' /proc/meminfo)" >&2
page='<html><body>keepalived-rs checker benchmark</body></html>'
digest=$(printf '%s\n' "$page" | md5sum | cut -d' ' -f1)

cleanup() { kill $(jobs -p) 2>/dev/null || true; }
trap cleanup EXIT

# CPU ticks (utime+stime, USER_HZ=100) of a process and its children.
tree() { echo "$1"; pgrep -P "$1" || true; }
ticks() {
  local t=0 p
  for p in $(tree "$1"); do
    [ -r "/proc/$p/stat" ] || continue
    t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$t"
}
# On-CPU time in ns of a process and its children, all threads
# (/proc/PID/task/TID/schedstat: exact scheduler time, not sampled at ticks;
# the guest's tick sampling overcharges timer-driven daemons).
cpu_ns() {
  local t=0 p f
  for p in $(tree "$1"); do
    for f in /proc/"$p"/task/*/schedstat; do
      [ -r "$f" ] || continue
      t=$((t + $(cut -d' ' -f1 "$f")))
    done
  done
  echo "$t"
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

gen_conf() { # KIND COUNT FIRST_LINE_OF_PORTS -> keepalived.conf on stdout
  /usr/bin/python3 - "$1" "$2" "$work/ports" "$digest" "${RS_PER_VS}" "${DELAY_LOOP}" <<'EOF'
import sys
kind, count, portfile, digest, per_vs, delay = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
ports = [l.split()[1] for l in open(portfile) if l.split()[0] == kind][:count]
out = ["global_defs {\n  router_id bench\n}\n"]
for v in range(0, len(ports), per_vs):
    n = v // per_vs
    out.append(f"virtual_server 10.77.{n // 250}.{n % 250 + 1} 80 {{\n  delay_loop {delay}\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n")
    for p in ports[v:v + per_vs]:
        out.append(f"  real_server 127.0.0.1 {p} {{\n    weight 1\n")
        if kind == "tcp":
            out.append("    TCP_CHECK {\n      connect_timeout 3\n    }\n")
        else:
            out.append(f"    HTTP_GET {{\n      url {{\n        path /\n        digest {digest}\n      }}\n      connect_timeout 3\n    }}\n")
        out.append("  }\n")
    out.append("}\n")
sys.stdout.write("".join(out))
EOF
}

measure() { # NAME KIND COUNT
  local name=$1 kind=$2 count=$3 pid t0 t1 n0 n1 start end rss total p
  local conf=$work/keepalived-$kind.conf
  rm -f "$work/arrivals" "$work"/*.pid
  case $name in
    keepalived)
      "$KEEPALIVED" -n -l -C -f "$conf" -p "$work/k.pid" -c "$work/kc.pid" \
        >"$work/$name-$kind.log" 2>&1 &
      pid=$! ;;
    keepalived-rs)
      "$work/keepalived-rs" -n -l -C -f "$conf" -p "$work/k.pid" -c "$work/kc.pid" \
        --control-socket "$work/control.sock" >"$work/$name-$kind.log" 2>&1 &
      pid=$! ;;
    floor|floor-linger)
      # bench/tcp-floor.c: socket, connect, poll, SO_ERROR, close and
      # nothing else, one target after another at the same rate;
      # floor-linger with keepalived's SO_LINGER {1, 5}.
      local linger=0; [ "$name" = floor-linger ] && linger=1
      "$work/tcp-floor" "$work/ports" $((SETTLE + WINDOW + 60)) \
        "$(awk -v c="$count" -v d="$DELAY_LOOP" 'BEGIN { print int(c / d) }')" "$linger" \
        >"$work/$name-$kind.log" 2>&1 &
      pid=$! ;;
  esac
  sleep "$SETTLE"
  kill -0 "$pid" || { echo "$name exited early:" >&2; tail -20 "$work/$name-$kind.log" >&2; return 1; }
  t0=$(ticks "$pid"); n0=$(cpu_ns "$pid"); start=$(date +%s.%N)
  kill -USR1 "$server"
  sleep "$WINDOW"
  kill -USR2 "$server"
  t1=$(ticks "$pid"); n1=$(cpu_ns "$pid"); end=$(date +%s.%N)
  # The checking process: the child with the largest RSS (keepalived: the
  # checker child; keepalived-rs: the one process).
  rss=0; total=0
  for p in $(tree "$pid"); do
    local r; r=$(rss_kb "$p"); total=$((total + r)); [ "$r" -gt "$rss" ] && rss=$r
  done
  local procs; procs=$(tree "$pid" | wc -l)
  kill -TERM "$pid"
  for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for _ in $(seq 50); do [ -s "$work/arrivals" ] && break; sleep 0.1; done
  local ipvs_left; ipvs_left=$(ipvsadm -Ln | grep -c '^TCP' || true)
  /usr/bin/python3 - "$name" "$kind" "$count" "$t0" "$t1" "$n0" "$n1" "$start" "$end" "$rss" "$total" "$procs" "$work/arrivals" "$ipvs_left" <<'EOF'
import json, sys
name, kind, count, t0, t1, n0, n1, start, end, rss, total, procs, arr, left = sys.argv[1:]
el = float(end) - float(start)
a = json.load(open(arr))
r = {"daemon": name, "config": f"{count} {kind}", "cpu_percent": round((int(n1) - int(n0)) / el / 1e7, 1),
     "cpu_ticks_percent": round((int(t1) - int(t0)) / el, 1),
     "checker_rss_mb": round(int(rss) / 1024, 1), "total_rss_mb": round(int(total) / 1024, 1),
     "processes": int(procs), "ipvs_services_left": int(left)}
r.update(a)
print(json.dumps(r), flush=True)
EOF
  # Let the kernel clean up (IPVS trash list, TIME_WAIT) between runs.
  ipvsadm -C
  sleep 2
}

echo "load average in guest: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
BENCH_ARRIVALS=$work/arrivals BENCH_DELAY_LOOP=$DELAY_LOOP "$bin" serve "$TCP" "$HTTP" "$work/ports" &
server=$!
for _ in $(seq 600); do [ -s "$work/ports" ] && break; sleep 0.1; done
[ -s "$work/ports" ] || { echo "server did not start" >&2; exit 1; }
for kind in tcp http; do
  count=$TCP; [ $kind = http ] && count=$HTTP
  [ "$count" -gt 0 ] || continue
  gen_conf "$kind" "$count" >"$work/keepalived-$kind.conf"
  for round in $(seq "$ROUNDS"); do
    names="keepalived keepalived-rs"
    # The kernel's own cost of a TCP check, measured the same way.
    [ "$kind" = tcp ] && [ "${FLOOR:-1}" = 1 ] && names="$names floor floor-linger"
    for name in $names; do
      measure "$name" "$kind" "$count"
    done
  done
done
kill "$server"
