# shellcheck shell=bash
# Sourced by the bench/ scripts, after scripts/common.sh: what every comparison needs (checks,
# ports, options, the temporary directory and the processes started, nginx's set-up, wrk's
# output). Expects $serverd (the binary under test).

# Dies unless $serverd is an executable.
require_serverd() {
  [[ -x $serverd ]] || die "no serverd binary at $serverd: build it first (scripts/start or
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build), or set SERVERD"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pick_port PORT FROM: sets $port to PORT (dying if it is busy) or, when PORT is empty, to the
# first free port from FROM that no earlier pick_port handed out.
bench_ports=()
pick_port() {
  local taken t
  if [[ -n $1 ]]; then
    port_busy "$1" && die "127.0.0.1:$1 is already in use"
    port=$1
    bench_ports+=("$port")
    return
  fi
  for ((port = $2; port < $2 + 400; port++)); do
    taken=0
    for t in "${bench_ports[@]}"; do [[ $t == "$port" ]] && taken=1; done
    if ((taken == 0)) && ! port_busy "$port"; then
      bench_ports+=("$port")
      return
    fi
  done
  die "no free port in $2..$(($2 + 399)) on 127.0.0.1 (see the port variables in --help)"
}

# The children of master $1 whose process title contains "worker", one pid a line.
worker_pids() {
  local p
  for p in $(pgrep -P "$1"); do
    case $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) in *worker*) echo "$p" ;; esac
  done
}
# A / B with three decimals (0 when B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }

# CPU time (user + system, in clock ticks) the given processes have used so far, summed. The
# command name in /proc/PID/stat may contain spaces ("serverd: worker"): fields are counted
# after its closing parenthesis.
cpu_ticks() {
  local p total=0 t
  for p in "$@"; do
    t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)
    total=$((total + ${t:-0}))
  done
  echo "$total"
}
# Microseconds of CPU per request: TICKS REQUESTS.
cpu_us_per_request() {
  awk -v t="$1" -v n="${2:-0}" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }'
}

# --- options ------------------------------------------------------------------------------
# bench_parse_args "$@": the options the comparisons share, --rounds N, --duration D and
# --connections C (defaults: ROUNDS, DURATION, CONNECTIONS from the environment, else 3, 10s,
# 64; a script may preset rounds/duration/connections to other defaults), and -h/--help (the
# script's usage()). A script that offers only some of them lists those in bench_common first.
# Its own options go to its bench_option function, called with the remaining arguments: it
# sets bench_used to how many of them it consumed (0: not one of its options).
bench_common=(rounds duration connections)
bench_parse_args() {
  rounds=${rounds:-${ROUNDS:-3}}
  duration=${duration:-${DURATION:-10s}}
  connections=${connections:-${CONNECTIONS:-64}}
  local offers=" ${bench_common[*]} "
  while (($# > 0)); do
    bench_used=0
    if declare -F bench_option >/dev/null; then bench_option "$@"; fi
    if ((bench_used == 0)); then
      case $1 in
        -r | --rounds) [[ $offers == *" rounds "* ]] && rounds=${2:?--rounds needs a value} &&
          bench_used=2 ;;
        -d | --duration) [[ $offers == *" duration "* ]] &&
          duration=${2:?--duration needs a value} && bench_used=2 ;;
        -c | --connections) [[ $offers == *" connections "* ]] &&
          connections=${2:?--connections needs a value} && bench_used=2 ;;
        -h | --help)
          usage
          exit 0
          ;;
      esac
    fi
    if ((bench_used == 0)); then
      usage >&2
      die "unknown argument: $1"
    fi
    shift "$bench_used"
  done
  [[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer, not '$rounds'"
  [[ $connections =~ ^[1-9][0-9]*$ ]] || die "--connections must be a positive integer"
}

# --- the temporary directory and the processes started ------------------------------------
# bench_start_tmp PREFIX: makes $tmp and stops every pid in bench_pids (TERM, then KILL after
# 5 s) and removes $tmp on exit, including on Ctrl-C; KEEP_TMP=1 keeps it.
bench_pids=()
bench_start_tmp() {
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
bench_cleanup() {
  local pid
  for pid in "${bench_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${bench_pids[@]}"; do stop_pid "$pid"; done
  if [[ ${KEEP_TMP:-0} == 1 ]]; then
    msg "kept $tmp"
  else
    rm -rf "$tmp"
  fi
}
# stop_pid PID: TERM, wait up to 5 s, then KILL; forgets PID (it may be reused afterwards).
stop_pid() {
  local pid=$1 i kept=() p
  for p in "${bench_pids[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
  bench_pids=("${kept[@]}")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# wait_ready NAME PID URL [BODY]: until URL answers 2xx (with exactly BODY, when given); dies
# when PID exits first or after 10 s.
wait_ready() {
  local i answer
  for ((i = 0; i < 100; i++)); do
    kill -0 "$2" 2>/dev/null || die "$1 exited at start-up (see KEEP_TMP=1 and its error log)"
    if (($# < 4)); then
      curl -skf -o /dev/null "$3" && return 0
    elif answer=$(curl -skf "$3" 2>/dev/null) && [[ $answer == "$4" ]]; then
      return 0
    fi
    sleep 0.1
  done
  die "$1 does not answer on ${3%/*} after 10s"
}

# check_serverd_conf FILE: `serverd -t`, dying with its output when it refuses FILE.
check_serverd_conf() {
  "$serverd" -t -c "$1" >"$1-t.out" 2>&1 || die "serverd rejects the benchmark config $1:
$(cat "$1-t.out")"
}

# --- nginx --------------------------------------------------------------------------------
# find_nginx: sets $nginx, Debian's binary.
find_nginx() {
  nginx=$(command -v nginx || echo /usr/sbin/nginx)
  [[ -x $nginx ]] || die "nginx not found"
}
# The `user` line of nginx.conf: a root master would switch its workers to nobody; keep them
# the current user, like serverd.
nginx_user_line() { if ((EUID == 0)); then echo "user $(id -un) $(id -gn);"; fi; }
# nginx_temp_paths DIR: temp paths inside DIR for every module compiled in, so nginx never
# touches /var/lib/nginx.
nginx_temp_paths() {
  local kind flag
  for kind in client_body proxy fastcgi uwsgi scgi; do
    flag=--http-${kind/_/-}-temp-path
    if "$nginx" -V 2>&1 | grep -q -- "$flag"; then
      printf '  %s_temp_path %s/%s;\n' "$kind" "$1" "$kind"
    fi
  done
}
# nginx_args NAME: the arguments running $tmp/NAME.conf (prefix, error log inside $tmp).
nginx_args() { nginx_args=(-p "$tmp" -e "$tmp/$1-error.log" -c "$tmp/$1.conf"); }
# check_nginx_conf NAME: `nginx -t` on $tmp/NAME.conf, dying with its output when refused.
check_nginx_conf() {
  nginx_args "$1"
  "$nginx" -t -q "${nginx_args[@]}" 2>"$tmp/$1-t.out" || die "nginx rejects $tmp/$1.conf:
$(cat "$tmp/$1-t.out")"
}
# start_nginx NAME: runs nginx with $tmp/NAME.conf in the foreground of a background job.
start_nginx() {
  nginx_args "$1"
  "$nginx" "${nginx_args[@]}" -g 'daemon off;' 2>>"$tmp/$1-stderr.log" &
  bench_pids+=("$!")
}

# --- wrk output ---------------------------------------------------------------------------
# Latency as printed by wrk ("215.00us", "1.23ms", "1.01s") -> milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.3f", n }'
}
# parse_wrk FILE: sets rps, requests, p50 and p99 (ms, with --latency) and errors (socket
# errors and non-2xx/3xx responses, empty when none) from wrk's output in FILE.
# shellcheck disable=SC2034  # results for the calling script
parse_wrk() {
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$1")
  requests=$(awk '/ requests in / { print $1 }' "$1")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$1")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$1")")
  errors=$(awk '/Socket errors:/ { sub(/.*Socket errors: /, ""); print }
                /Non-2xx or 3xx responses:/ { print "non-2xx/3xx: " $NF }' "$1" | paste -sd' ')
  [[ -n $rps && -n $requests ]] || die "cannot parse wrk output: $(cat "$1")"
}
# The median of the numbers on stdin, one a line.
median() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# print_version LABEL COMMAND...: "LABEL:   first line of COMMAND's output", aligned.
print_version() { printf '%-8s %s\n' "$1:" "$("${@:2}" 2>&1 | head -1)"; }
