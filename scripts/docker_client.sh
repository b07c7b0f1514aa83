#!/usr/bin/env bash
# Prints a docker client that can build with BuildKit (`--secret`): one with the buildx plugin, else Debian's
# docker.io 20.10 client, whose BuildKit is built in (a newer client without buildx has only the legacy builder).
if docker buildx version >/dev/null 2>&1; then echo docker
elif [ -x /usr/bin/docker ]; then echo /usr/bin/docker
else echo docker
fi
