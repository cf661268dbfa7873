#!/usr/bin/env bash
# Static-file throughput: serverd against Debian's nginx on the same machine, same file.
#
#   bench/static_1k.sh [--rounds N] [--duration 10s] [--connections 64]
#
# Serves one 1 KiB file from a temporary directory with serverd (build/serverd, or $SERVERD)
# and with nginx (one worker, access_log off, sendfile on, tcp_nopush on), both on loopback
# and with keep-alive up to 100000 requests per connection. After a warm-up, it runs
# `wrk -t1 -cC -dD --latency` against each, alternating which goes first, for N rounds;
# prints requests/s and p50/p99 latency per round, then the median requests/s of each and
# the ratio serverd/nginx. Installs wrk and nginx-light when missing (as root).
#
# Environment: SERVERD (binary), SERVERD_PORT and NGINX_PORT (default: the first free ports
# from 18080), WARMUP (default 3s), KEEP_TMP=1 keeps the temporary directory (configs, logs).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/common.sh
source "$root/scripts/common.sh"
# shellcheck source=bench/common.sh
source "$root/bench/common.sh"

usage() { sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

bench_parse_args "$@"

serverd=${SERVERD:-$root/build/serverd}
warmup=${WARMUP:-3s}

ensure_packages wrk nginx-light curl
require_serverd
find_nginx

pick_port "${SERVERD_PORT:-}" 18080
serverd_port=$port
pick_port "${NGINX_PORT:-}" $((serverd_port + 1))
nginx_port=$port

bench_start_tmp serverd-bench
mkdir -p "$tmp/www" "$tmp/nginx-temp"
head -c 1024 /dev/urandom >"$tmp/www/1k.bin"

# --- serverd ------------------------------------------------------------------------------
cat >"$tmp/serverd.toml" <<TOML
[main]
pid_file = "serverd.pid"
worker_processes = 1

[log]
error_log = "serverd-error.log"
level = "warn"

[[server]]
listen = ["127.0.0.1:$serverd_port"]
server_name = ["localhost"]
keepalive_requests = 100000

  [[server.location]]
  path = "/"
  root = "www"
TOML
check_serverd_conf "$tmp/serverd.toml"

# --- nginx --------------------------------------------------------------------------------
cat >"$tmp/nginx.conf" <<NGINX
$(nginx_user_line)
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  default_type application/octet-stream;
$(nginx_temp_paths "$tmp/nginx-temp")
  server {
    listen 127.0.0.1:$nginx_port;
    server_name localhost;
    root $tmp/www;
  }
}
NGINX
check_nginx_conf nginx

# --- start both ---------------------------------------------------------------------------
"$serverd" -c "$tmp/serverd.toml" 2>>"$tmp/serverd-error.log" &
serverd_pid=$!
bench_pids+=("$serverd_pid")
start_nginx nginx
nginx_pid=$!
wait_ready serverd "$serverd_pid" "http://127.0.0.1:$serverd_port/1k.bin"
wait_ready nginx "$nginx_pid" "http://127.0.0.1:$nginx_port/1k.bin"
cmp -s <(curl -sf "http://127.0.0.1:$serverd_port/1k.bin") "$tmp/www/1k.bin" ||
  die "serverd does not serve the file byte for byte"
cmp -s <(curl -sf "http://127.0.0.1:$nginx_port/1k.bin") "$tmp/www/1k.bin" ||
  die "nginx does not serve the file byte for byte"

# --- measure ------------------------------------------------------------------------------
# run_wrk NAME PORT DURATION -> sets rps p50 p99 errors; keeps the raw output in $tmp.
run_wrk() {
  local out="$tmp/wrk-$1-$2.out"
  wrk -t1 -c"$connections" -d"$3" --latency "http://127.0.0.1:$2/1k.bin" >"$out" 2>&1 ||
    die "wrk failed against $1: $(cat "$out")"
  parse_wrk "$out"
}

print_version serverd "$serverd" -v
print_version nginx "$nginx" -v
print_version wrk wrk -v
printf 'machine: %s CPUs, %s; %s round(s) of wrk -t1 -c%s -d%s --latency /1k.bin\n\n' \
  "$(nproc)" "$(uname -sr)" "$rounds" "$connections" "$duration"

msg "warming up (${warmup} each)"
run_wrk warmup-serverd "$serverd_port" "$warmup"
run_wrk warmup-nginx "$nginx_port" "$warmup"

serverd_rps=()
nginx_rps=()
warnings=()
printf '%-6s %-8s %14s %10s %10s\n' round server requests/s p50_ms p99_ms
for ((round = 1; round <= rounds; round++)); do
  order=(serverd nginx)
  if ((round % 2 == 0)); then order=(nginx serverd); fi
  for name in "${order[@]}"; do
    if [[ $name == serverd ]]; then port=$serverd_port; else port=$nginx_port; fi
    run_wrk "$name-r$round" "$port" "$duration"
    printf '%-6s %-8s %14s %10s %10s\n' "$round" "$name" "$rps" "$p50" "$p99"
    if [[ -n $errors ]]; then warnings+=("round $round, $name: $errors"); fi
    if [[ $name == serverd ]]; then serverd_rps+=("$rps"); else nginx_rps+=("$rps"); fi
  done
done

s_med=$(printf '%s\n' "${serverd_rps[@]}" | median)
n_med=$(printf '%s\n' "${nginx_rps[@]}" | median)
printf '\nmedian requests/s: serverd %s, nginx %s; serverd/nginx = %s\n' "$s_med" "$n_med" \
  "$(ratio "$s_med" "$n_med")"
for w in "${warnings[@]}"; do printf 'WARNING: %s\n' "$w"; done
if ((${#warnings[@]} > 0)); then
  msg "errors during the runs: figures above are not comparable"
  exit 1
fi
