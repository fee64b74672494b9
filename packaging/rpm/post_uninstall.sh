# keepalived-rs %postun ($1: 0 on removal, 1 on upgrade).
# systemd forgets the removed or replaced unit; on removal the runtime
# directory (control socket) goes too. No restart on upgrade.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ "$1" -eq 0 ]; then
    rm -rf /run/keepalived-rs
fi
exit 0
