#!/bin/sh
# notify script for conf/mysql-dual-master. keepalived-rs calls it as
#   notify.sh INSTANCE NAME STATE PRIORITY
# on every state change of VI_MYSQL. The node that takes the write VIP is made
# writable; a node that loses it is made read-only, so a split brain cannot
# leave two writers.
set -u
TYPE="${1:-}" NAME="${2:-}" STATE="${3:-}" PRIO="${4:-}"
DEFAULTS="${MYSQL_DEFAULTS_FILE:-/etc/mysql/debian.cnf}"

log() { logger -t keepalived-mysql -- "$NAME: $*"; }

set_read_only() {
    if mysql --defaults-file="$DEFAULTS" --connect-timeout=3 \
        -e "SET GLOBAL read_only = $1" >/dev/null 2>&1; then
        log "read_only=$1"
    else
        log "could not set read_only=$1"
    fi
}

log "$TYPE $NAME is now $STATE (priority $PRIO)"
case "$STATE" in
    MASTER) set_read_only OFF ;;
    BACKUP|FAULT|STOP) set_read_only ON ;;
esac
exit 0
