#!/bin/sh
# vrrp_script for conf/mysql-dual-master: succeed when the local mysqld
# answers within 3 seconds. keepalived-rs kills the script (and anything it
# started) after the vrrp_script timeout.
DEFAULTS="${MYSQL_DEFAULTS_FILE:-/etc/mysql/debian.cnf}"
exec mysqladmin --defaults-file="$DEFAULTS" --connect-timeout=3 ping >/dev/null 2>&1
