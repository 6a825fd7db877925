#!/usr/bin/env bash
# Builds what Envoy and `docker compose up` run:
#   dist/knative_traffic.wasm  the filter, as a Wasm module (wasm32-wasip1)
#   dist/demo-backend          the demo revision, a static Linux binary (musl)
#                              for the FROM scratch image docker-compose.yaml builds
# Installs the rustup targets it needs when they are missing.
#
# The demo backend is built for the Linux of this machine's architecture
# (x86_64 or aarch64, as Docker runs it on Linux, macOS and Windows alike);
# DEMO_BACKEND_TARGET overrides the target. It links with rust-lld, which
# rustup ships, so no C cross toolchain is needed.
set -euo pipefail
cd "$(dirname "$0")"

ensure_target() {
  local installed
  installed=$(rustup target list --installed)
  if ! grep -qx "$1" <<<"$installed"; then
    echo "wasm-build: installing the $1 target" >&2
    rustup target add "$1"
  fi
}

target=wasm32-wasip1
ensure_target "$target"
# Only the filter: the workspace's command-line tool is a native program.
cargo build --release --target "$target" -p knative-traffic --lib
mkdir -p dist
cp "target/$target/release/knative_traffic.wasm" dist/knative_traffic.wasm
echo "wasm-build: dist/knative_traffic.wasm ($(wc -c < dist/knative_traffic.wasm) bytes)" >&2

case "$(uname -m)" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=aarch64 ;;
  *) arch=$(uname -m) ;;
esac
backend_target=${DEMO_BACKEND_TARGET:-$arch-unknown-linux-musl}
ensure_target "$backend_target"
linker_var=CARGO_TARGET_$(echo "$backend_target" | tr 'a-z-' 'A-Z_')_LINKER
export "$linker_var=${!linker_var:-rust-lld}"
cargo build --release --target "$backend_target" -p knative-traffic --bin demo-backend
cp "target/$backend_target/release/demo-backend" dist/demo-backend
echo "wasm-build: dist/demo-backend ($backend_target, $(wc -c < dist/demo-backend) bytes)" >&2
