# serverd %pre: the system user and group the workers run as.
getent group serverd >/dev/null || groupadd -r serverd
getent passwd serverd >/dev/null || \
    useradd -r -g serverd -d /nonexistent -M -s /sbin/nologin -c "serverd web server" serverd
exit 0
