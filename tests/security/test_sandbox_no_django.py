"""The sandbox package takes plain specs: settings (the install id among them) are read by the
worker and passed down, so the container boundary never imports Django."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    "base", "spec", "images", "leftovers", "file_tool", "masking", "container", "docker",
    "streaming", "output", "config", "backends", "reaper",
]  # fmt: skip


def test_the_sandbox_package_does_not_import_django():
    code = (
        "import sys\n"
        + "".join(f"import tasks.sandbox.{m}\n" for m in MODULES)
        + "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        + "assert not loaded, loaded\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
