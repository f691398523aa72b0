"""Settings for the test suites: the production code path on real PostgreSQL and Redis."""

from __future__ import annotations

import os

from tests.support.services import ensure_services

ensure_services()
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-" + "x" * 40)

from codexweb.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
