#!/usr/bin/env bash
# TLS throughput: serverd against Debian's nginx on the same machine, same certificate.
#
#   bench/tls.sh [--rounds N] [--duration 10s] [--connections 64] [--testssl]
#
# Serves one 1 KiB file over HTTPS (an EC P-256 certificate made for the run; TLS 1.2 and 1.3,
# session tickets on) with serverd (build/serverd, or $SERVERD; one worker) and with nginx
# (one worker, access_log off), both on loopback. Two measurements per round, alternating
# which server goes first:
#   keep-alive  wrk -t1 -cC -dD over persistent TLS connections (requests/s)
#   handshakes  wrk -t1 -cC -dD -H "Connection: close": every request a new TCP connection
#               and a full TLS 1.3 handshake (new handshakes/s)
# then the medians and the ratios serverd/nginx. With --testssl it also runs testssl.sh
# (Debian package testssl.sh) against serverd's listener and prints what is offered.
# Installs wrk, nginx-light, curl (and testssl.sh) when missing (as root).
#
# Environment: SERVERD (binary), SERVERD_PORT and NGINX_PORT (default: the first free ports
# from 18443), WARMUP (default 3s), KEEP_TMP=1 keeps the temporary directory.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/common.sh
source "$root/scripts/common.sh"
# shellcheck source=bench/common.sh
source "$root/bench/common.sh"

usage() { sed -n '2,19s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

testssl=0
bench_option() { if [[ $1 == --testssl ]]; then testssl=1; bench_used=1; fi; }
bench_parse_args "$@"

serverd=${SERVERD:-$root/build/serverd}
warmup=${WARMUP:-3s}

ensure_packages wrk nginx-light curl openssl
if ((testssl)); then ensure_packages testssl.sh; fi
require_serverd
find_nginx

pick_port "${SERVERD_PORT:-}" 18443
serverd_port=$port
pick_port "${NGINX_PORT:-}" $((serverd_port + 1))
nginx_port=$port

bench_start_tmp serverd-bench
mkdir -p "$tmp/www" "$tmp/nginx-temp"
head -c 1024 /dev/urandom >"$tmp/www/1k.bin"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$tmp/bench.key" -out "$tmp/bench.pem" -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>"$tmp/openssl.out" ||
  die "cannot make the benchmark certificate: $(cat "$tmp/openssl.out")"

# --- serverd ------------------------------------------------------------------------------
cat >"$tmp/serverd.toml" <<TOML
[main]
pid_file = "serverd.pid"
worker_processes = 1

[log]
error_log = "serverd-error.log"
level = "warn"

[[server]]
listen = [{ address = "127.0.0.1:$serverd_port", tls = true }]
server_name = ["localhost"]
tls = { certificate = "bench.pem", key = "bench.key" }
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
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305;
  ssl_session_tickets on;
  server {
    listen 127.0.0.1:$nginx_port ssl;
    server_name localhost;
    ssl_certificate $tmp/bench.pem;
    ssl_certificate_key $tmp/bench.key;
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
wait_ready serverd "$serverd_pid" "https://127.0.0.1:$serverd_port/1k.bin"
wait_ready nginx "$nginx_pid" "https://127.0.0.1:$nginx_port/1k.bin"
cmp -s <(curl -sf --cacert "$tmp/bench.pem" "https://127.0.0.1:$serverd_port/1k.bin") "$tmp/www/1k.bin" ||
  die "serverd does not serve the file byte for byte"
cmp -s <(curl -sf --cacert "$tmp/bench.pem" "https://127.0.0.1:$nginx_port/1k.bin") "$tmp/www/1k.bin" ||
  die "nginx does not serve the file byte for byte"

# --- measure ------------------------------------------------------------------------------
# run_wrk NAME PORT DURATION [wrk args] -> sets rps p50 p99 errors cpu_us; keeps the raw
# output. cpu_us is the server's worker CPU time per request (user + system, microseconds):
# with wrk and the server on two CPUs, wrk is often the bottleneck, and then requests/s
# compares wrk's costs more than the servers'; CPU per request compares the servers.
run_wrk() {
  local out="$tmp/wrk-$1-$2.out" worker c0 c1
  if [[ $2 == "$serverd_port" ]]; then worker=$serverd_worker; else worker=$nginx_worker; fi
  c0=$(cpu_ticks "$worker")
  wrk -t1 -c"$connections" -d"$3" --latency "${@:4}" "https://127.0.0.1:$2/1k.bin" >"$out" 2>&1 ||
    die "wrk failed against $1: $(cat "$out")"
  c1=$(cpu_ticks "$worker")
  parse_wrk "$out"
  cpu_us=$(cpu_us_per_request $((c1 - c0)) "$requests")
}

print_version serverd "$serverd" -v
print_version nginx "$nginx" -v
print_version wrk wrk -v
print_version openssl openssl version
printf 'machine: %s CPUs, %s; %s round(s) of wrk -t1 -c%s -d%s --latency /1k.bin over TLS\n\n' \
  "$(nproc)" "$(uname -sr)" "$rounds" "$connections" "$duration"

serverd_worker=$(worker_pids "$serverd_pid" | head -1)
nginx_worker=$(worker_pids "$nginx_pid" | head -1)
[[ -n $serverd_worker && -n $nginx_worker ]] || die "cannot find the worker processes"

msg "warming up (${warmup} each)"
run_wrk warmup-serverd "$serverd_port" "$warmup"
run_wrk warmup-nginx "$nginx_port" "$warmup"

declare -A results cpu
warnings=()
printf '%-6s %-11s %-8s %14s %10s %10s %10s\n' round mode server requests/s p50_ms p99_ms cpu_us/req
for ((round = 1; round <= rounds; round++)); do
  order=(serverd nginx)
  if ((round % 2 == 0)); then order=(nginx serverd); fi
  for mode in keep-alive handshakes; do
    extra=()
    if [[ $mode == handshakes ]]; then extra=(-H "Connection: close"); fi
    for name in "${order[@]}"; do
      if [[ $name == serverd ]]; then port=$serverd_port; else port=$nginx_port; fi
      run_wrk "$name-$mode-r$round" "$port" "$duration" "${extra[@]}"
      printf '%-6s %-11s %-8s %14s %10s %10s %10s\n' "$round" "$mode" "$name" "$rps" "$p50" "$p99" \
        "$cpu_us"
      # "Connection: close" makes wrk count the server's closes as read errors: expected.
      if [[ -n $errors && $mode == keep-alive ]]; then
        warnings+=("round $round, $mode, $name: $errors")
      fi
      results[$name-$mode]+="$rps "
      cpu[$name-$mode]+="$cpu_us "
    done
  done
done

printf '\n'
for mode in keep-alive handshakes; do
  s_med=$(printf '%s\n' ${results[serverd-$mode]} | median)
  n_med=$(printf '%s\n' ${results[nginx-$mode]} | median)
  printf 'median %-10s requests/s: serverd %s, nginx %s; serverd/nginx = %s\n' "$mode" \
    "$s_med" "$n_med" "$(ratio "$s_med" "$n_med")"
  s_med=$(printf '%s\n' ${cpu[serverd-$mode]} | median)
  n_med=$(printf '%s\n' ${cpu[nginx-$mode]} | median)
  printf 'median %-10s worker CPU us/request: serverd %s, nginx %s; nginx/serverd = %s\n' "$mode" \
    "$s_med" "$n_med" "$(ratio "$n_med" "$s_med")"
done
for w in "${warnings[@]}"; do printf 'WARNING: %s\n' "$w"; done

if ((testssl)); then
  msg "testssl.sh against serverd (127.0.0.1:$serverd_port)"
  testssl=$(command -v testssl || command -v testssl.sh)
  "$testssl" --quiet --color 0 --warnings off --protocols --std --fs \
    "127.0.0.1:$serverd_port" >"$tmp/testssl.out" 2>&1 || true
  grep -E 'SSLv2|SSLv3|TLS 1(\.[0-3])? |NULL|Anonymous|Export|LOW|Triple|Obsoleted|Strong|Forward Secrecy' \
    "$tmp/testssl.out" | sed 's/^/  /'
  if grep -E '^ *(SSLv2|SSLv3|TLS 1|TLS 1\.1) +offered' "$tmp/testssl.out" >/dev/null ||
    grep -E '(NULL|Anonymous|Export|LOW|Triple DES|Obsoleted).* offered( |$)' "$tmp/testssl.out" |
    grep -v 'not offered' >/dev/null; then
    warnings+=("testssl.sh found a weak protocol or cipher offered (see $tmp/testssl.out)")
    printf 'WARNING: %s\n' "${warnings[-1]}"
  else
    printf 'testssl.sh: no weak protocol or cipher offered\n'
  fi
fi
if ((${#warnings[@]} > 0)); then
  msg "problems during the runs: figures above are not comparable"
  exit 1
fi
