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

bench_parse_args "$@"

serverd=${SERVERD:-$root/build/serverd}
warmup=${WARMUP:-3s}

ensure_packages wrk curl
require_serverd

pick_port "" "${BASE_PORT:-18280}"
off_port=$port
pick_port "" "$((off_port + 1))"
on_port=$port

bench_start_tmp serverd-bench-alog
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
  check_serverd_conf "$1/serverd.toml"
}
write_conf "$tmp/off" "$off_port" 'access_log = "off"'
write_conf "$tmp/on" "$on_port" 'access_log = "access.log"
access_log_format = "combined"'

"$serverd" -c "$tmp/off/serverd.toml" 2>>"$tmp/off/stderr.log" &
off_pid=$!
bench_pids+=("$off_pid")
"$serverd" -c "$tmp/on/serverd.toml" 2>>"$tmp/on/stderr.log" &
on_pid=$!
bench_pids+=("$on_pid")
wait_ready log-off "$off_pid" "http://127.0.0.1:$off_port/1k.bin"
wait_ready log-on "$on_pid" "http://127.0.0.1:$on_port/1k.bin"
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
  parse_wrk "$out"
}

print_version serverd "$serverd" -v
print_version wrk wrk -v
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
