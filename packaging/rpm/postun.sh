# serverd %postun. $1 is 0 on removal, 1 or more on upgrade (nothing to do then: %post of the
# new package already handed the server over to the new binary).
[ -d /run/systemd/system ] && systemctl daemon-reload >/dev/null 2>&1 || :
exit 0
