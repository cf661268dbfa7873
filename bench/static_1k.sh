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

rounds=${ROUNDS:-3}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
while (($# > 0)); do
  case $1 in
    -r | --rounds) rounds=${2:?--rounds needs a value}; shift ;;
    -d | --duration) duration=${2:?--duration needs a value}; shift ;;
    -c | --connections) connections=${2:?--connections needs a value}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer, not '$rounds'"
[[ $connections =~ ^[1-9][0-9]*$ ]] || die "--connections must be a positive integer"

serverd=${SERVERD:-$root/build/serverd}
warmup=${WARMUP:-3s}

ensure_packages wrk nginx-light curl
require_serverd
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $nginx ]] || die "nginx not found"

serverd_port=$(pick_port "${SERVERD_PORT:-}" 18080)
nginx_port=$(pick_port "${NGINX_PORT:-}" $((serverd_port + 1)))

tmp=$(mktemp -d "${TMPDIR:-/tmp}/serverd-bench.XXXXXX")
serverd_pid=
nginx_pid=
cleanup() {
  local pid
  for pid in "$serverd_pid" "$nginx_pid"; do
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [[ ${KEEP_TMP:-0} == 1 ]]; then
    msg "kept $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$tmp/www" "$tmp/nginx-temp"
head -c 1024 /dev/urandom >"$tmp/www/1k.bin"

# --- serverd ------------------------------------------------------------------------------
# worker_processes = 1 once the process model accepts it; until then serverd is one process.
write_serverd_conf() {
  {
    printf '[main]\npid_file = "serverd.pid"\n'
    if [[ $1 == with_workers ]]; then printf 'worker_processes = 1\n'; fi
    printf '\n[log]\nerror_log = "serverd-error.log"\nlevel = "warn"\n\n'
    printf '[[server]]\nlisten = ["127.0.0.1:%s"]\nserver_name = ["localhost"]\n' "$serverd_port"
    printf 'keepalive_requests = 100000\n\n'
    printf '  [[server.location]]\n  path = "/"\n  root = "www"\n'
  } >"$tmp/serverd.toml"
}
write_serverd_conf with_workers
if ! "$serverd" -t -c "$tmp/serverd.toml" >"$tmp/serverd-t.out" 2>&1; then
  write_serverd_conf single
  "$serverd" -t -c "$tmp/serverd.toml" >"$tmp/serverd-t.out" 2>&1 ||
    die "serverd rejects the benchmark config:
$(cat "$tmp/serverd-t.out")"
fi

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
# A root master would switch its worker to nobody; keep it the current user, like serverd.
if ((EUID == 0)); then nginx_user="user $(id -un) $(id -gn);"; fi
cat >"$tmp/nginx.conf" <<NGINX
$nginx_user
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
$nginx_temp_paths
  server {
    listen 127.0.0.1:$nginx_port;
    server_name localhost;
    root $tmp/www;
  }
}
NGINX
nginx_args=(-p "$tmp" -e "$tmp/nginx-error.log" -c "$tmp/nginx.conf")
"$nginx" -t -q "${nginx_args[@]}" 2>"$tmp/nginx-t.out" ||
  die "nginx rejects the benchmark config:
$(cat "$tmp/nginx-t.out")"

# --- start both ---------------------------------------------------------------------------
wait_ready() { # name pid port
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$2" 2>/dev/null || die "$1 exited at start-up (see KEEP_TMP=1 and its error log)"
    if curl -sf -o /dev/null "http://127.0.0.1:$3/1k.bin"; then return 0; fi
    sleep 0.1
  done
  die "$1 does not answer on 127.0.0.1:$3 after 10s"
}
"$serverd" -c "$tmp/serverd.toml" 2>>"$tmp/serverd-error.log" &
serverd_pid=$!
"$nginx" "${nginx_args[@]}" -g 'daemon off;' &
nginx_pid=$!
wait_ready serverd "$serverd_pid" "$serverd_port"
wait_ready nginx "$nginx_pid" "$nginx_port"
cmp -s <(curl -sf "http://127.0.0.1:$serverd_port/1k.bin") "$tmp/www/1k.bin" ||
  die "serverd does not serve the file byte for byte"
cmp -s <(curl -sf "http://127.0.0.1:$nginx_port/1k.bin") "$tmp/www/1k.bin" ||
  die "nginx does not serve the file byte for byte"

# --- measure ------------------------------------------------------------------------------
# Latency as printed by wrk ("215.00us", "1.23ms", "1.01s") -> milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.3f", n }'
}

# run_wrk NAME PORT DURATION -> sets rps p50 p99 errors; keeps the raw output in $tmp.
run_wrk() {
  local out="$tmp/wrk-$1-$2.out"
  wrk -t1 -c"$connections" -d"$3" --latency "http://127.0.0.1:$2/1k.bin" >"$out" 2>&1 ||
    die "wrk failed against $1: $(cat "$out")"
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
  errors=$(awk '/Socket errors:/ { sub(/.*Socket errors: /, ""); print }
                /Non-2xx or 3xx responses:/ { print "non-2xx/3xx: " $NF }' "$out" | paste -sd' ')
  [[ -n $rps ]] || die "cannot parse wrk output: $(cat "$out")"
}

median() { sort -g | awk '{ v[NR] = $1 } END {
  if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf 'serverd: %s\n' "$("$serverd" -v 2>&1 | head -1)"
printf 'nginx:   %s\n' "$("$nginx" -v 2>&1 | head -1)"
printf 'wrk:     %s\n' "$(wrk -v 2>&1 | head -1)"
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
  "$(awk -v s="$s_med" -v n="$n_med" 'BEGIN { printf "%.3f", (n > 0 ? s / n : 0) }')"
for w in "${warnings[@]}"; do printf 'WARNING: %s\n' "$w"; done
if ((${#warnings[@]} > 0)); then
  msg "errors during the runs: figures above are not comparable"
  exit 1
fi
