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
bench_common=(duration connections)
bench_option() {
  case $1 in
    -n | --reloads) reloads=${2:?--reloads needs a value} bench_used=2 ;;
    -r | --rate) rate=${2:?--rate needs a value} bench_used=2 ;;
  esac
}
bench_parse_args "$@"
[[ $reloads =~ ^[1-9][0-9]*$ ]] || die "--reloads must be a positive integer, not '$reloads'"
[[ $rate =~ ^[1-9][0-9]*$ ]] || die "--rate must be a positive integer (reloads per second)"
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
find_nginx

pick_port "${SERVERD_PORT:-}" 18480
serverd_port=$port
pick_port "${NGINX_PORT:-}" $((serverd_port + 1))
nginx_port=$port

bench_start_tmp serverd-bench-reload
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
check_serverd_conf "$tmp/serverd.toml"

# --- nginx --------------------------------------------------------------------------------
cat >"$tmp/nginx.conf" <<NGINX
$(nginx_user_line)
worker_processes 2;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log notice;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000;
$(nginx_temp_paths "$tmp/nginx-temp")
  server {
    listen 127.0.0.1:$nginx_port;
    server_name localhost;
    location / { return 200 "$body\n"; }
  }
}
NGINX
check_nginx_conf nginx

# --- one measured run per server ----------------------------------------------------------
# measure NAME PORT: starts the server, runs wrk with the reloads, stops the server; fills
# res[NAME.*].
declare -A res
measure() {
  local name=$1 port=$2 out="$tmp/wrk-$1.out" i start next now
  if [[ $name == serverd ]]; then
    "$serverd" -c "$tmp/serverd.toml" 2>>"$tmp/serverd-stderr.log" &
    bench_pids+=("$!")
  else
    start_nginx nginx
  fi
  server_pid=$!
  wait_ready "$name" "$server_pid" "http://127.0.0.1:$port/" "$body"

  wrk -t2 -c"$connections" -d"$duration" "http://127.0.0.1:$port/" >"$out" 2>&1 &
  wrk_pid=$!
  bench_pids+=("$wrk_pid")
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
  stop_pid "$wrk_pid" # reaped already: only forgotten
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

print_version serverd "$serverd" -v
print_version nginx "$nginx" -v
print_version wrk wrk -v
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
