# keepalived-rs %preun ($1: 0 on removal, 1 on upgrade).
# On removal only: stop the daemon (a graceful stop: priority-0 adverts, VIPs
# and IPVS entries released) and disable the unit.
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now keepalived-rs.service >/dev/null 2>&1 || :
fi
exit 0
