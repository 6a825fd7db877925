#!/usr/bin/env bash
# Builds the filter as a Wasm module: dist/knative_traffic.wasm.
# Installs the wasm32-wasip1 target through rustup when it is missing.
#
# The module is built with cargo's `wasm` profile (optimised for size), then
# shrunk by binaryen's wasm-opt -Oz when wasm-opt is installed (Debian and
# Ubuntu: apt-get install binaryen). Without it the build still succeeds with
# a larger module that behaves the same; scripts/test.sh and scripts/bench.sh
# install binaryen where they can, so the suite tests the shipped form.
set -euo pipefail
cd "$(dirname "$0")"

target=wasm32-wasip1
if ! rustup target list --installed | grep -qx "$target"; then
  echo "wasm-build: installing the $target target" >&2
  rustup target add "$target"
fi
cargo build --profile wasm --target "$target" --lib
mkdir -p dist
built="target/$target/wasm/knative_traffic.wasm"
if command -v wasm-opt >/dev/null; then
  # The features rustc's wasm32-wasip1 output uses; wasm-opt refuses the
  # module unless they are named.
  wasm-opt -Oz --strip-debug --strip-producers \
    --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
    --enable-nontrapping-float-to-int \
    "$built" -o dist/knative_traffic.wasm.tmp
  mv dist/knative_traffic.wasm.tmp dist/knative_traffic.wasm
  how="cargo profile wasm, then wasm-opt -Oz"
else
  echo "wasm-build: wasm-opt not found (binaryen); the module is not shrunk further" >&2
  cp "$built" dist/knative_traffic.wasm
  how="cargo profile wasm, no wasm-opt"
fi
echo "wasm-build: dist/knative_traffic.wasm ($(wc -c < dist/knative_traffic.wasm) bytes; $how)" >&2
