"""The real app served for a browser: daphne (and, when asked, a Celery worker) in subprocesses.

Both children run the same code as production (`codexweb.asgi`, `celery -A codexweb worker`)
against this test session's PostgreSQL test database and Redis, so a browser test sees rows the
test created (use `transactional_db`, so they are committed) and the test sees rows the app wrote.

Fixtures (import them into a conftest.py):
- `live_app`: a `LiveApp` with `.url`; one daphne for the whole session.
- `live_worker`: a Celery worker for the attempts queue, per test module.
`start_daphne(port, **env)` and `start_worker(**env)` start more of them, e.g. against another
Redis (the fault tests restart those by PID).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from tests.support.services import ROOT, free_port, wait_for_port

# A bound, never a wait: at load 38 a daphne had not answered 60 s after its start (session 6).
STARTUP_SECONDS = 180.0

# Where the app processes' logs go (kept after a test to read its failure): pytest's temporary
# folder for this session once tests/conftest.py set it, which pytest removes three sessions
# later; a full run used to leave about twenty logs in /tmp for good.
LOG_FOLDER: Path | None = None


def _log_file(prefix: str) -> Path:
    return Path(tempfile.mkstemp(prefix=prefix, suffix=".log", dir=LOG_FOLDER)[1])


@dataclass
class LiveApp:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _test_database_url() -> str:
    """DATABASE_URL of the database pytest-django created (test_codexweb, or a per-worker copy)."""
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def child_environment(**extra: str) -> dict[str, str]:
    """Environment for an app process: the test settings, pointed at the test database."""
    env = dict(os.environ)
    env.update(
        {
            # The test settings: same hasher as the test process, so test users can sign in.
            "DJANGO_SETTINGS_MODULE": "tests.support.settings",
            "CODEXWEB_TEST_SERVICES_READY": "1",
            "DATABASE_URL": _test_database_url(),
            "REDIS_URL": os.environ["REDIS_URL"],
            "SANDBOX_BACKEND": "none",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(extra)
    return env


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 15 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def start_daphne(port: int | None = None, **extra: str) -> LiveApp:
    """Start daphne on `port` (a free loopback one by default) and wait (bounded) until it
    answers. `extra`: environment variables for it (see child_environment)."""
    port = port or free_port()
    log_path = _log_file("daphne-")
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
             "codexweb.asgi:application"],
            cwd=ROOT, env=child_environment(**extra), stdout=log, stderr=subprocess.STDOUT,
        )
    app = LiveApp(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        wait_for_port(port, timeout=STARTUP_SECONDS, what="daphne")
        _wait_for_the_app(app, deadline)
    except RuntimeError as exc:
        stop_process(process)
        raise RuntimeError(f"{exc}\n--- daphne log ---\n{app.log_tail()}") from exc
    if process.poll() is not None:
        raise RuntimeError(f"daphne exited with {process.returncode}:\n{app.log_tail()}")
    return app


@pytest.fixture(scope="session")
def live_app(django_db_setup, django_db_blocker) -> Iterator[LiveApp]:
    app = start_daphne()
    yield app
    stop_process(app.process)


def _wait_for_the_app(app: LiveApp, deadline: float) -> None:
    """Until the app answers /healthz (bounded by `deadline`). daphne listens before it loaded
    the app: the first request imports every URL conf and view, which took 29 s on the loaded
    2-core machine, and a test's first page load (15 s bound) failed on it (session 6)."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RuntimeError(f"daphne did not answer {app.url}/healthz in time")
        try:
            url = f"{app.url}/healthz"
            with urllib.request.urlopen(url, timeout=remaining) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    return
        except OSError:
            if app.process.poll() is not None:
                raise RuntimeError(f"daphne exited with {app.process.returncode}") from None
            time.sleep(0.1)


_names = itertools.count(1)


def start_worker(**extra: str) -> tuple[subprocess.Popen, Path]:
    """A real `celery -A codexweb worker` for the attempts queue, started and ready (bounded);
    returns it and its log file. `extra`: environment variables for it."""
    log_path = _log_file("celery-")
    name = f"tests-{os.getpid()}-{next(_names)}@%h"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "codexweb", "worker", "--pool", "solo",
             "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "-n", name],
            cwd=ROOT, env=child_environment(**extra), stdout=log, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + STARTUP_SECONDS
    while "ready." not in log_path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            raise RuntimeError(f"celery worker did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.1)
    return process, log_path


@pytest.fixture(scope="module")
def live_worker(django_db_setup) -> Iterator[subprocess.Popen]:
    """A real `celery -A codexweb worker` consuming the attempts queue, stopped after the module."""
    process, _log = start_worker()
    yield process
    stop_process(process)
