#!/usr/bin/env bash
# Benchmark: keepalived-rs against Debian's keepalived as a VRRP pair, in the
# same run and the same lab (network namespaces lb1, lb2, cli on one bridge;
# the two daemons take turns in lb1/lb2, run by run, so both see the same
# machine load). Measures:
#   1. wire gap: last master advert -> first backup advert (capture in cli)
#      after SIGKILL of every process of the master + its link down, against
#      the protocol value 3 x advert + skew (v2/1 s, v3/0.1 s, v3/0.01 s);
#   2. CPU of master and backup, 100 instances x v3 advert 0.1 s, over a
#      WINDOW-second window once both are settled (/proc/PID/stat);
#   3. memory (RSS, PSS from /proc/PID/smaps_rollup) with those 100 instances;
#   4. start-to-VIP of a lone master (1 instance, v3/0.1 s and v2/1 s).
# Prints markdown tables (pasted into docs/PERFORMANCE.md, section "VRRP").
# Needs root, iproute2, tcpdump, python3, /usr/sbin/keepalived.
# Usage: bench/vrrp.sh [RUNS]     (RUNS per failover / start config, default 5)
#   env: WINDOW=30 (CPU window, s), CPU_ROUNDS=2 (rs, ka, rs, ka: the spread
#        shows the noise of a shared machine), SETTLE=7 (s from all VIPs up to the CPU window:
#        past the 5 s delayed GARP refresh),
#        KEEP=1 (keep the work directory with logs and captures),
#        PHASES="gap cpu start", GAP_CONFIGS="2/1 3/0.1 3/0.01" (VERSION/ADVERT;
#        subsets are for diagnosis, the doc's numbers use the defaults),
#        RS_LOG=info (KEEPALIVED_RS_LOG for keepalived-rs; trace only to diagnose)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
window=${WINDOW:-30}
settle=${SETTLE:-7}
cpu_rounds=${CPU_ROUNDS:-2}
phases=" ${PHASES:-gap cpu start} "

[ "$(id -u)" -eq 0 ] || { echo "bench/vrrp.sh needs root (network namespaces)" >&2; exit 1; }
for c in ip tcpdump python3 /usr/sbin/keepalived; do
  command -v "$c" >/dev/null || { echo "missing $c (apt-get install iproute2 tcpdump python3 keepalived)" >&2; exit 1; }
done

cargo build --release --quiet
work=$(mktemp -d /tmp/vrrp-bench.XXXXXX)
# A private copy: other builds in this tree must not swap the binary mid-run.
cp target/release/keepalived-rs "$work/keepalived-rs"
rs_bin=$work/keepalived-rs
ka_bin=/usr/sbin/keepalived

p="vb$$"
hosts=(lb1 lb2 cli)
cleanup() {
  local rc=$?
  for h in "${hosts[@]}"; do
    ip netns pids "$p$h" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  done
  for h in "${hosts[@]}"; do ip netns del "$p$h" 2>/dev/null || true; done
  ip netns del "${p}sw" 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ] || [ $rc -ne 0 ] || grep -qs '^anomaly' "$work/results.tsv"; then
    echo "work directory kept: $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers (python)
cat > "$work/helper.py" <<'PY'
import os, struct, sys, statistics

def read_pcap(path):
    """(time_s, src_ip, ttl, version, vrid, prio) for each IPv4 VRRP frame."""
    out = []
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return out
    magic = data[:4]
    if magic == b'\xd4\xc3\xb2\xa1': e, div = '<', 1e6
    elif magic == b'\xa1\xb2\xc3\xd4': e, div = '>', 1e6
    elif magic == b'\x4d\x3c\xb2\xa1': e, div = '<', 1e9
    elif magic == b'\xa1\xb2\x3c\x4d': e, div = '>', 1e9
    else: raise SystemExit('not a pcap file: %s' % path)
    linktype = struct.unpack(e + 'I', data[20:24])[0]
    assert linktype == 1, 'expected Ethernet captures, got linktype %d' % linktype
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(e + 'IIII', data[off:off + 16])
        pkt = data[off + 16: off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 14 + 20 or pkt[12:14] != b'\x08\x00':
            continue
        ip = pkt[14:]
        if ip[9] != 112:
            continue
        ihl = (ip[0] & 0x0f) * 4
        v = ip[ihl:]
        if len(v) < 3:
            continue
        out.append((sec + frac / div, '%d.%d.%d.%d' % tuple(ip[12:16]), ip[8], v[0] >> 4, v[1], v[2]))
    return out

def protocol_gap(version, adv, prio):
    skew = (256 - prio) / 256.0
    return 3 * adv + (skew if version == 2 else skew * adv)

def gap(pcap, master, backup, version, adv, prio, t_kill):
    version, adv, prio, t_kill = int(version), float(adv), int(prio), float(t_kill)
    pk = read_pcap(pcap)
    want = protocol_gap(version, adv, prio) * 1e3
    notes = []
    bad = [x for x in pk if x[2] != 255 or x[3] != version]
    if bad:
        notes.append('%d adverts with ttl!=255 or version!=%d' % (len(bad), version))
    first_b = next((i for i, x in enumerate(pk) if x[1] == backup), None)
    if first_b is None:
        print('NA\t%.3f\tNA\tNA\tNA\tno advert from the backup in the capture' % want)
        return
    if pk[first_b][0] < t_kill:
        notes.append('backup adverted %.1f ms BEFORE the kill' % ((t_kill - pk[first_b][0]) * 1e3))
    ms = [x[0] for x in pk[:first_b] if x[1] == master]   # priority 0 included
    if not ms:
        print('NA\t%.3f\tNA\tNA\tNA\tno master advert before the backup\'s first' % want)
        return
    if pk[first_b][5] != prio:
        notes.append('backup\'s first advert has priority %d' % pk[first_b][5])
    g = (pk[first_b][0] - ms[-1]) * 1e3
    # lateness of adverts: largest interval minus the advert interval
    m_late = max((b - a - adv) * 1e3 for a, b in zip(ms, ms[1:])) if len(ms) > 1 else float('nan')
    bs = [x[0] for x in pk[first_b:] if x[1] == backup]
    b_late = max((b - a - adv) * 1e3 for a, b in zip(bs, bs[1:])) if len(bs) > 1 else float('nan')
    zero = [x for x in pk[:first_b] if x[1] == master and x[5] == 0]
    if zero:
        notes.append('the master sent a priority-0 advert (a graceful stop, not a crash)')
    late_master = [x for x in pk[first_b:] if x[1] == master]
    if late_master:
        notes.append('%d master adverts after the takeover' % len(late_master))
    print('%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%s' % (g, want, g - want, m_late, b_late, '; '.join(notes) or '-'))

def ticks(*pids):
    u = s_ = 0
    for pid in pids:
        with open('/proc/%s/stat' % pid) as f:
            s = f.read()
        fields = s[s.rindex(')') + 2:].split()
        u += int(fields[11]); s_ += int(fields[12])   # utime, stime (fields 14, 15)
    print('%d:%d' % (u, s_))

def mem(*pids):
    rss = pss = lck = 0
    for pid in pids:
        with open('/proc/%s/smaps_rollup' % pid) as f:
            for line in f:
                k, _, rest = line.partition(':')
                if k == 'Rss': rss += int(rest.split()[0])
                elif k == 'Pss': pss += int(rest.split()[0])
                elif k == 'Locked': lck += int(rest.split()[0])
    print('%d\t%d\t%d' % (rss, pss, lck))

def cpu(t0, t1, ticks0, ticks1, hz):
    dt = float(t1) - float(t0)
    (u0, s0), (u1, s1) = (map(int, ticks0.split(':')), map(int, ticks1.split(':')))
    us, ss = (u1 - u0) / float(hz), (s1 - s0) / float(hz)
    cpu_s = us + ss
    print('%.2f\t%.2f\t%.2f\t%.2f' % (100.0 * cpu_s / dt, 1e3 * cpu_s / dt, 1e3 * us / dt, 1e3 * ss / dt))

def fmt(x, nd=1):
    return ('%.' + str(nd) + 'f') % x

def summary(path, runs, window):
    rows = [l.rstrip('\n').split('\t') for l in open(path) if l.strip()]
    names = {'rs': 'keepalived-rs', 'ka': 'keepalived'}
    out = []
    # 1. wire gap
    out.append('### Wire gap after a crash (SIGKILL + link down), %s runs each\n' % runs)
    out.append('Deviation = wire gap - protocol value (3 x advert + skew, backup priority 100), ms. '
               '"late" = largest advert interval minus advert_int, master before / backup after the takeover.\n')
    out.append('| config | protocol value | daemon | deviation min / median / max | within ±1 ms | late master / backup (max) | runs ok |')
    out.append('| --- | --- | --- | --- | --- | --- | --- |')
    for cfg in ('v2/1', 'v3/0.1', 'v3/0.01'):
        for impl in ('rs', 'ka'):
            r = [x for x in rows if x[0] == 'gap' and x[1] == impl and x[2] == cfg]
            if not r:
                continue
            ok = [x for x in r if x[6] != 'NA']
            want = float(r[0][5])
            if ok:
                d = sorted(float(x[6]) for x in ok)
                dev = '%+.2f / %+.2f / %+.2f' % (d[0], statistics.median(d), d[-1])
                within = 'yes' if all(abs(v) <= 1.0 for v in d) and len(ok) == len(r) else 'NO'
                ml = max(float(x[7]) for x in ok)
                bl = [float(x[8]) for x in ok if x[8] != 'nan']
                late = '%.2f / %s' % (ml, ('%.2f' % max(bl)) if bl else '-')
            else:
                dev, within, late = '-', 'NO', '-'
            out.append('| %s | %.1f ms | %s | %s | %s | %s | %d/%d |' % (
                cfg.replace('/', ', advert ') + ' s', want, names[impl], dev, within, late, len(ok), len(r)))
    # 2. CPU and 3. memory
    out.append('\n### CPU and memory, 100 instances, VRRPv3, advert_int 0.1 s\n')
    out.append('CPU over a %s s window per round; rounds alternate keepalived-rs and keepalived. '
               'µs per advert = CPU / adverts sent (master) or received (backup). '
               'Memory from the last valid round. A round in [brackets] was invalid (see Anomalies) '
               'and is left out of the means.\n' % window)
    out.append('| daemon | role | CPU ms/s, each round | CPU mean: % of one CPU | mean ms/s (user + sys) | µs per advert | RSS | PSS | of which mlocked | processes |')
    out.append('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    for impl in ('rs', 'ka'):
        for role in ('master', 'backup'):
            call = [x for x in rows if x[0] == 'cpu' and x[1] == impl and x[2] == role]
            c = [x for x in call if x[8] == 'ok']
            m = [x for x in rows if x[0] == 'mem' and x[1] == impl and x[2] == role and x[8] == 'ok']
            rate = [float(x[3]) for x in rows if x[0] == 'rate' and x[1] == impl and x[4] == 'ok']
            each = ' / '.join(x[5] if x[8] == 'ok' else '[%s]' % x[5] for x in call)
            if not c or not m:
                if call:
                    out.append('| %s | %s | %s | no valid round | | | | | | |' % (names[impl], role, each))
                continue
            mean = lambda k: statistics.mean(float(x[k]) for x in c)
            m = m[-1]
            out.append('| %s | %s | %s | %.2f %% | %.1f (%.1f + %.1f) | %.1f | %.1f MiB | %.1f MiB | %.1f MiB | %s |' % (
                names[impl], role, each, mean(4), mean(5), mean(6), mean(7),
                1e3 * mean(5) / statistics.mean(rate), int(m[4]) / 1024, int(m[5]) / 1024, int(m[6]) / 1024, m[7]))
    for impl in ('rs', 'ka'):
        r = [x[3] if x[4] == 'ok' else '[%s]' % x[3] for x in rows if x[0] == 'rate' and x[1] == impl]
        if r:
            out.append('\n%s: %s frames/s received by the client during the windows (expected 1000 adverts/s).' % (
                names[impl], ' / '.join(r)))
    # 4. start to VIP
    out.append('\n### Start to VIP (master alone, 1 instance, priority 150), %s runs each\n' % runs)
    out.append('| config | protocol wait (3 x advert + skew) | daemon | start-to-VIP min / median / max | median - protocol wait |')
    out.append('| --- | --- | --- | --- | --- |')
    for cfg in ('v3/0.1', 'v2/1'):
        for impl in ('rs', 'ka'):
            r = [x for x in rows if x[0] == 'start' and x[1] == impl and x[2] == cfg]
            ok = sorted(float(x[4]) for x in r if x[4] != 'NA')
            if not r:
                continue
            want = float(r[0][5])
            if ok:
                med = statistics.median(ok)
                out.append('| %s | %.1f ms | %s | %.1f / %.1f / %.1f ms | %+.1f ms |' % (
                    cfg.replace('/', ', advert ') + ' s', want, names[impl], ok[0], med, ok[-1], med - want))
            else:
                out.append('| %s | %.1f ms | %s | never | - |' % (cfg, want, names[impl]))
    # targets
    out.append('\n### Targets\n')
    g = [x for x in rows if x[0] == 'gap' and x[1] == 'rs']
    if g:
        gaps_ok = all(x[6] != 'NA' and abs(float(x[6])) <= 1.0 for x in g)
        out.append('- wire gap within ±1 ms of the protocol value (keepalived-rs, every run): **%s**' % ('pass' if gaps_ok else 'FAIL'))
    for role in ('master', 'backup'):
        ok = lambda x, impl: x[0] == 'cpu' and x[1] == impl and x[2] == role and x[8] == 'ok'
        c = {impl: statistics.mean(float(x[5]) for x in rows if ok(x, impl))
             for impl in ('rs', 'ka') if any(ok(x, impl) for x in rows)}
        if 'rs' in c and 'ka' in c:
            out.append('- CPU of the %s at most half of keepalived\'s (mean of valid rounds): %.2f vs %.2f ms/s (ratio %.2f): **%s**' % (
                role, c['rs'], c['ka'], c['rs'] / c['ka'] if c['ka'] else float('inf'),
                'pass' if c['rs'] <= c['ka'] / 2 else 'FAIL'))
    for role in ('master', 'backup'):
        m = {x[1]: int(x[5]) for x in rows if x[0] == 'mem' and x[2] == role and x[8] == 'ok'}
        if 'rs' in m and 'ka' in m:
            out.append('- PSS of the %s at most keepalived\'s: %.1f vs %.1f MiB: **%s**' % (
                role, m['rs'] / 1024, m['ka'] / 1024, 'pass' if m['rs'] <= m['ka'] else 'FAIL'))
    an = [x for x in rows if x[0] == 'anomaly']
    out.append('\n### Anomalies\n')
    if an:
        for x in an:
            out.append('- %s: %s' % (names.get(x[1], x[1]), x[2]))
    else:
        out.append('- none')
    print('\n'.join(out))

if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    {'gap': gap, 'ticks': ticks, 'mem': mem, 'cpu': cpu, 'summary': summary,
     'protocol': lambda v, a, p: print('%.3f' % (protocol_gap(int(v), float(a), int(p)) * 1e3))}[cmd](*args)
PY
py() { python3 "$work/helper.py" "$@"; }
results=$work/results.tsv
: > "$results"
record() { (IFS=$'\t'; echo "$*") >> "$results"; }
anomaly() { echo "   !! $1: $2" >&2; record anomaly "$1" "$2"; }
now() { echo "$EPOCHREALTIME"; }
ms_since() { python3 -c "import sys; print('%.1f' % ((float(sys.argv[2]) - float(sys.argv[1])) * 1e3))" "$1" "$2"; }

# ---------------------------------------------------------------- the lab
net=10.88.0
vip=$net.100
ip netns add "${p}sw"
ip -n "${p}sw" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
ip -n "${p}sw" link set br0 up
declare -A addr=([lb1]=$net.11 [lb2]=$net.12 [cli]=$net.50)
i=0
for h in "${hosts[@]}"; do
  i=$((i + 1))
  ip netns add "$p$h"
  ip link add "${p}v$i" netns "$p$h" type veth peer name "port$i" netns "${p}sw"
  ip -n "${p}sw" link set "port$i" master br0 up
  ip -n "$p$h" link set "${p}v$i" name eth0
  ip -n "$p$h" link set eth0 address "02:88:00:00:00:1$i"
  ip netns exec "$p$h" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
    net.ipv6.conf.eth0.accept_dad=0 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0 \
    net.ipv4.conf.all.arp_accept=1 net.ipv4.conf.eth0.arp_accept=1
  ip -n "$p$h" addr add "${addr[$h]}/24" dev eth0
  ip -n "$p$h" link set eth0 up
  ip -n "$p$h" link set lo up
done

# conf VERSION ADVERT PRIORITY COUNT: 1 instance (VRID 51, VIP $vip) or COUNT
# instances (VRID k, VIP 10.88.1.k/32)
conf() {
  echo "global_defs {"
  echo "    router_id bench"
  echo "}"
  local k
  for k in $(seq "$4"); do
    local vrid=$k v=10.88.1.$k/32
    if [ "$4" -eq 1 ]; then vrid=51; v=$vip/24; fi
    cat <<EOF
vrrp_instance VI_$k {
    state BACKUP
    interface eth0
    virtual_router_id $vrid
    priority $3
    advert_int $2
    version $1
    virtual_ipaddress {
        $v dev eth0
    }
}
EOF
  done
}

# start IMPL HOST CONF: the daemon in the background, log next to CONF
start() {
  local impl=$1 h=$2 cf=$3 tag=$1-$2
  local log=${cf%.conf}.log
  rm -f "$work/$tag".*pid
  if [ "$impl" = rs ]; then
    ip netns exec "$p$h" env KEEPALIVED_RS_LOG="${RS_LOG:-info}" "$rs_bin" -n -l -P -f "$cf" -p "$work/$tag.pid" -r "$work/$tag.vrrp.pid" \
      -c "$work/$tag.chk.pid" -b "$work/$tag.bfd.pid" > "$log" 2>&1 &
  else
    ip netns exec "$p$h" "$ka_bin" -n -l -P -f "$cf" -p "$work/$tag.pid" -r "$work/$tag.vrrp.pid" \
      -c "$work/$tag.chk.pid" -b "$work/$tag.bfd.pid" > "$log" 2>&1 &
  fi
  disown
}
pids() { ip netns pids "$p$1" 2>/dev/null | sort -n | tr '\n' ' '; }
# kill every process in a director's namespace, then put its eth0 back as new
reset() {
  local h=$1 k
  ip netns pids "$p$h" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  for k in $(seq 200); do [ -z "$(pids "$h")" ] && break; sleep 0.01; done
  [ -z "$(pids "$h")" ] || { echo "cannot empty namespace $p$h" >&2; exit 1; }
  ip -n "$p$h" -4 addr flush dev eth0
  ip -n "$p$h" addr add "${addr[$h]}/24" dev eth0
  ip -n "$p$h" link set eth0 up
}
has_vip() { [[ $(ip -n "$p$1" -o -4 addr show dev eth0) == *" $2/"* ]]; }
n_vips() { ip -n "$p$1" -o -4 addr show dev eth0 | grep -c ' 10\.88\.1\.' || true; }
# wait_vip HOST VIP TIMEOUT_S: poll every 5 ms
wait_vip() {
  local end; end=$(python3 -c "import sys; print(int(sys.argv[1].replace('.', '')) + int(float(sys.argv[2]) * 1e6))" "$EPOCHREALTIME" "$3")
  while ! has_vip "$1" "$2"; do
    [ "${EPOCHREALTIME/./}" -lt "$end" ] || return 1
    sleep 0.005
  done
}
fsleep() { sleep "$(python3 -c "import sys; print('%.3f' % eval(sys.argv[1]))" "$1")"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

echo "== keepalived-rs $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo '+dirty'), $($ka_bin --version 2>&1 | head -1)"
echo "== $(uname -r), $(nproc) CPUs, load average at start: $(loadavg)"
echo "== work directory: $work; runs: $runs; CPU window: $window s"
load_start=$(loadavg)
t_start=$EPOCHREALTIME

# ---------------------------------------------------------------- 1. wire gap
# failover IMPL VERSION ADVERT RUN
failover() {
  local impl=$1 ver=$2 adv=$3 run=$4 cfg=v$2/$3
  local tag="$impl-v$ver-$adv-$run"
  reset lb1; reset lb2
  conf "$ver" "$adv" 150 1 > "$work/$tag-lb1.conf"
  conf "$ver" "$adv" 100 1 > "$work/$tag-lb2.conf"
  start "$impl" lb1 "$work/$tag-lb1.conf"
  start "$impl" lb2 "$work/$tag-lb2.conf"
  if ! wait_vip lb1 "$vip" "$(python3 -c "print(4 * $adv + 10)")"; then
    anomaly "$impl" "$cfg run $run: the VIP never reached lb1 (log: $tag-lb1.log)"
    record gap "$impl" "$cfg" "$run" NA "$(py protocol "$ver" "$adv" 100)" NA NA NA
    return
  fi
  fsleep "max($adv, 0.2)"
  if has_vip lb2 "$vip"; then anomaly "$impl" "$cfg run $run: VIP on both directors before the kill"; fi
  local pcap=$work/$tag.pcap
  ip netns exec "${p}cli" tcpdump -i eth0 --immediate-mode -Z root -U -n -s 128 -w "$pcap" 'ip proto 112' \
    2> "$work/$tag.tcpdump" &
  local tcpd=$!
  local k
  for k in $(seq 200); do grep -qs 'listening on' "$work/$tag.tcpdump" && break; sleep 0.01; done
  # at least two master adverts in the capture, then a fault at a random phase
  fsleep "max(2.05 * $adv, 0.3) + $adv * $RANDOM / 32768"
  # A crash of every process of the master. SIGSTOP first: with a plain
  # `ip netns pids | xargs kill -9`, keepalived's parent can die before its
  # VRRP child is hit, and the child (PDEATHSIG=SIGTERM) then sends a
  # priority-0 advert: a graceful stop, not a crash (seen in 2 of 5 runs).
  local t_kill=$EPOCHREALTIME victims; victims=$(pids lb1)
  # shellcheck disable=SC2086
  kill -STOP $victims; kill -KILL $victims
  ip -n "${p}lb1" link set eth0 down
  if ! wait_vip lb2 "$vip" "$(python3 -c "print(4 * $adv + 3)")"; then
    anomaly "$impl" "$cfg run $run: the backup never took the VIP (log: $tag-lb2.log)"
  fi
  fsleep "max(1.2 * $adv, 0.3)"
  kill -INT "$tcpd"; wait "$tcpd" || true
  local g; g=$(py gap "$pcap" "${addr[lb1]}" "${addr[lb2]}" "$ver" "$adv" 100 "$t_kill")
  IFS=$'\t' read -r gap_ms want dev mlate blate notes <<< "$g"
  printf '   %-3s %-8s run %d: wire gap %s ms (protocol %s, deviation %s), late master/backup %s/%s ms %s\n' \
    "$impl" "$cfg" "$run" "$gap_ms" "$want" "$dev" "$mlate" "$blate" "$([ "$notes" = - ] || echo "[$notes]")"
  [ "$notes" = - ] || anomaly "$impl" "$cfg run $run: $notes (capture $tag.pcap)"
  record gap "$impl" "$cfg" "$run" "$gap_ms" "$want" "$dev" "$mlate" "$blate"
  reset lb1; reset lb2
}

[[ $phases == *" gap "* ]] && echo "== 1. wire gap after SIGKILL + link down of the master"
[[ $phases == *" gap "* ]] && for va in ${GAP_CONFIGS:-2/1 3/0.1 3/0.01}; do
  IFS=/ read -r ver adv <<< "$va"
  for run in $(seq "$runs"); do
    for impl in rs ka; do failover "$impl" "$ver" "$adv" "$run"; done
  done
done

# ---------------------------------------------------------------- 2+3. CPU and memory
# steady IMPL ROUND: 100 instances v3/0.1 on lb1 (150) and lb2 (100)
steady() {
  local impl=$1 round=$2
  reset lb1; reset lb2
  conf 3 0.1 150 100 > "$work/$impl-100-lb1.conf"
  conf 3 0.1 100 100 > "$work/$impl-100-lb2.conf"
  start "$impl" lb1 "$work/$impl-100-lb1.conf"
  start "$impl" lb2 "$work/$impl-100-lb2.conf"
  # a round with any anomaly is reported but left out of the means
  local bad=ok
  bad() { bad=bad; anomaly "$impl" "100 instances, round $round: $1 (logs: $impl-100-lb1.log, $impl-100-lb2.log)"; }
  local end=$((SECONDS + 20))
  while [ "$(n_vips lb1)" -ne 100 ] && [ $SECONDS -lt $end ]; do sleep 0.01; done
  if [ "$(n_vips lb1)" -ne 100 ]; then
    bad "only $(n_vips lb1) VIPs on the master ($(n_vips lb2) on the backup) after 20 s"
  fi
  sleep "$settle"
  local p1 p2; p1=$(pids lb1); p2=$(pids lb2)
  local rx0; rx0=$(ip netns exec "${p}cli" cat /sys/class/net/eth0/statistics/rx_packets)
  local t0=$EPOCHREALTIME
  # shellcheck disable=SC2086
  local a0 b0; a0=$(py ticks $p1); b0=$(py ticks $p2)
  sleep "$window"
  # shellcheck disable=SC2086
  local a1 b1; a1=$(py ticks $p1); b1=$(py ticks $p2)
  local t1=$EPOCHREALTIME
  local rx1; rx1=$(ip netns exec "${p}cli" cat /sys/class/net/eth0/statistics/rx_packets)
  [ "$(pids lb1)" = "$p1" ] || bad "master processes changed during the window ($p1 -> $(pids lb1))"
  [ "$(pids lb2)" = "$p2" ] || bad "backup processes changed during the window ($p2 -> $(pids lb2))"
  [ "$(n_vips lb1)" -eq 100 ] || bad "master holds $(n_vips lb1) VIPs at the end of the window"
  [ "$(n_vips lb2)" -eq 0 ] || bad "backup holds $(n_vips lb2) VIPs at the end of the window"
  local rate; rate=$(python3 -c "import sys; print('%.0f' % ((int(sys.argv[2]) - int(sys.argv[1])) / (float(sys.argv[4]) - float(sys.argv[3]))))" "$rx0" "$rx1" "$t0" "$t1")
  [ "$rate" -ge 980 ] && [ "$rate" -le 1020 ] || bad "$rate frames/s at the client, not 1000"
  local hz; hz=$(getconf CLK_TCK)
  local c
  c=$(py cpu "$t0" "$t1" "$a0" "$a1" "$hz"); record cpu "$impl" master "$round" $c "$bad"
  echo "   $impl master: CPU $(cut -f1 <<< "$c") % ($(cut -f2 <<< "$c") ms/s; user $(cut -f3 <<< "$c"), sys $(cut -f4 <<< "$c")), pids $p1"
  c=$(py cpu "$t0" "$t1" "$b0" "$b1" "$hz"); record cpu "$impl" backup "$round" $c "$bad"
  echo "   $impl backup: CPU $(cut -f1 <<< "$c") % ($(cut -f2 <<< "$c") ms/s; user $(cut -f3 <<< "$c"), sys $(cut -f4 <<< "$c")), pids $p2"
  local m
  # shellcheck disable=SC2086
  m=$(py mem $p1); record mem "$impl" master "$round" $m "$(wc -w <<< "$p1")" "$bad"
  echo "   $impl master: RSS/PSS/locked $(tr '\t' / <<< "$m") KiB"
  # shellcheck disable=SC2086
  m=$(py mem $p2); record mem "$impl" backup "$round" $m "$(wc -w <<< "$p2")" "$bad"
  echo "   $impl backup: RSS/PSS/locked $(tr '\t' / <<< "$m") KiB"
  record rate "$impl" "$round" "$rate" "$bad"
  echo "   $impl: $rate frames/s at the client (round $round: $bad)"
  reset lb1; reset lb2
}

if [[ $phases == *" cpu "* ]]; then
  echo "== 2+3. CPU and memory: 100 instances, v3, advert 0.1 s, ${window} s window after ${settle} s, $cpu_rounds rounds"
  for round in $(seq "$cpu_rounds"); do
    for impl in rs ka; do steady "$impl" "$round"; done
  done
fi

# ---------------------------------------------------------------- 4. start to VIP
startvip() {
  local impl=$1 ver=$2 adv=$3 run=$4 cfg=v$2/$3
  local tag="$impl-start-v$ver-$adv-$run"
  reset lb1; reset lb2
  conf "$ver" "$adv" 150 1 > "$work/$tag.conf"
  local want; want=$(py protocol "$ver" "$adv" 150)
  local t0=$EPOCHREALTIME
  start "$impl" lb1 "$work/$tag.conf"
  if wait_vip lb1 "$vip" "$(python3 -c "print(4 * $adv + 10)")"; then
    local t1=$EPOCHREALTIME d; d=$(ms_since "$t0" "$t1")
    echo "   $impl $cfg run $run: VIP after $d ms (protocol wait $want ms)"
    record start "$impl" "$cfg" "$run" "$d" "$want"
  else
    anomaly "$impl" "start $cfg run $run: no VIP"
    record start "$impl" "$cfg" "$run" NA "$want"
  fi
  reset lb1
}

[[ $phases == *" start "* ]] && echo "== 4. start to VIP (master alone)"
[[ $phases == *" start "* ]] && for va in "3 0.1" "2 1"; do
  read -r ver adv <<< "$va"
  for run in $(seq "$runs"); do
    for impl in rs ka; do startvip "$impl" "$ver" "$adv" "$run"; done
  done
done

# crash check: a daemon that died on its own shows in its log
for f in "$work"/*.log; do
  if grep -qiE 'panick|panicked|segfault|fatal' "$f"; then
    anomaly "$(basename "$f" .log)" "log mentions a crash: $(grep -iE -m1 'panick|panicked|segfault|fatal' "$f")"
  fi
done

echo
echo "load average at start: $load_start; at end: $(loadavg); duration $(ms_since "$t_start" "$EPOCHREALTIME" | cut -d. -f1) ms"
echo
py summary "$results" "$runs" "$window"
