#!/usr/bin/env bash
# Create .venv and install codexweb with pinned dependencies; skip when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3
stamp=.venv/.installed
digest=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ] && [ -x .venv/bin/codexweb ]; then
  echo "==> Python environment .venv is up to date"
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> Creating the virtual environment .venv ($($python --version))"
  "$python" -m venv .venv
fi
echo "==> Installing Python packages into .venv (pinned by constraints.txt)"
.venv/bin/pip install -q --disable-pip-version-check --upgrade pip setuptools wheel
.venv/bin/pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
echo "$digest" > "$stamp"
echo "==> Python environment ready"
