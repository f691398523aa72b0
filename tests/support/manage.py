"""`manage.py` as a subprocess, so settings are read fresh from the environment a test gives."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.services import ROOT


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `manage.py ARGS` with the test environment minus DEBUG*, SECRET_KEY* and the test
    settings module, plus `env`; the result, whatever the exit code."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DEBUG", "SECRET_KEY"))}
    base.pop("DJANGO_SETTINGS_MODULE", None)
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base, capture_output=True,
        text=True, timeout=120, check=False,
    )
