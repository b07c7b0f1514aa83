#!/usr/bin/env bash
# Runs COMMAND with a Docker engine: uses the running one, else starts dockerd and stops it (only it) after,
# also when COMMAND fails or the run is interrupted. Usage: with_dockerd.sh COMMAND [ARGS...]
set -euo pipefail
docker=$("$(dirname "$0")/docker_client.sh")
if "$docker" info >/dev/null 2>&1; then
  exec "$@"
fi
[ "$(id -u)" = 0 ] || { echo "no Docker engine is running and starting dockerd needs root" >&2; exit 1; }
log=$(mktemp /var/tmp/scoresby-dockerd.XXXXXX.log)
dockerd >"$log" 2>&1 &
pid=$!
stop() {
  if kill "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    echo "stopped the dockerd this command started (pid $pid)"
  fi
  rm -f "$log"
}
trap stop EXIT
for _ in $(seq 60); do
  "$docker" info >/dev/null 2>&1 && break
  # Another run may have started its own dockerd at the same moment (ours then exits): use that one.
  kill -0 "$pid" 2>/dev/null || { "$docker" info >/dev/null 2>&1 && break; echo "dockerd exited:"; cat "$log"; exit 1; }
  sleep 0.5
done
"$docker" info >/dev/null 2>&1 || { echo "dockerd did not answer in 30 s:"; tail "$log"; exit 1; }
echo "started dockerd (pid $pid) for this command; it stops when the command ends"
# The command runs in the background so that a TERM or Ctrl-C reaches this script at once (bash runs traps
# only between commands): it is passed on to the command, then the EXIT trap stops dockerd.
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143' TERM
trap 'kill -INT "$child" 2>/dev/null; wait "$child"; exit 130' INT
wait "$child"
