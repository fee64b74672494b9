#!/usr/bin/env bash
# Benchmark: parse and validate a generated configuration (default 2,000
# virtual servers x 10 real servers with TCP_CHECK, ~156,000 lines), with
# keepalived-rs -t and Debian's keepalived -t on the same file, same run.
# Reports min/median/max wall time over RUNS runs and peak RSS.
# Usage: bench/config-parse.sh [N_VS] [N_RS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}; m=${2:-10}; runs=${3:-10}
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/gen-config.py "$n" "$m" > "$work/big.conf"
lines=$(wc -l < "$work/big.conf")
echo "config: $n virtual servers x $m real servers, $lines lines"

measure() { # name cmd...
  local name=$1; shift
  local times=() cpus=() rss=0
  for _ in $(seq "$runs"); do
    local t0 t1 r
    t0=$(date +%s%N)
    /usr/bin/time -f '%M %U %S' -o "$work/rss" "$@" >/dev/null 2>&1 || true
    r=$(tail -1 "$work/rss" | cut -d' ' -f1)
    cpus+=("$(tail -1 "$work/rss" | awk '{ printf "%.2f", $2 + $3 }')")
    t1=$(date +%s%N)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')")
    [ "$r" -gt "$rss" ] && rss=$r
  done
  local sorted; sorted=$(printf '%s\n' "${times[@]}" | sort -n)
  local min med max
  min=$(echo "$sorted" | head -1); max=$(echo "$sorted" | tail -1)
  med=$(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")
  local csorted cmin cmed
  csorted=$(printf '%s\n' "${cpus[@]}" | sort -n)
  cmin=$(echo "$csorted" | head -1); cmed=$(echo "$csorted" | sed -n "$(( (runs + 1) / 2 ))p")
  printf '%-14s wall min/median/max %s / %s / %s s   CPU (user+sys) min/median %s / %s s   peak RSS %s KiB\n' \
    "$name" "$min" "$med" "$max" "$cmin" "$cmed" "$rss"
}

measure keepalived-rs target/release/keepalived-rs -t -f "$work/big.conf"
if command -v keepalived >/dev/null; then
  measure keepalived keepalived -t -f "$work/big.conf"
else
  echo "keepalived not installed: apt-get install keepalived" >&2
fi
