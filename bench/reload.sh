#!/usr/bin/env bash
# Reloads under load: serverd against Debian's nginx on the same machine, same small body.
#
#   bench/reload.sh [--reloads 20] [--rate 4] [--duration 12s] [--connections 64]
#
# Serves a small `return` body with serverd (build/serverd, or $SERVERD) and with nginx
# (`return 200`), both with 2 worker processes and keep-alive up to 100000 requests per
# connection. For each server in turn it runs `wrk -t2 -cC -dD` and, starting 1 s into the run,
# sends N HUPs (reloads) to the master at R per second. It then prints, side by side, the
# requests served, wrk's socket errors (connect/read/write/timeout) and non-2xx/3xx responses,
# and the failed requests per reload. Installs wrk and nginx-light when missing (as root).
# Not a test: nothing here runs in CI, and the figures depend on the machine.
#
# Environment: SERVERD (binary), SERVERD_PORT and NGINX_PORT (default: the first free ports
# from 18480), KEEP_TMP=1 keeps the temporary directory (configs, error logs, wrk outputs).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/common.sh
source "$root/scripts/common.sh"
# shellcheck source=bench/common.sh
source "$root/bench/common.sh"

usage() { sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

reloads=${RELOADS:-20}
rate=${RATE:-4}
duration=${DURATION:-12s}
connections=${CONNECTIONS:-64}
while (($# > 0)); do
  case $1 in
    -n | --reloads) reloads=${2:?--reloads needs a value}; shift ;;
    -r | --rate) rate=${2:?--rate needs a value}; shift ;;
    -d | --duration) duration=${2:?--duration needs a value}; shift ;;
    -c | --connections) connections=${2:?--connections needs a value}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
[[ $reloads =~ ^[1-9][0-9]*$ ]] || die "--reloads must be a positive integer, not '$reloads'"
[[ $rate =~ ^[1-9][0-9]*$ ]] || die "--rate must be a positive integer (reloads per second)"
[[ $connections =~ ^[1-9][0-9]*$ ]] || die "--connections must be a positive integer"
[[ $duration =~ ^[1-9][0-9]*s$ ]] || die "--duration must be whole seconds, like 12s"
# The reloads must fit in the run, with time left for the last old generation to drain.
reload_span=$(awk -v n="$reloads" -v r="$rate" 'BEGIN { printf "%d", n / r + 0.999 }')
((${duration%s} >= reload_span + 3)) ||
  die "--duration ${duration} is too short for $reloads reloads at $rate/s" \
    "(need $((reload_span + 3))s)"

serverd=${SERVERD:-$root/build/serverd}
body="hello from the reload benchmark"

ensure_packages wrk nginx-light curl
require_serverd
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $nginx ]] || die "nginx not found"

serverd_port=$(pick_port "${SERVERD_PORT:-}" 18480)
nginx_port=$(pick_port "${NGINX_PORT:-}" $((serverd_port + 1)))

tmp=$(mktemp -d "${TMPDIR:-/tmp}/serverd-bench-reload.XXXXXX")
server_pid=
wrk_pid=
stop_pid() { # pid: TERM, wait up to 5 s, then KILL
  local pid=$1 i
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop_pid "$wrk_pid"
  stop_pid "$server_pid"
  if [[ ${KEEP_TMP:-0} == 1 ]]; then
    msg "kept $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$tmp/nginx-temp"

# --- serverd ------------------------------------------------------------------------------
cat >"$tmp/serverd.toml" <<TOML
[main]
pid_file = "serverd.pid"
worker_processes = 2
shutdown_timeout = "30s"

[log]
error_log = "serverd-error.log"
level = "info"

[[server]]
listen = ["127.0.0.1:$serverd_port"]
server_name = ["localhost"]
keepalive_requests = 100000

  [[server.location]]
  path = "/"
  return = { status = 200, body = "$body\n" }
TOML
"$serverd" -t -c "$tmp/serverd.toml" >"$tmp/serverd-t.out" 2>&1 ||
  die "serverd rejects the benchmark config:
$(cat "$tmp/serverd-t.out")"

# --- nginx --------------------------------------------------------------------------------
# Temp paths inside $tmp for every module compiled in, so nginx never touches /var/lib/nginx.
nginx_temp_paths=
for kind in client_body proxy fastcgi uwsgi scgi; do
  flag=--http-${kind/_/-}-temp-path
  if "$nginx" -V 2>&1 | grep -q -- "$flag"; then
    nginx_temp_paths+="  ${kind}_temp_path $tmp/nginx-temp/$kind;"$'\n'
  fi
done
nginx_user=
# A root master would switch its workers to nobody; keep them the current user, like serverd.
if ((EUID == 0)); then nginx_user="user $(id -un) $(id -gn);"; fi
cat >"$tmp/nginx.conf" <<NGINX
$nginx_user
worker_processes 2;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log notice;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000;
$nginx_temp_paths
  server {
    listen 127.0.0.1:$nginx_port;
    server_name localhost;
    location / { return 200 "$body\n"; }
  }
}
NGINX
nginx_args=(-p "$tmp" -e "$tmp/nginx-error.log" -c "$tmp/nginx.conf")
"$nginx" -t -q "${nginx_args[@]}" 2>"$tmp/nginx-t.out" ||
  die "nginx rejects the benchmark config:
$(cat "$tmp/nginx-t.out")"

# --- one measured run per server ----------------------------------------------------------
wait_ready() { # name pid port
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$2" 2>/dev/null || die "$1 exited at start-up (see KEEP_TMP=1 and its error log)"
    if [[ $(curl -sf "http://127.0.0.1:$3/" 2>/dev/null) == "$body" ]]; then return 0; fi
    sleep 0.1
  done
  die "$1 does not answer on 127.0.0.1:$3 after 10s"
}

# measure NAME PORT: starts the server, runs wrk with the reloads, stops the server; fills
# res[NAME.*].
declare -A res
measure() {
  local name=$1 port=$2 out="$tmp/wrk-$1.out" i start next now
  if [[ $name == serverd ]]; then
    "$serverd" -c "$tmp/serverd.toml" 2>>"$tmp/serverd-stderr.log" &
  else
    "$nginx" "${nginx_args[@]}" -g 'daemon off;' 2>>"$tmp/nginx-stderr.log" &
  fi
  server_pid=$!
  wait_ready "$name" "$server_pid" "$port"

  wrk -t2 -c"$connections" -d"$duration" "http://127.0.0.1:$port/" >"$out" 2>&1 &
  wrk_pid=$!
  sleep 1
  # HUPs on a fixed schedule (not "sleep after each"), so the rate holds on a busy machine.
  start=$(date +%s%N)
  for ((i = 1; i <= reloads; i++)); do
    next=$((start + i * 1000000000 / rate))
    now=$(date +%s%N)
    if ((next > now)); then
      sleep "$(awk -v ns=$((next - now)) 'BEGIN { printf "%.3f", ns / 1e9 }')"
    fi
    kill -HUP "$server_pid"
  done
  wait "$wrk_pid" || die "wrk failed against $name: $(cat "$out")"
  wrk_pid=
  # Every reload was carried out (and none refused) before we count anything.
  # HUPs the master received, and new worker generations it started (several HUPs that arrive
  # while one reload is starting may be folded into one more).
  local received generations
  if [[ $name == serverd ]]; then
    received=$(grep -c 'received HUP' "$tmp/serverd-error.log" || true)
    generations=$(grep -c 'reload complete' "$tmp/serverd-error.log" || true)
    ! grep -q 'reload failed' "$tmp/serverd-error.log" || die "serverd refused a reload"
  else
    received=$(grep -c 'SIGHUP) received' "$tmp/nginx-error.log" || true)
    generations=$(($(grep -c 'start worker processes' "$tmp/nginx-error.log" || true) - 1))
  fi
  stop_pid "$server_pid"
  server_pid=

  local requests connect read write timeout non2xx
  requests=$(awk '/requests in/ { print $1 }' "$out")
  [[ -n $requests ]] || die "cannot parse wrk output: $(cat "$out")"
  # wrk prints "Socket errors: ..." and "Non-2xx ..." only when there were some.
  read -r connect read write timeout < <(awk '/Socket errors:/ {
      gsub(/,/, ""); print $4, $6, $8, $10 }' "$out") || true
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
  connect=${connect:-0} read=${read:-0} write=${write:-0} timeout=${timeout:-0}
  non2xx=${non2xx:-0}
  local failed=$((connect + read + write + timeout + non2xx))
  res[$name.requests]="$requests"
  res[$name.rps]="$(awk '/^Requests\/sec:/ { print $2 }' "$out")"
  res[$name.max]="$(awk '$1 == "Latency" { print $4 }' "$out")"
  res[$name.received]="$received/$reloads"
  res[$name.generations]="$generations"
  res[$name.socket]="$connect/$read/$write/$timeout"
  res[$name.non2xx]="$non2xx"
  res[$name.failed]="$failed"
  res[$name.per_reload]="$(awk -v f="$failed" -v n="$reloads" 'BEGIN { printf "%.2f", f / n }')"
}

printf 'serverd: %s\n' "$("$serverd" -v 2>&1 | head -1)"
printf 'nginx:   %s\n' "$("$nginx" -v 2>&1 | head -1)"
printf 'wrk:     %s\n' "$(wrk -v 2>&1 | head -1)"
printf 'machine: %s CPUs, %s\n' "$(nproc)" "$(uname -sr)"
printf 'load:    wrk -t2 -c%s -d%s, keep-alive; %s HUPs at %s/s from t=1s; 2 workers each\n\n' \
  "$connections" "$duration" "$reloads" "$rate"

msg "serverd on 127.0.0.1:$serverd_port"
measure serverd "$serverd_port"
msg "nginx on 127.0.0.1:$nginx_port"
measure nginx "$nginx_port"

row() { printf '%-36s %14s %14s\n' "$1" "$2" "$3"; }
row "" serverd nginx
row "requests (total)" "${res[serverd.requests]}" "${res[nginx.requests]}"
row "requests/s" "${res[serverd.rps]}" "${res[nginx.rps]}"
row "max latency" "${res[serverd.max]}" "${res[nginx.max]}"
row "HUPs received / sent" "${res[serverd.received]}" "${res[nginx.received]}"
row "new worker generations" "${res[serverd.generations]}" "${res[nginx.generations]}"
row "socket errors connect/read/write/tmo" "${res[serverd.socket]}" "${res[nginx.socket]}"
row "non-2xx/3xx responses" "${res[serverd.non2xx]}" "${res[nginx.non2xx]}"
row "failed requests" "${res[serverd.failed]}" "${res[nginx.failed]}"
row "failed requests per reload" "${res[serverd.per_reload]}" "${res[nginx.per_reload]}"
