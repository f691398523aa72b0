"""The agent package must stay free of Django, so it runs from a CLI and tests in milliseconds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_agent_package_does_not_import_django():
    modules = ["budgets", "citations", "collect", "config", "conversation", "instructions",
               "loop", "model", "patch", "records", "tools", "wire"]
    code = (
        "import sys\n"
        + "".join(f"import tasks.agent.{m}\n" for m in modules)
        + "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        + "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
