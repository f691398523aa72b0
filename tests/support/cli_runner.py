"""Running the `codexweb` CLI as a subprocess in tests (tests/api, tests/security): a signed-up
world (alice, team Acme, acme/webapp, an API token, a private HOME), the command with that HOME,
in the foreground or the background (`cli_streaming`: one that creates a task and follows it),
and `codexweb login`.

Register `world` in a suite's conftest to use it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from codexweb.api.tokens import api_token_create
from tests.support import factories
from tests.support.celery_queue import queue_clear
from tests.support.services import ROOT


@pytest.fixture
def world(transactional_db, tmp_path):
    alice = factories.make_user("alice")
    acme = factories.make_team("Acme", admin=alice)
    factories.make_repository(acme, owner="acme", name="webapp")
    yield {"token": api_token_create(user=alice, name="cli").secret, "home": tmp_path / "home"}
    queue_clear()


def cli_env(world) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CODEXWEB_URL", "CODEXWEB_TOKEN"))
    }
    env.update(
        {
            "HOME": str(world["home"]),
            "XDG_CONFIG_HOME": str(world["home"] / ".config"),
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("CODEXWEB_CONFIG", None)
    return env


def cli(
    world, *args: str, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "codexweb.cli", *args],
        env=cli_env(world),
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _as_in_a_terminal() -> None:
    """Ctrl-C in a terminal reaches a CLI whose SIGINT is the default; a test run started in the
    background of a non-interactive shell (a CI job) inherits SIGINT ignored, so restore it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli_background(world, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "codexweb.cli", *args],
        env=cli_env(world),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_in_a_terminal,
    )


@contextlib.contextmanager
def cli_streaming(world, *args: str) -> Iterator[tuple[subprocess.Popen, Any]]:
    """`codexweb ARGS` in the background, a command that creates a task and follows it: yields
    the process and the task it created; kills the process on leaving if it still runs."""
    from tasks.models import Task

    before = set(Task.objects.values_list("pk", flat=True))
    process = cli_background(world, *args)
    try:
        yield process, wait_for_task(before)
    finally:
        if process.poll() is None:
            process.kill()


def cli_login(live_app, world) -> None:
    """`codexweb login` with the world's token; the config is written private (0600)."""
    result = cli(world, "login", "--server", live_app.url, stdin=world["token"] + "\n")
    assert result.returncode == 0, result.stderr
    assert "as alice" in result.stdout
    config = world["home"] / ".config" / "codexweb" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text()) == {"server": live_app.url, "token": world["token"]}


def wait_for_task(before: set[int], timeout: float = 30):  # noqa: ANN201 — a Task
    """The task a CLI started in the background created: the first one not in `before`."""
    from tasks.models import Task

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = Task.objects.exclude(pk__in=before).first()
        if new is not None:
            return new
        time.sleep(0.1)
    raise AssertionError("the CLI created no task")
