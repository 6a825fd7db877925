#!/usr/bin/env bash
# Builds the filter as a Wasm module: dist/knative_traffic.wasm.
# Installs the wasm32-wasip1 target through rustup when it is missing.
set -euo pipefail
cd "$(dirname "$0")"

target=wasm32-wasip1
if ! rustup target list --installed | grep -qx "$target"; then
  echo "wasm-build: installing the $target target" >&2
  rustup target add "$target"
fi
# Only the filter: the workspace's command-line tool is a native program.
cargo build --release --target "$target" -p knative-traffic --lib
mkdir -p dist
cp "target/$target/release/knative_traffic.wasm" dist/knative_traffic.wasm
echo "wasm-build: dist/knative_traffic.wasm ($(wc -c < dist/knative_traffic.wasm) bytes)" >&2
