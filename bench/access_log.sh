#!/usr/bin/env bash
# Cost of the access log: serverd serving a 1 KiB static file with the access log off, and the
# same with `access_log` on (combined format, to a file), on the same machine.
#
#   bench/access_log.sh [--rounds N] [--duration 10s] [--connections 64]
#
# Two serverd instances (build/serverd or $SERVERD), each with worker_processes = 1 and
# keepalive_requests = 100000, on loopback: one with no access log, one with
# access_log = "access.log" (combined, default 64KiB buffer, 1s flush). After a warm-up it runs
# `wrk -t1 -cC -dD` against each, alternating which goes first, for N rounds; prints
# requests/s per run, the medians, and the cost of logging in percent ((off - on) / off; the
# target is < 10%). After each "on" run it checks that the log holds at least as many lines as
# wrk completed requests, then empties it. Installs wrk and curl when missing (as root).
#
# Environment: SERVERD (binary), BASE_PORT (default 18280), WARMUP (default 3s),
# KEEP_TMP=1 keeps the temporary directory (configs, logs, wrk output).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/common.sh
source "$root/scripts/common.sh"
# shellcheck source=bench/common.sh
source "$root/bench/common.sh"

usage() { sed -n '2,17s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

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

ensure_packages wrk curl
require_serverd

free_port() { # the first free port from $1, other than $2
  local port
  for ((port = $1; port < $1 + 200; port++)); do
    if [[ $port != "${2:-}" ]] && ! port_busy "$port"; then
      echo "$port"
      return
    fi
  done
  die "no free port in $1..$(($1 + 199)) on 127.0.0.1: set BASE_PORT"
}
base_port=${BASE_PORT:-18280}
off_port=$(free_port "$base_port")
on_port=$(free_port "$((off_port + 1))" "$off_port")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/serverd-bench-alog.XXXXXX")
off_pid=
on_pid=
cleanup() {
  local pid
  for pid in "$off_pid" "$on_pid"; do
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

mkdir -p "$tmp/www" "$tmp/off" "$tmp/on"
head -c 1024 /dev/urandom >"$tmp/www/1k.bin"

write_conf() { # dir port access_log_line
  {
    printf '[main]\npid_file = "serverd.pid"\nworker_processes = 1\n\n'
    printf '[log]\nerror_log = "error.log"\nlevel = "warn"\n\n'
    printf '[[server]]\nlisten = ["127.0.0.1:%s"]\nserver_name = ["localhost"]\n' "$2"
    printf 'keepalive_requests = 100000\n%s\n\n' "$3"
    printf '  [[server.location]]\n  path = "/"\n  root = "%s"\n' "$tmp/www"
  } >"$1/serverd.toml"
  "$serverd" -t -c "$1/serverd.toml" >"$1/serverd-t.out" 2>&1 ||
    die "serverd rejects the benchmark config $1/serverd.toml:
$(cat "$1/serverd-t.out")"
}
write_conf "$tmp/off" "$off_port" 'access_log = "off"'
write_conf "$tmp/on" "$on_port" 'access_log = "access.log"
access_log_format = "combined"'

wait_ready() { # name pid port
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$2" 2>/dev/null || die "$1 exited at start-up (see KEEP_TMP=1 and its error log)"
    if curl -sf -o /dev/null "http://127.0.0.1:$3/1k.bin"; then return 0; fi
    sleep 0.1
  done
  die "$1 does not answer on 127.0.0.1:$3 after 10s"
}
"$serverd" -c "$tmp/off/serverd.toml" 2>>"$tmp/off/stderr.log" &
off_pid=$!
"$serverd" -c "$tmp/on/serverd.toml" 2>>"$tmp/on/stderr.log" &
on_pid=$!
wait_ready log-off "$off_pid" "$off_port"
wait_ready log-on "$on_pid" "$on_port"
for port in "$off_port" "$on_port"; do
  cmp -s <(curl -sf "http://127.0.0.1:$port/1k.bin") "$tmp/www/1k.bin" ||
    die "serverd on port $port does not serve the file byte for byte"
done

access_log=$tmp/on/access.log
log_lines() { if [[ -f $access_log ]]; then wc -l <"$access_log"; else echo 0; fi; }

# run_wrk NAME PORT DURATION -> sets rps, requests, errors; keeps the raw output in $tmp.
run_wrk() {
  local out="$tmp/wrk-$1.out"
  wrk -t1 -c"$connections" -d"$3" "http://127.0.0.1:$2/1k.bin" >"$out" 2>&1 ||
    die "wrk failed against $1: $(cat "$out")"
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  requests=$(awk '/ requests in / { print $1 }' "$out")
  errors=$(awk '/Socket errors:/ { sub(/.*Socket errors: /, ""); print }
                /Non-2xx or 3xx responses:/ { print "non-2xx/3xx: " $NF }' "$out" | paste -sd' ')
  [[ -n $rps && -n $requests ]] || die "cannot parse wrk output: $(cat "$out")"
}

median() { sort -g | awk '{ v[NR] = $1 } END {
  if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf 'serverd: %s\n' "$("$serverd" -v 2>&1 | head -1)"
printf 'wrk:     %s\n' "$(wrk -v 2>&1 | head -1)"
printf 'machine: %s CPUs, %s; %s round(s) of wrk -t1 -c%s -d%s /1k.bin\n\n' \
  "$(nproc)" "$(uname -sr)" "$rounds" "$connections" "$duration"

msg "warming up (${warmup} each)"
run_wrk warmup-off "$off_port" "$warmup"
run_wrk warmup-on "$on_port" "$warmup"
sleep 1.2 # the last buffered lines reach the file (access_log_flush = 1s)
: >"$access_log"

off_rps=()
on_rps=()
warnings=()
printf '%-6s %-8s %14s %12s %12s\n' round log requests/s requests lines
for ((round = 1; round <= rounds; round++)); do
  order=(off on)
  if ((round % 2 == 0)); then order=(on off); fi
  for name in "${order[@]}"; do
    if [[ $name == off ]]; then port=$off_port; else port=$on_port; fi
    run_wrk "$name-r$round" "$port" "$duration"
    lines=-
    if [[ $name == on ]]; then
      sleep 1.2
      lines=$(log_lines)
      # wrk counts completed responses; requests it cut off at the end may be logged too.
      if ((lines < requests)); then
        warnings+=("round $round: $lines log lines for $requests requests")
      fi
      : >"$access_log" # O_APPEND: the writer continues at the new end
      on_rps+=("$rps")
    else
      off_rps+=("$rps")
    fi
    printf '%-6s %-8s %14s %12s %12s\n' "$round" "$name" "$rps" "$requests" "$lines"
    if [[ -n $errors ]]; then warnings+=("round $round, log $name: $errors"); fi
  done
done

off_med=$(printf '%s\n' "${off_rps[@]}" | median)
on_med=$(printf '%s\n' "${on_rps[@]}" | median)
cost=$(awk -v off="$off_med" -v on="$on_med" 'BEGIN { printf "%.1f", (off > 0 ? (off - on) / off * 100 : 0) }')
printf '\nmedian requests/s: access log off %s, on %s; cost of the access log: %s%% (target < 10%%)\n' \
  "$off_med" "$on_med" "$cost"
for w in "${warnings[@]}"; do printf 'WARNING: %s\n' "$w"; done
if ((${#warnings[@]} > 0)); then
  msg "problems during the runs: see the warnings above"
  exit 1
fi
