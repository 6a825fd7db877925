#!/usr/bin/env bash
# Installs Debian packages the scripts use when their command is missing:
#
#   scripts/install-tools.sh wrk:wrk wasm-opt:binaryen?
#
# Each argument is COMMAND:PACKAGE; a trailing '?' marks it optional (a
# warning instead of a failure when it cannot be installed). apt-get is used
# only when the command is missing, as root, on a system that has apt-get.
set -euo pipefail

updated=
status=0
for spec in "$@"; do
  optional=
  case $spec in *'?') optional=1; spec=${spec%'?'} ;; esac
  command=${spec%%:*}
  package=${spec#*:}
  command -v "$command" >/dev/null && continue
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if [ -z "$updated" ]; then
      apt-get update -qq >&2 || true
      updated=1
    fi
    echo "install-tools: installing $package for $command" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null || true
  fi
  if ! command -v "$command" >/dev/null; then
    if [ -n "$optional" ]; then
      echo "install-tools: $command not found (package $package); continuing without it" >&2
    else
      echo "install-tools: $command is needed: install the package $package" >&2
      status=1
    fi
  fi
done
exit $status
