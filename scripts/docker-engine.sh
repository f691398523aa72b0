#!/usr/bin/env bash
# Make sure a Docker engine answers on this host; start one in the background if none does.
#
# Idempotent: does nothing when `docker info` already works. Otherwise installs Debian's
# docker.io package when dockerd is missing (needs root and apt), starts `dockerd` with its log
# in $DOCKERD_LOG, and waits at most $DOCKERD_WAIT seconds for it to answer.
#
# Disk limits: the sandbox caps each container's writable layer with `--storage-opt size=`,
# which overlay2 supports only on XFS mounted with project quotas. With DOCKERD_QUOTA=on (or
# auto), the engine we start keeps its data on such a file system: a sparse XFS image file
# ($DOCKERD_QUOTA_IMAGE, $DOCKERD_QUOTA_SIZE) loop-mounted with pquota at $DOCKERD_QUOTA_ROOT
# (needs a kernel with CONFIG_XFS_QUOTA). Default off: the sandbox then enforces disk limits with
# its watchdog and a per-file size limit (see tasks/sandbox/README.md).
#
# Exit status: 0 when an engine answers, 1 with a message saying what is missing otherwise.
set -euo pipefail

# Defaults for the settings above that the environment leaves unset.
: "${DOCKERD_LOG:=/var/log/codexweb-dockerd.log}"
: "${DOCKERD_WAIT:=60}"
: "${DOCKERD_QUOTA:=off}"
: "${DOCKERD_QUOTA_ROOT:=/var/lib/codexweb-docker}"
: "${DOCKERD_QUOTA_IMAGE:=/var/lib/codexweb-docker.xfs}"
: "${DOCKERD_QUOTA_SIZE:=64G}"

say() { echo "docker-engine: $*" >&2; }

apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2 \
        || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2; }
}

# Mount (creating on first use) the XFS-with-project-quota data root. Returns 1 when impossible.
quota_root() {
    if grep -qs " $DOCKERD_QUOTA_ROOT xfs .*prjquota" /proc/mounts; then
        return 0
    fi
    if [ -s /etc/docker/daemon.json ] && grep -q '"data-root"' /etc/docker/daemon.json; then
        say "/etc/docker/daemon.json sets data-root; leaving it alone"
        return 1
    fi
    if ! command -v mkfs.xfs >/dev/null 2>&1; then
        say "installing xfsprogs (for the quota-capable data root)"
        apt_install xfsprogs || return 1
    fi
    if [ ! -s "$DOCKERD_QUOTA_IMAGE" ]; then
        say "creating a sparse $DOCKERD_QUOTA_SIZE XFS image at $DOCKERD_QUOTA_IMAGE"
        truncate -s "$DOCKERD_QUOTA_SIZE" "$DOCKERD_QUOTA_IMAGE" || return 1
        mkfs.xfs -q "$DOCKERD_QUOTA_IMAGE" || { rm -f "$DOCKERD_QUOTA_IMAGE"; return 1; }
    fi
    mkdir -p "$DOCKERD_QUOTA_ROOT"
    if ! mount -o loop,pquota "$DOCKERD_QUOTA_IMAGE" "$DOCKERD_QUOTA_ROOT"; then
        say "cannot mount XFS with project quotas (kernel without CONFIG_XFS_QUOTA?)"
        return 1
    fi
    grep -qs " $DOCKERD_QUOTA_ROOT xfs .*prjquota" /proc/mounts
}

if docker info >/dev/null 2>&1; then
    say "a Docker engine is running"
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        say "no Docker engine answers and dockerd is not installed; install Docker (Debian: apt-get install docker.io)"
        exit 1
    fi
    say "installing Debian's docker.io package"
    apt_install docker.io
fi

if [ "$(id -u)" -ne 0 ]; then
    say "no Docker engine answers and starting dockerd needs root; start it (sudo $0) or set DOCKER_HOST"
    exit 1
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
    args=()
    if [ "$DOCKERD_QUOTA" != "off" ]; then
        if quota_root; then
            args+=(--data-root "$DOCKERD_QUOTA_ROOT" --storage-driver overlay2)
            say "data root $DOCKERD_QUOTA_ROOT (XFS with project quotas: per-container disk limits work)"
        elif [ "$DOCKERD_QUOTA" = "on" ]; then
            say "DOCKERD_QUOTA=on but the XFS data root could not be set up"
            exit 1
        else
            say "no XFS data root; per-container disk limits fall back to the sandbox's watchdog"
        fi
    fi
    say "starting dockerd in the background (log: $DOCKERD_LOG)"
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    nohup dockerd "${args[@]}" >>"$DOCKERD_LOG" 2>&1 </dev/null &
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
