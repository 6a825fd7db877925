#!/usr/bin/env bash
# The demo: builds the filter, starts three revisions of the seeds' rest-api
# (v1, v2, v3) and a real Envoy with envoy/envoy.yaml (split 80/10/10, tags
# v1, v2, v3 and latest), sends a hundred requests and counts who served them,
# then shows the tag header, a tag subdomain and an unknown tag.
#
#   scripts/demo.sh           # run the demo, then stop everything
#   scripts/demo.sh --serve   # leave Envoy and the revisions running until Ctrl-C
#
# Uses ports 8080 (Envoy), 9901 (Envoy admin) and 8081-8083 (revisions).
set -euo pipefail
cd "$(dirname "$0")/.."

serve=false
[ "${1:-}" = "--serve" ] && serve=true
command -v curl >/dev/null || { echo "demo: curl is needed" >&2; exit 1; }
for port in 8080 9901 8081 8082 8083; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: port $port is already in use; stop what listens there first" >&2
    exit 1
  fi
done

envoy=$(scripts/install-envoy.sh 1.40.0)
./wasm-build.sh
cargo build --release --quiet --bin demo-backend

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

logs=$(mktemp -d)
for i in 1 2 3; do
  target/release/demo-backend --listen "127.0.0.1:808$i" --resource "v$i" 2>>"$logs/backends.log" &
  pids+=($!)
done
"$envoy" -c envoy/envoy.yaml --log-level warn --component-log-level wasm:info 2>"$logs/envoy.log" &
pids+=($!)

for _ in $(seq 100); do
  curl -sf -o /dev/null http://127.0.0.1:9901/ready 2>/dev/null && curl -s -o /dev/null http://127.0.0.1:8080/ && break
  sleep 0.2
done
curl -sf -o /dev/null http://127.0.0.1:9901/ready || { echo "demo: Envoy did not start:" >&2; cat "$logs/envoy.log" >&2; exit 1; }

host=traffic-example.default.example.com
say() { printf '\n$ %s\n' "$*"; }

say "100 requests to $host (split v1 80%, v2 10%, v3 10%)"
for _ in $(seq 100); do curl -s -H "Host: $host" http://127.0.0.1:8080/; done | sort | uniq -c

say "curl -H 'Host: $host' -H 'Knative-Serving-Tag: v2' http://127.0.0.1:8080/"
curl -s -H "Host: $host" -H 'Knative-Serving-Tag: v2' http://127.0.0.1:8080/

say "curl -H 'Host: latest-$host' http://127.0.0.1:8080/     # the 0% latest tag"
curl -s -H "Host: latest-$host" http://127.0.0.1:8080/

say "curl -H 'Host: v3-$host' http://127.0.0.1:8080/v3/aapl"
curl -s -H "Host: v3-$host" http://127.0.0.1:8080/v3/aapl

say "curl -i -H 'Host: v9-$host' http://127.0.0.1:8080/      # no such tag"
curl -s -i -H "Host: v9-$host" http://127.0.0.1:8080/ | sed -n '1p;$p'

if $serve; then
  printf '\nEnvoy on http://127.0.0.1:8080 (admin http://127.0.0.1:9901); Ctrl-C stops it all.\n'
  wait
fi
