#!/usr/bin/env bash
# Build the sandbox's resident command helper (sandbox/helper/codexweb-helper.c) as one static
# binary under .cache/sandbox-helper/<source hash>/, unless it is built already. Installs the C
# compiler and the static C library (gcc, libc6-dev) with apt when they are missing
# (scripts/system-packages.sh helper). Idempotent.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
"$HERE/scripts/system-packages.sh" helper
path=$("$HERE/.venv/bin/python" -m tasks.sandbox.helper_build "$HERE/.cache/sandbox-helper")
echo "==> Sandbox helper: $path"
