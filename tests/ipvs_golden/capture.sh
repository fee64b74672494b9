#!/bin/sh
# Runs in the IPVS guest (../shared/ipvs-vm/run-in-ipvs-vm.sh -w DIR): for
# each stripped config in $1, run Debian keepalived 2.2.7 checker-only,
# record `ipvsadm -Ln` once converged and what is left after SIGTERM.
# Usage (host): run-in-ipvs-vm.sh -w OUT sh capture.sh CONFDIR OUT
confdir=$1; out=$2
mkdir -p "$out"
for c in "$confdir"/*.conf; do
  n=$(basename "$c" .conf)
  ipvsadm -C
  keepalived -n -l -C -f "$c" -p /tmp/k.pid -c /tmp/c.pid >"$out/$n.log" 2>&1 &
  k=$!
  # converged: the table stops changing
  prev=x; i=0
  while [ $i -lt 40 ]; do
    sleep 0.5
    cur=$(ipvsadm -Ln 2>/dev/null | md5sum)
    [ "$cur" = "$prev" ] && [ $i -ge 3 ] && break
    prev=$cur; i=$((i+1))
  done
  ipvsadm -Ln > "$out/$n.ipvsadm" 2>&1
  kill -TERM $k; wait $k
  ipvsadm -Ln > "$out/$n.after-stop" 2>&1
done
echo captured
