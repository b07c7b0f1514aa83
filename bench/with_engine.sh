#!/usr/bin/env bash
# Runs COMMAND with a Docker engine and IMAGE built, for the container part of the bench, the way
# `make test-image` does (scripts/with_dockerd.sh + scripts/build_image.sh), with SCORESBY_IMAGE=IMAGE set.
# Without an engine (none running and dockerd cannot be started) or when the build fails, it says so in one
# line and runs COMMAND anyway: the container part then reports why it was not measured.
# Usage: bench/with_engine.sh IMAGE COMMAND [ARGS...]
set -uo pipefail
cd "$(dirname "$0")/.."
image=${1:?usage: with_engine.sh IMAGE COMMAND [ARGS...]}
shift
docker=$(scripts/docker_client.sh)
if "$docker" info >/dev/null 2>&1 || { [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null; }; then
  exec scripts/with_dockerd.sh bash -c '
    image=$1; shift
    scripts/build_image.sh "$image" || echo "bench: building $image failed; the container part is not measured"
    SCORESBY_IMAGE=$image "$@"' bash "$image" "$@"
fi
echo "bench: no Docker engine (none running, and starting dockerd needs root and docker.io); the container part is not measured"
SCORESBY_IMAGE=$image exec "$@"
