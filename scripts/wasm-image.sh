#!/usr/bin/env bash
# Packages the built module as the OCI image Istio's WasmPlugin pulls:
# istio/Dockerfile, FROM scratch with one layer holding plugin.wasm (the
# "compat" variant Istio's image fetcher accepts).
#
#   ./wasm-build.sh
#   scripts/wasm-image.sh                                              # tag knative-traffic:VERSION
#   scripts/wasm-image.sh registry.example.com/knative-traffic:0.1.0 --push
#
# VERSION is the package version in Cargo.toml. Prints the image's tag.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
tag=knative-traffic:$version
push=false
for arg in "$@"; do
  case "$arg" in
    --push) push=true ;;
    -*) echo "wasm-image: unknown option $arg" >&2; exit 2 ;;
    *) tag=$arg ;;
  esac
done

[ -f dist/knative_traffic.wasm ] || { echo "wasm-image: dist/knative_traffic.wasm is missing: run ./wasm-build.sh first" >&2; exit 1; }
echo "wasm-image: building $tag from dist/knative_traffic.wasm" >&2
# The module runs anywhere, but the image is labelled linux/amd64 whatever
# the machine building it: Istio's image fetcher (pkg/wasm/imagefetcher.go)
# resolves a tag with go-containerregistry's remote.Descriptor.Image(), which,
# when the tag is an image index (as Docker's containerd image store and
# BuildKit push), takes the child of the default platform linux/amd64 and
# fails if there is none, e.g. for an image built on an arm64 laptop.
docker build --quiet --platform linux/amd64 --file istio/Dockerfile --tag "$tag" dist >&2
if $push; then
  docker push "$tag" >&2
fi
echo "$tag"
