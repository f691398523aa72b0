#!/usr/bin/env bash
# Build the sandbox's resident command helper (sandbox/helper/codexweb-helper.c) as one static
# binary under .cache/sandbox-helper/<source hash>/, unless it is built already. Installs the C
# compiler and the static C library (gcc, libc6-dev) with apt when they are missing. Idempotent.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
missing=()
for pkg in gcc libc6-dev; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  case "$status" in *"install ok installed"*) ;; *) missing+=("$pkg") ;; esac
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "==> Missing ${missing[*]} for the sandbox helper; install them by hand." >&2
    exit 1
  fi
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  echo "==> Installing ${missing[*]} (apt-get) for the sandbox helper"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q >/dev/null
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
path=$("$HERE/.venv/bin/python" -m tasks.sandbox.helper_build "$HERE/.cache/sandbox-helper")
echo "==> Sandbox helper: $path"
