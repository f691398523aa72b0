#!/usr/bin/env bash
# Build .venv-proxy: the egress proxy's own virtual environment (mitmproxy pins cryptography,
# asgiref and h11 versions the main environment cannot share). Idempotent and quick when current.
#   PROXY_VENV       where (default: .venv-proxy next to this repository's pyproject.toml)
#   PROXY_PYTHON     interpreter to build it with (default python3.11, else python3)
#   MITMPROXY_VERSION (default 11.0.2, the newest that supports Python 3.11)
set -euo pipefail

HERE="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${PROXY_VENV:-$HERE/.venv-proxy}"
VERSION="${MITMPROXY_VERSION:-11.0.2}"
PY="${PROXY_PYTHON:-$(command -v python3.11 || command -v python3)}"

say() { echo "proxy-venv: $*" >&2; }

if [ -x "$VENV/bin/mitmdump" ] && "$VENV/bin/python" -c \
    "import importlib.metadata as m, sys; sys.exit(m.version('mitmproxy') != '$VERSION')" 2>/dev/null; then
    say "$VENV has mitmproxy $VERSION"
    exit 0
fi
say "building $VENV with mitmproxy $VERSION"
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "mitmproxy==$VERSION"
say "$("$VENV/bin/python" -c "import mitmproxy.version as v; print('mitmproxy', v.VERSION)")" ready
