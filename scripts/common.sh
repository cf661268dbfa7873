# shellcheck shell=bash
# Helpers sourced by scripts/start, scripts/test and bench/*.sh; nothing here runs on its own.

# What building and testing serverd needs on Debian 12 (see DESIGN.md, "Dependencies").
# shellcheck disable=SC2034  # used by the scripts that source this file
SERVERD_BUILD_PACKAGES=(
  build-essential cmake pkg-config ca-certificates curl
  libssl-dev node-llhttp libtomlplusplus-dev libspdlog-dev libfmt-dev libboost-test-dev
  zlib1g-dev openssl
)

msg() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() {
  msg "$*"
  exit 1
}

# Prints the packages among "$@" that are not installed, one a line.
missing_packages() {
  local pkg status
  for pkg in "$@"; do
    # shellcheck disable=SC2016  # ${db:Status-Abbrev} is dpkg-query's syntax, not the shell's
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
    # Second letter: the package's current state; 'i' = installed.
    [[ ${status:1:1} == i ]] || printf '%s\n' "$pkg"
  done
}

# Installs whatever of "$@" is missing: as root with apt-get (one `apt-get update` per run);
# otherwise says exactly what to install and fails.
ensure_packages() {
  command -v dpkg-query >/dev/null 2>&1 ||
    die "dpkg-query not found: these scripts expect Debian 12; install the equivalents of: $*"
  local missing
  mapfile -t missing < <(missing_packages "$@")
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  if ((EUID != 0)); then
    die "missing Debian packages: ${missing[*]}
Run this script as root to install them, or install them yourself first:
  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
  fi
  msg "installing missing packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z ${SERVERD_APT_UPDATED:-} ]]; then
    apt-get update
    export SERVERD_APT_UPDATED=1
  fi
  apt-get install -y --no-install-recommends "${missing[@]}"
}
