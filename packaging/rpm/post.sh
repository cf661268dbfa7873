# serverd %post. $1 is 1 on installation, 2 or more on upgrade.
CONF=/etc/serverd/server.toml
SERVERD=/usr/sbin/serverd

# Owned by serverd: the agent process (running as serverd) rotates the logs.
if [ ! -d /var/log/serverd ]; then
    install -d -m 0750 -o serverd -g serverd /var/log/serverd
fi
if [ ! -e /var/log/serverd/error.log ]; then
    install -m 0640 -o serverd -g serverd /dev/null /var/log/serverd/error.log
fi
[ -d /run/serverd ] || install -d -m 0755 /run/serverd

if [ "$1" -eq 1 ]; then
    # Enabled, not started (the RPM convention): systemctl start serverd.
    if command -v systemctl >/dev/null 2>&1; then
        systemctl --no-reload enable serverd.service >/dev/null 2>&1 || :
    fi
    exit 0
fi

# Upgrade of a running server: the new binary takes over the listening sockets.
[ -d /run/systemd/system ] && systemctl daemon-reload >/dev/null 2>&1 || :
pf=$("$SERVERD" -T -c "$CONF" 2>/dev/null | sed -n 's/^pid_file = "\(.*\)"$/\1/p' | head -n 1)
if [ -n "$pf" ] && [ -s "$pf" ] && kill -0 "$(head -n 1 "$pf")" 2>/dev/null; then
    echo "serverd: binary upgrade of the running server"
    if ! "$SERVERD" -s upgrade -c "$CONF"; then
        echo "serverd: binary upgrade failed; the previous binary is still serving" >&2
        if [ -d /run/systemd/system ]; then
            systemctl try-restart serverd.service || :
        fi
    fi
fi
exit 0
