# Sourced by the bench/ scripts, after scripts/common.sh: the checks and port picking that
# every comparison needs. Expects $serverd (the binary under test).

# Dies unless $serverd is an executable.
require_serverd() {
  [[ -x $serverd ]] || die "no serverd binary at $serverd: build it first (scripts/start or
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build), or set SERVERD"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The port from $1 (fails if busy), else the first free one from $2 other than $serverd_port.
pick_port() {
  local port
  if [[ -n $1 ]]; then
    port_busy "$1" && die "127.0.0.1:$1 is already in use"
    echo "$1"
    return
  fi
  for ((port = $2; port < $2 + 200; port++)); do
    if [[ $port != "${serverd_port:-}" ]] && ! port_busy "$port"; then
      echo "$port"
      return
    fi
  done
  die "no free port in $2..$(($2 + 199)) on 127.0.0.1: set SERVERD_PORT / NGINX_PORT"
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
