#!/usr/bin/env bash
# Install the Debian packages codexweb needs, only those missing. Idempotent; says what it does.
# Usage: scripts/system-packages.sh run|test|helper (helper: the C compiler and static C library
# the sandbox's resident command helper is built with, see scripts/sandbox-helper.sh)
set -euo pipefail
purpose=${1:-test}

case "$purpose" in
  run)    want=(git redis-server socat docker.io debootstrap) ;;
  test)   want=(git redis-server socat docker.io debootstrap chromium postgresql) ;;
  helper) want=(gcc libc6-dev) ;;
  *) echo "usage: $0 run|test|helper" >&2; exit 2 ;;
esac

missing=()
for pkg in "${want[@]}"; do
  if [ "$pkg" = postgresql ] && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    continue  # the server binaries are what the tests need, whichever package brought them
  fi
  if [ "$pkg" = docker.io ] && command -v dockerd >/dev/null 2>&1; then
    continue  # a Docker engine installed another way is fine
  fi
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  case "$status" in *"install ok installed"*) ;; *) missing+=("$pkg") ;; esac
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "==> System packages: all present (${want[*]})"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "==> Missing system packages: ${missing[*]}; this is not a Debian/Ubuntu machine, install them by hand." >&2
  exit 1
fi
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
echo "==> Installing system packages: ${missing[*]} (apt-get)"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q >/dev/null
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts redis-server as a system service on install where it can; we run our own.
echo "==> System packages installed"
