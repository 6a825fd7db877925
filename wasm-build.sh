#!/usr/bin/env bash
# Builds what Envoy and `docker compose up` run:
#   dist/knative_traffic.wasm  the filter, as a Wasm module (wasm32-wasip1)
#   dist/demo-backend          the demo revision, a static Linux binary (musl)
#                              for the FROM scratch image docker-compose.yaml builds
# Installs the rustup targets it needs when they are missing.
#
# The module is built with cargo's `wasm` profile (optimised for size), then
# shrunk by binaryen's wasm-opt -Oz when wasm-opt is installed (Debian and
# Ubuntu: apt-get install binaryen). Without it the build still succeeds with
# a larger module that behaves the same; scripts/test.sh requires binaryen,
# so the suite tests the shipped form, and scripts/bench.sh installs it where
# it can (its module-size table says which form it measured).
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
# Panic locations (in code that cannot panic, but whose checks the compiler
# keeps) name the dependencies' source files by their path under cargo's
# home; written relative to it, the module does not carry the builder's home
# directory, and is 0.7 KB smaller.
# RUSTFLAGS splits on spaces, so a home with one in its path is left as it is.
remap=""
for registry in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
  if [ -d "$registry" ] && [[ "$registry" != *[[:space:]]* ]]; then
    remap+=" --remap-path-prefix=${registry%/}=crates"
  fi
done
# Only the proxy-wasm shell (wasm/) and the core it links: the workspace's
# command-line tool is a native program.
RUSTFLAGS="${RUSTFLAGS:-}$remap" cargo build --profile wasm --target "$target" -p knative-traffic-wasm
mkdir -p dist
built="target/$target/wasm/knative_traffic_wasm.wasm"
if command -v wasm-opt >/dev/null; then
  # The features rustc's wasm32-wasip1 output uses; wasm-opt refuses the
  # module unless they are named.
  # --converge: passes again while the module still shrinks (0.5 KB).
  wasm-opt -Oz --converge --strip-debug --strip-producers \
    --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
    --enable-nontrapping-float-to-int \
    "$built" -o dist/knative_traffic.wasm.tmp
  mv dist/knative_traffic.wasm.tmp dist/knative_traffic.wasm
  how="cargo profile wasm, then wasm-opt -Oz --converge"
else
  echo "wasm-build: wasm-opt not found (binaryen); the module is not shrunk further" >&2
  cp "$built" dist/knative_traffic.wasm
  how="cargo profile wasm, no wasm-opt"
fi
echo "wasm-build: dist/knative_traffic.wasm ($(wc -c < dist/knative_traffic.wasm) bytes; $how)" >&2

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
