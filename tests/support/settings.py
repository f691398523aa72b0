"""Settings for the test suites: the production code path on real PostgreSQL and Redis."""

from __future__ import annotations

import atexit
import getpass
import os
import shutil
import tempfile
from pathlib import Path

from tests.support.services import ensure_services

ensure_services()
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-" + "x" * 40)
# Git mirrors live in a per-session temporary directory, never in the checkout's var/; the app
# processes of browser tests inherit it (tests/support/live_app.py copies os.environ). The
# process that made it removes it when it exits (not a child forked from it, which inherits the
# exit handler).
def _remove_mirrors(folder: str, maker: int) -> None:
    if os.getpid() == maker:
        shutil.rmtree(folder, ignore_errors=True)


if "GIT_MIRROR_ROOT" not in os.environ:
    os.environ["GIT_MIRROR_ROOT"] = tempfile.mkdtemp(prefix="codexweb-test-mirrors-")
    atexit.register(_remove_mirrors, os.environ["GIT_MIRROR_ROOT"], os.getpid())
# Tests register repositories they make under pytest's temporary folders (tmp_path), so that is
# the one folder paths may be registered from; the mirrors above lie outside it.
_PYTEST_TEMP = Path(os.environ.get("PYTEST_DEBUG_TEMPROOT") or tempfile.gettempdir()).resolve()
os.environ.setdefault("GIT_LOCAL_ROOTS", str(_PYTEST_TEMP / f"pytest-of-{getpass.getuser()}"))
# The GitHub stand-in and other test servers listen on 127.0.0.1, allowed by name.
os.environ.setdefault("GIT_ALLOWED_HOSTS", "*,127.0.0.1")
# Tests push to a repository and start the next attempt at once, and GitHub stand-in mirrors
# are shared by name across the session: every attempt fetches (tests/core/test_mirror_fresh.py
# turns the window on for itself).
os.environ.setdefault("GIT_MIRROR_FRESH_SECONDS", "0")
# Webhook tests deliver to loopback receivers.
os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE", "127.0.0.0/8")

# No pre-started containers unless a test asks (tests/sandbox/test_pool.py): a pool made in the
# background would outlive the tests that count a worker's containers.
os.environ.setdefault("SANDBOX_POOL_SIZE", "0")
# Tests pin the CAs a sandbox trusts themselves; the host's added CAs (on by default) are
# covered by tests/sandbox/test_host_trust.py.
os.environ.setdefault("SANDBOX_TRUST_HOST_CAS", "false")

from codexweb.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
# Attempts in the suites start from the slim image (it starts quicker); the toolchain tests ask
# for the universal one themselves (tests/support/sandbox_fixtures.py). App processes the tests
# start read this module too, so they agree.
SANDBOX_IMAGE = os.environ.get("SANDBOX_TEST_IMAGE", "codexweb-sandbox-slim:latest")
