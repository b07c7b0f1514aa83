#!/usr/bin/env bash
# Builds a Debian 12 image with Debian's python3 (3.11) from Debian's packages, for machines that cannot pull
# python:3.11-slim-bookworm: debootstrap from the mirror apt already uses, then `docker import`. Usage: offline_base.sh TAG
set -euo pipefail
tag=${1:?usage: offline_base.sh TAG}
docker=${DOCKER:-docker}
# The mirror apt already uses (it is reachable from here); Debian's own where apt has fetched no lists yet.
mirror=$(apt-cache policy | awk '$3 ~ /^bookworm\/main$/ {print $2; exit}')
mirror=${mirror:-http://deb.debian.org/debian}
root=$(mktemp -d /var/tmp/scoresby-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "debootstrap --variant=minbase bookworm from $mirror"
# ca-certificates as in python:3.11-slim-bookworm (HTTPS to S3 from GDAL and boto3); python3-venv for the build stage.
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$root" "$mirror" >/dev/null
# Nothing of apt's downloads or lists in the image.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/usr/share/locale/*
tar -C "$root" -c . | "$docker" import -c 'CMD ["/bin/bash"]' -m "debootstrap minbase bookworm from $mirror + python3" - "$tag" >/dev/null
echo "offline base $tag: Debian bookworm minbase from $mirror, $("$docker" run --rm "$tag" python3 --version)"
