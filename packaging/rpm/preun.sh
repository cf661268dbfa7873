# serverd %preun. $1 is 0 on removal (stop and disable), 1 or more on upgrade (keep serving).
[ "$1" -eq 0 ] || exit 0
if [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now serverd.service >/dev/null 2>&1 || :
elif command -v systemctl >/dev/null 2>&1; then
    systemctl --no-reload disable serverd.service >/dev/null 2>&1 || :
fi
# Started by hand (or no systemd): graceful QUIT, then TERM, each bounded.
pf=$(/usr/sbin/serverd -T -c /etc/serverd/server.toml 2>/dev/null |
     sed -n 's/^pid_file = "\(.*\)"$/\1/p' | head -n 1)
if [ -n "$pf" ] && [ -s "$pf" ]; then
    pid=$(head -n 1 "$pf")
    if [ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null; then
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
    fi
fi
exit 0
