"""Settings for the test suites: the production code path on real PostgreSQL and Redis."""

from __future__ import annotations

import os
import tempfile

from tests.support.services import ensure_services

ensure_services()
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-" + "x" * 40)
# Git mirrors live in a per-session temporary directory, never in the checkout's var/; the app
# processes of browser tests inherit it (tests/support/live_app.py copies os.environ).
os.environ.setdefault("GIT_MIRROR_ROOT", tempfile.mkdtemp(prefix="codexweb-test-mirrors-"))

from codexweb.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
