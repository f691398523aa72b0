#!/usr/bin/env bash
# Make sure a Docker engine answers on this host; start one in the background if none does.
#
# Idempotent: does nothing when `docker info` already works. Otherwise installs Debian's
# docker.io package when dockerd is missing (needs root and apt), starts `dockerd` with its log
# in $DOCKERD_LOG, and waits at most $DOCKERD_WAIT seconds for it to answer.
# Exit status: 0 when an engine answers, 1 with a message saying what is missing otherwise.
set -euo pipefail

DOCKERD_LOG="${DOCKERD_LOG:-/var/log/codexweb-dockerd.log}"
DOCKERD_WAIT="${DOCKERD_WAIT:-60}"

say() { echo "docker-engine: $*" >&2; }

if docker info >/dev/null 2>&1; then
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        say "no Docker engine answers and dockerd is not installed; install Docker (Debian: apt-get install docker.io)"
        exit 1
    fi
    say "installing Debian's docker.io package"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io \
        || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io; }
fi

if [ "$(id -u)" -ne 0 ]; then
    say "no Docker engine answers and starting dockerd needs root; start it (sudo $0) or set DOCKER_HOST"
    exit 1
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
    say "starting dockerd in the background (log: $DOCKERD_LOG)"
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
else
    say "dockerd is running but not answering yet; waiting"
fi

for _ in $(seq 1 "$DOCKERD_WAIT"); do
    if docker info >/dev/null 2>&1; then
        say "Docker engine is up"
        exit 0
    fi
    sleep 1
done
say "dockerd did not answer within ${DOCKERD_WAIT}s; see $DOCKERD_LOG"
tail -n 20 "$DOCKERD_LOG" >&2 || true
exit 1
