"""`make run`'s embedded stack: SQLite, its own redis-server, daphne and a worker, started and
stopped together. This starts the real thing (`codexweb serve`) and loads the sign-in page."""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from codexweb.embedded import default_public_url
from tests.support.services import ROOT, free_port

pytestmark = pytest.mark.timeout(180)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


def _get(url: str) -> tuple[int, str]:
    # Generous: the first request loads the URLconf and views, slow on a loaded machine.
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - loopback only
        return response.status, response.read().decode()


def _child_environ(startup: str, name: str) -> dict[str, str]:
    """The environment of the child the runner announced as `started NAME (pid N)`."""
    match = re.search(rf"started {name} \(pid (\d+)\)", startup)
    assert match, startup
    raw = Path(f"/proc/{match[1]}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


@pytest.fixture
def embedded(tmp_path: Path):
    web_port, redis_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CODEXWEB_TEST_SERVICES_READY", "DJANGO_SETTINGS_MODULE",
                       "DEBUG", "WORKER_CONCURRENCY"}
    }
    env.update(
        CODEXWEB_VAR_DIR=str(tmp_path / "var"),
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "codexweb.cli", "serve", "--port", str(web_port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so a failed test can still stop every child
    )
    lines: list[str] = []
    deadline = time.monotonic() + 120
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Press Ctrl-C" in line:
            break
    else:
        proc.kill()
    if not any("codexweb is running at" in line for line in lines):
        proc.kill()
        pytest.fail("the embedded stack did not start:\n" + "".join(lines[-40:]))
    yield {
        "proc": proc,
        "web": web_port,
        "redis": redis_port,
        "var": tmp_path / "var",
        "lines": lines,
    }
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # whatever is left: redis-server, worker, daphne


def test_embedded_stack_serves_first_run_setup_and_stops_together(embedded):
    startup = "".join(embedded["lines"])
    assert f"starting redis-server on 127.0.0.1:{embedded['redis']}" in startup
    assert "create the administrator account" in startup

    # A fresh install has no accounts, so the sign-in page leads to first-run setup.
    status, body = _get(f"http://127.0.0.1:{embedded['web']}/accounts/login/")
    assert status == 200
    assert "Create the first administrator account" in body or "Welcome to codexweb" in body
    status, css = _get(f"http://127.0.0.1:{embedded['web']}/static/css/app.css")
    assert status == 200 and ".sidebar" in css
    # DEBUG is off unless asked for: a missing page is the app's own, not Django's debug page
    # listing every URL pattern and the settings (what anyone reaching the app used to see).
    with pytest.raises(urllib.error.HTTPError) as missing:
        _get(f"http://127.0.0.1:{embedded['web']}/static/no-such-file.css")
    page = missing.value.read().decode()
    assert missing.value.code == 404
    assert "This page does not exist" in page and "css/app.css" in page
    assert "URLconf" not in page and "DEBUG = True" not in page
    assert (embedded["var"] / "codexweb.sqlite3").exists()
    assert _port_open(embedded["redis"])
    # Links in pull requests and e-mails name the port it serves on, not the default 8000.
    for name in ("daphne", "worker"):
        environ = _child_environ(startup, name)
        assert environ.get("PUBLIC_URL") == f"http://127.0.0.1:{embedded['web']}", name

    proc = embedded["proc"]
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert not _port_open(embedded["web"])
    assert not _port_open(embedded["redis"])


def test_the_worker_runs_as_many_attempts_at_once_as_the_settings_say(embedded):
    """The embedded worker runs WORKER_CONCURRENCY attempts at once, from the settings: unset,
    their default of 4 (.env.example), as a worker started on its own does. (The runner pinned
    2 before, so a best-of-2 task kept a person's next Ask waiting in the queue.) Celery's
    banner says what it runs with."""
    proc, seen = embedded["proc"], "".join(embedded["lines"])
    deadline = time.monotonic() + 60
    while "concurrency:" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1)
        if ready:
            seen += proc.stdout.readline()
    banner = re.search(r"concurrency: (\d+) \((\w+)\)", seen)
    assert banner, seen[-3000:]
    assert banner.groups() == ("4", "thread")


def test_children_stop_even_if_the_runner_is_killed(embedded):
    """SIGKILL gives the runner no chance to clean up; its children must not be orphaned."""
    embedded["proc"].kill()
    embedded["proc"].wait(timeout=10)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (
        _port_open(embedded["web"]) or _port_open(embedded["redis"])
    ):
        time.sleep(0.2)
    assert not _port_open(embedded["web"])
    assert not _port_open(embedded["redis"])


def test_public_url_defaults_to_where_the_runner_serves():
    assert default_public_url("127.0.0.1", 9000) == "http://127.0.0.1:9000"
    assert default_public_url("0.0.0.0", 8795) == "http://127.0.0.1:8795"
    assert default_public_url("::1", 8000) == "http://[::1]:8000"
    assert default_public_url("dev.example.com", 80) == "http://dev.example.com:80"
