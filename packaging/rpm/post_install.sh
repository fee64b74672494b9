# keepalived-rs %post ($1: 1 on install, 2 on upgrade).
# As the .deb: systemd learns the unit; the service is neither enabled nor
# started (write /etc/keepalived/keepalived.conf first), and an upgrade does
# not restart a running daemon (a director's VIPs would move).
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
exit 0
