#!/usr/bin/env bash
# Reverse-proxy throughput and idle-connection memory: serverd against Debian's nginx and
# HAProxy on the same machine, proxying to the same backend.
#
#   bench/proxy.sh [--rounds N] [--duration 10s] [--connections 64] [--idle 10000]
#
# The backend is Debian's nginx serving one 1 KiB file (one worker, access_log off,
# keepalive_requests 100000). In front of it, each on its own port:
#   serverd  build/serverd or $SERVERD; worker_processes = 1, upstream keepalive = 64
#   nginx    worker_processes 1, upstream keepalive 64, proxy_http_version 1.1,
#            proxy_set_header Connection "", access_log off
#   HAProxy  nbthread 1, mode http, http-reuse always, no logging
# After a warm-up it runs `wrk -t1 -cC -dD --latency` against each proxy in turn, rotating the
# order every round, for N rounds; prints requests/s, p50 and p99 per run, the medians and the
# ratios serverd/nginx and serverd/HAProxy. Then, for each proxy, it opens --idle keep-alive
# client connections (one request each, then idle) and prints the RSS growth of the proxy's
# worker process(es) divided by the number of connections: bytes per idle connection.
# Installs wrk, nginx-light, haproxy and curl when missing (as root). Loopback only;
# everything it starts is stopped on exit.
#
# Environment: SERVERD (binary), ROUNDS, DURATION, CONNECTIONS, IDLE, WARMUP (default 3s),
# BASE_PORT (default 18180), KEEP_TMP=1 keeps the temporary directory (configs, logs, wrk output).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/common.sh
source "$root/scripts/common.sh"
# shellcheck source=bench/common.sh
source "$root/bench/common.sh"

usage() { sed -n '2,24s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

idle=${IDLE:-10000}
bench_option() {
  case $1 in -i | --idle) idle=${2:?--idle needs a value} bench_used=2 ;; esac
}
bench_parse_args "$@"
[[ $idle =~ ^[0-9]+$ ]] || die "--idle must be a non-negative integer"

serverd=${SERVERD:-$root/build/serverd}
warmup=${WARMUP:-3s}

ensure_packages wrk nginx-light haproxy curl python3
require_serverd
find_nginx
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
[[ -x $haproxy ]] || die "haproxy not found"

# Idle connections need descriptors: the client holds one per connection, each proxy one (plus
# upstream ones). Raise the soft limit to the hard one (children inherit it).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -n)
if [[ $nofile != unlimited ]] && ((idle + 1024 > nofile)); then
  msg "open-file limit is $nofile: measuring $((nofile - 1024)) idle connections instead of $idle"
  idle=$((nofile - 1024))
fi
((idle >= 0)) || idle=0
fd_budget=$((idle + 1024))
# HAProxy reserves two descriptors per connection (client + server side) and refuses to start
# when maxconn does not fit the limit: it may get fewer idle connections than the others.
haproxy_maxconn=$((idle + 100))
if [[ $nofile != unlimited ]] && ((haproxy_maxconn * 2 + 200 > nofile)); then
  haproxy_maxconn=$(((nofile - 200) / 2))
fi

base=${BASE_PORT:-18180}
pick_port "" "$base"
backend_port=$port
pick_port "" "$base"
serverd_port=$port
pick_port "" "$base"
nginx_port=$port
pick_port "" "$base"
haproxy_port=$port

bench_start_tmp serverd-bench-proxy
mkdir -p "$tmp/www" "$tmp/backend-temp" "$tmp/nginx-temp"
head -c 1024 /dev/urandom >"$tmp/www/1k.bin"

# --- backend: nginx serving 1k.bin --------------------------------------------------------
cat >"$tmp/backend.conf" <<NGINX
$(nginx_user_line)
worker_processes 1;
pid $tmp/backend.pid;
error_log $tmp/backend-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  keepalive_timeout 300s;
  default_type application/octet-stream;
$(nginx_temp_paths "$tmp/backend-temp")
  server {
    listen 127.0.0.1:$backend_port backlog=4096;
    server_name localhost;
    root $tmp/www;
  }
}
NGINX

# --- serverd ------------------------------------------------------------------------------
cat >"$tmp/serverd.toml" <<TOML
[main]
pid_file = "serverd.pid"
worker_processes = 1
worker_connections = $fd_budget
worker_rlimit_nofile = $((fd_budget + 1024))

[log]
error_log = "serverd-error.log"
level = "warn"

[[upstream]]
name = "backend"
keepalive = 64
servers = [ { address = "127.0.0.1:$backend_port" } ]

[[server]]
listen = [{ address = "127.0.0.1:$serverd_port", backlog = 4096 }]
server_name = ["localhost"]
access_log = "off"
keepalive_requests = 100000
keepalive_timeout = "300s"

  [[server.location]]
  path = "/"
  proxy_pass = "http://backend"
TOML
check_serverd_conf "$tmp/serverd.toml"

# --- nginx as a reverse proxy -------------------------------------------------------------
cat >"$tmp/nginx.conf" <<NGINX
$(nginx_user_line)
worker_processes 1;
worker_rlimit_nofile $((fd_budget + 1024));
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
events { worker_connections $fd_budget; }
http {
  access_log off;
  keepalive_requests 100000;
  keepalive_timeout 300s;
$(nginx_temp_paths "$tmp/nginx-temp")
  upstream backend {
    server 127.0.0.1:$backend_port;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$nginx_port backlog=4096;
    server_name localhost;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGINX

# --- HAProxy ------------------------------------------------------------------------------
cat >"$tmp/haproxy.cfg" <<HAPROXY
global
  nbthread 1
  maxconn $haproxy_maxconn
  pidfile $tmp/haproxy.pid

defaults
  mode http
  timeout connect 5s
  timeout client 300s
  timeout server 30s
  timeout http-keep-alive 300s
  http-reuse always

frontend fe
  bind 127.0.0.1:$haproxy_port
  default_backend be

backend be
  server s1 127.0.0.1:$backend_port
HAPROXY

check_nginx_conf backend
check_nginx_conf nginx
"$haproxy" -c -q -f "$tmp/haproxy.cfg" >"$tmp/haproxy-t.out" 2>&1 ||
  die "haproxy rejects its config:
$(cat "$tmp/haproxy-t.out")"

# --- start --------------------------------------------------------------------------------
start_nginx backend
backend_pid=$!
wait_ready backend "$backend_pid" "http://127.0.0.1:$backend_port/1k.bin"
"$serverd" -c "$tmp/serverd.toml" 2>>"$tmp/serverd-error.log" &
serverd_pid=$!
bench_pids+=("$serverd_pid")
start_nginx nginx
nginx_pid=$!
"$haproxy" -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.out" 2>&1 &
haproxy_pid=$!
bench_pids+=("$haproxy_pid")

names=(serverd nginx haproxy)
declare -A port_of=([serverd]=$serverd_port [nginx]=$nginx_port [haproxy]=$haproxy_port)
declare -A pid_of=([serverd]=$serverd_pid [nginx]=$nginx_pid [haproxy]=$haproxy_pid)
for name in "${names[@]}"; do
  wait_ready "$name" "${pid_of[$name]}" "http://127.0.0.1:${port_of[$name]}/1k.bin"
  cmp -s <(curl -sf "http://127.0.0.1:${port_of[$name]}/1k.bin") "$tmp/www/1k.bin" ||
    die "$name does not proxy the file byte for byte"
done

# The processes that hold client connections: the workers (children) of serverd and nginx,
# HAProxy's single process.
workers_of() {
  case $1 in
    haproxy) echo "$haproxy_pid" ;;
    *) worker_pids "${pid_of[$1]}" ;;
  esac
}
rss_bytes() { # sum of VmRSS of the given pids, in bytes
  local p kib total=0
  for p in "$@"; do
    kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
    total=$((total + ${kib:-0} * 1024))
  done
  echo "$total"
}

# --- throughput ---------------------------------------------------------------------------
# run_wrk LABEL PORT DURATION [PROXY] -> sets rps p50 p99 errors cpu_us; keeps the raw output
# in $tmp. cpu_us: the proxy's worker CPU time (user + system) per request, in microseconds;
# wrk, the backend and the proxy share two CPUs, so requests/s partly measures the others.
run_wrk() {
  local out="$tmp/wrk-$1.out" c0=0 c1=0 workers=()
  if [[ -n ${4:-} ]]; then mapfile -t workers < <(workers_of "$4"); fi
  c0=$(cpu_ticks "${workers[@]}")
  wrk -t1 -c"$connections" -d"$3" --latency "http://127.0.0.1:$2/1k.bin" >"$out" 2>&1 ||
    die "wrk failed against $1: $(cat "$out")"
  c1=$(cpu_ticks "${workers[@]}")
  parse_wrk "$out"
  cpu_us=$(cpu_us_per_request $((c1 - c0)) "$requests")
}

print_version serverd "$serverd" -v
print_version nginx "$nginx" -v
print_version haproxy "$haproxy" -v
print_version wrk wrk -v
printf 'machine: %s CPUs, %s; %s round(s) of wrk -t1 -c%s -d%s --latency /1k.bin via each proxy\n' \
  "$(nproc)" "$(uname -sr)" "$rounds" "$connections" "$duration"

printf 'load:    %s (1/5/15 min) before the runs: figures mean little when it exceeds the CPUs\n\n' \
  "$(cut -d' ' -f1-3 /proc/loadavg)"

msg "warming up (${warmup} each)"
for name in "${names[@]}"; do run_wrk "warmup-$name" "${port_of[$name]}" "$warmup"; done

declare -A all_rps=() all_cpu=()
warnings=()
printf '%-6s %-8s %14s %10s %10s %10s\n' round proxy requests/s p50_ms p99_ms cpu_us/req
for ((round = 1; round <= rounds; round++)); do
  # Rotate who goes first: round 1 serverd nginx haproxy, round 2 nginx haproxy serverd, ...
  for ((k = 0; k < 3; k++)); do
    name=${names[$(((round - 1 + k) % 3))]}
    run_wrk "$name-r$round" "${port_of[$name]}" "$duration" "$name"
    printf '%-6s %-8s %14s %10s %10s %10s\n' "$round" "$name" "$rps" "$p50" "$p99" "$cpu_us"
    all_cpu[$name]+="$cpu_us "
    if [[ -n $errors ]]; then warnings+=("round $round, $name: $errors"); fi
    all_rps[$name]+="$rps "
  done
done
declare -A med=()
for name in "${names[@]}"; do
  # shellcheck disable=SC2086  # one value per word
  med[$name]=$(printf '%s\n' ${all_rps[$name]} | median)
done
printf '\nmedian requests/s: serverd %s, nginx %s, haproxy %s\n' \
  "${med[serverd]}" "${med[nginx]}" "${med[haproxy]}"
printf 'serverd/nginx = %s, serverd/haproxy = %s\n' \
  "$(ratio "${med[serverd]}" "${med[nginx]}")" "$(ratio "${med[serverd]}" "${med[haproxy]}")"
for name in "${names[@]}"; do
  # shellcheck disable=SC2086  # one value per word
  med[$name]=$(printf '%s\n' ${all_cpu[$name]} | median)
done
printf 'median proxy CPU us/request: serverd %s, nginx %s, haproxy %s\n' \
  "${med[serverd]}" "${med[nginx]}" "${med[haproxy]}"

# --- idle keep-alive connections ----------------------------------------------------------
cat >"$tmp/idle_client.py" <<'PY'
# idle_client.py PORT N READY_FILE HOLD_SECONDS: opens N connections to 127.0.0.1:PORT, sends
# one GET /1k.bin on each, reads the whole response, then keeps them all open and idle; writes
# "ok=K failed=F" to READY_FILE, then waits (at most HOLD_SECONDS, or until SIGTERM).
import selectors, signal, socket, sys, time
port, n, ready, hold = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
req = b"GET /1k.bin HTTP/1.1\r\nHost: localhost\r\n\r\n"
sel = selectors.DefaultSelector()
conns, done, failed = {}, 0, 0
deadline = time.monotonic() + 120
def finish(s, ok):
    global done, failed
    sel.unregister(s)
    if ok: done += 1
    else:
        failed += 1
        s.close()
started = 0
while (done + failed < n) and time.monotonic() < deadline:
    while started < n and started - done - failed < 500:   # at most 500 in flight
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        except OSError:
            failed += 1; started += 1; s.close(); continue
        conns[s] = b""
        sel.register(s, selectors.EVENT_WRITE)
        started += 1
    for key, ev in sel.select(timeout=1):
        s = key.fileobj
        if ev & selectors.EVENT_WRITE:
            try:
                s.send(req)
                sel.modify(s, selectors.EVENT_READ)
            except OSError:
                finish(s, False)
            continue
        try:
            data = s.recv(65536)
        except OSError:
            finish(s, False); continue
        if not data:
            finish(s, False); continue
        buf = conns[s] + data
        conns[s] = buf
        head_end = buf.find(b"\r\n\r\n")
        if head_end >= 0:
            length = 0
            for line in buf[:head_end].split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v.strip())
            if len(buf) >= head_end + 4 + length:
                ok = buf.startswith(b"HTTP/1.1 200")
                conns[s] = b""
                finish(s, ok)
with open(ready, "w") as f:
    f.write("ok=%d failed=%d\n" % (done, failed))
end = time.monotonic() + hold
while time.monotonic() < end:
    time.sleep(0.2)
PY

idle_bytes() { # NAME -> sets per (bytes per idle connection), ok, failed, before, after
  local name=$1 ready="$tmp/idle-$1.ready" client_pid i workers
  mapfile -t workers < <(workers_of "$name")
  ((${#workers[@]} > 0)) || die "no worker process found for $name"
  sleep 1
  before=$(rss_bytes "${workers[@]}")
  local count=$idle
  if [[ $name == haproxy ]] && ((count > haproxy_maxconn - 100)); then
    count=$((haproxy_maxconn - 100))
  fi
  python3 "$tmp/idle_client.py" "${port_of[$name]}" "$count" "$ready" 120 &
  client_pid=$!
  bench_pids+=("$client_pid")
  for ((i = 0; i < 1200; i++)); do
    [[ -s $ready ]] && break
    kill -0 "$client_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -s $ready ]] || die "the idle-connection client did not finish against $name"
  sleep 1 # let the proxy settle (buffers released after the response)
  after=$(rss_bytes "${workers[@]}")
  ok=$(sed -n 's/.*ok=\([0-9]*\).*/\1/p' "$ready")
  failed=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' "$ready")
  stop_pid "$client_pid"
  per=$(awk -v a="$after" -v b="$before" -v n="$ok" \
    'BEGIN { printf "%.0f", (n > 0 ? (a - b) / n : 0) }')
}

if ((idle > 0)); then
  printf '\nidle keep-alive connections: %s per proxy (one request each, then idle)\n' "$idle"
  if ((haproxy_maxconn - 100 < idle)); then
    printf '(HAProxy: %s, what its maxconn allows under an open-file limit of %s)\n' \
      "$((haproxy_maxconn - 100))" "$nofile"
  fi
  printf '%-8s %12s %12s %14s %14s %8s\n' proxy bytes/conn connections rss_before rss_after failed
  for name in "${names[@]}"; do
    idle_bytes "$name"
    printf '%-8s %12s %12s %14s %14s %8s\n' "$name" "$per" "$ok" "$before" "$after" "$failed"
    if ((failed > 0)); then warnings+=("idle connections to $name: $failed failed"); fi
    sleep 1
  done
fi

for w in "${warnings[@]}"; do printf 'WARNING: %s\n' "$w"; done
if ((${#warnings[@]} > 0)); then
  msg "errors during the runs: figures above are not comparable"
  exit 1
fi
