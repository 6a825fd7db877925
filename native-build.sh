#!/usr/bin/env bash
# Builds the filter as an Envoy dynamic module, once per supported Envoy ABI:
#   dist/native/1.36/libknative_traffic.so  for Envoy 1.36.3 and later 1.36
#   dist/native/1.40/libknative_traffic.so  for Envoy 1.40
# Envoy loads `lib{name}.so` from the directory in
# ENVOY_DYNAMIC_MODULES_SEARCH_PATH, where {name} is the configuration's
# dynamic_module_config.name (knative_traffic): point it at the directory of
# the build for your Envoy (docs/native-module.md).
#
#   ./native-build.sh          # both
#   ./native-build.sh 1.40     # one
#
# Release profile, for this machine's architecture, linked against this
# machine's glibc: build on a system whose glibc is no newer than the one
# Envoy runs on.
#
# The module needs nothing but glibc: the unwinder Rust's standard library
# links (libgcc_s) is linked in statically, so an Envoy image that has no
# libgcc_s (distroless, or the tests' FROM scratch image) loads it. That
# takes GCC's libgcc_eh.a, which the C compiler Rust links with names; where
# there is none the module links libgcc_s.so.1 as usual, and says so.
set -euo pipefail
cd "$(dirname "$0")"

lines=("$@")
[ ${#lines[@]} -gt 0 ] || lines=(1.36 1.40)

# rustc asks for -lgcc_s; a directory searched first that holds only a
# static libgcc_s.a (GCC's libgcc_eh.a) makes the linker take that.
link_args=()
eh=$(${CC:-cc} -print-file-name=libgcc_eh.a 2>/dev/null || true)
if [ -f "$eh" ]; then
  static=target/native-link
  mkdir -p "$static"
  ln -sf "$(realpath "$eh")" "$static/libgcc_s.a"
  link_args=(-L "native=$PWD/$static")
else
  echo "native-build: no libgcc_eh.a from ${CC:-cc}: the module will need libgcc_s.so.1 where Envoy runs" >&2
fi

for line in "${lines[@]}"; do
  case $line in
    1.36) features=envoy-1-36 ;;
    1.40) features=envoy-1-40 ;;
    *) echo "native-build: no build for Envoy $line (1.36 or 1.40)" >&2; exit 1 ;;
  esac
  # `cargo rustc`: the link flags reach this crate only, so the core's
  # release build stays the one the benchmarks and the tool share.
  cargo rustc --release -p knative-traffic-native --no-default-features --features "$features" \
    -- "${link_args[@]}"
  mkdir -p "dist/native/$line"
  cp target/release/libknative_traffic_native.so "dist/native/$line/libknative_traffic.so.tmp"
  mv "dist/native/$line/libknative_traffic.so.tmp" "dist/native/$line/libknative_traffic.so"
  if readelf -d "dist/native/$line/libknative_traffic.so" 2>/dev/null | grep -q 'libgcc_s'; then
    needs="needs libgcc_s.so.1"
  else
    needs="needs only glibc"
  fi
  echo "native-build: dist/native/$line/libknative_traffic.so ($(wc -c < "dist/native/$line/libknative_traffic.so") bytes; Envoy $line; $needs)" >&2
done
