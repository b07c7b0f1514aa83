#!/usr/bin/env bash
# Builds worker/Dockerfile into IMAGE on python:3.11-slim-bookworm, or on the offline Debian base when that cannot be
# pulled; says which base it used and how big the image is. Usage: build_image.sh IMAGE
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:?usage: build_image.sh IMAGE}
default_base=python:3.11-slim-bookworm
offline_base=scoresby-base:bookworm-python3
docker=$(scripts/docker_client.sh)
if "$docker" image inspect "$default_base" >/dev/null 2>&1 || timeout 120 "$docker" pull -q "$default_base" >/dev/null 2>&1; then
  base=$default_base
else
  echo "$default_base cannot be pulled here; using the offline Debian base $offline_base"
  base=$offline_base
  "$docker" image inspect "$base" >/dev/null 2>&1 || DOCKER=$docker scripts/offline_base.sh "$base"
fi
# The host's CA bundle goes in as a BuildKit secret (mounted for pip's RUN only, in no layer), so pip trusts a
# TLS-intercepting proxy the host trusts. SCORESBY_BUILD_CA overrides it; an empty value passes none.
ca=${SCORESBY_BUILD_CA-/etc/ssl/certs/ca-certificates.crt}
secret=()
[ -n "$ca" ] && [ -s "$ca" ] && secret=(--secret "id=ca,src=$ca")
DOCKER_BUILDKIT=1 "$docker" build --quiet "${secret[@]}" --build-arg "BASE_IMAGE=$base" \
  --label "org.scoresby.base=$base" -f worker/Dockerfile -t "$image" . >/dev/null
size=$("$docker" image inspect -f '{{.Size}}' "$image")
echo "built $image on $base in ${SECONDS} s: $((size / 1000000)) MB"
