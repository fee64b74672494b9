#!/bin/bash
# Health hook for keepalived(-rs): exit 0 while the local nginx answers an
# HTTP request with a 2xx or 3xx status.  Plain bash (/dev/tcp), so it needs
# no curl.  Keep it next to keepalived.conf, owned by root, mode 0755.
#
#   check_nginx.sh [HOST [PORT]]     (default 127.0.0.1 80)
#
# keepalived-rs kills it (and anything it started) at the vrrp_script
# timeout, which counts as a failure; the read below gives up earlier.
host=${1:-127.0.0.1}
port=${2:-80}
exec 2>/dev/null 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET / HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$host" >&3
IFS= read -r -t 1 status <&3 || exit 1
case $status in
HTTP/1.[01]\ [23][0-9][0-9]*) exit 0 ;;
esac
exit 1
