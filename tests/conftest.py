"""Fixtures shared by every area: the people and teams the tests talk about.

alice administers team Acme; bob is a member of Acme; carol administers another team, Globex,
and must never see Acme's things.
"""

from __future__ import annotations

import os
import sys
import time

import pytest

from tests.support import factories, flush_retry, leftover_images, leftover_proxies, live_app
from tests.support.celery_queue import empty_queue  # noqa: F401
from tests.support.connected_github import gh  # noqa: F401
from tests.support.github_fixtures import _github_double_server, github_double  # noqa: F401

flush_retry.install()


@pytest.fixture(scope="session", autouse=True)
def app_logs_in_pytests_folder(tmp_path_factory):
    """The logs of the daphne and Celery processes tests start (tests/support/live_app.py)."""
    live_app.LOG_FOLDER = tmp_path_factory.mktemp("app-logs")


@pytest.fixture(autouse=True)
def container_removals_done():
    """An attempt run in this process queues its container's removal (tasks/sandbox/removal.py):
    it is done before the next test, which may count the engine's containers."""
    yield
    removal = sys.modules.get("tasks.sandbox.removal")
    if removal is not None:
        assert removal.drain(60), "the container removals a test queued took over 60 s"


@pytest.fixture
def alice(db):
    return factories.make_user("alice")


@pytest.fixture
def bob(db):
    return factories.make_user("bob")


@pytest.fixture
def carol(db):
    return factories.make_user("carol")


@pytest.fixture
def acme(alice, bob):
    team = factories.make_team("Acme", admin=alice)
    factories.add_member(team, bob)
    return team


@pytest.fixture
def globex(carol):
    return factories.make_team("Globex", admin=carol)


@pytest.fixture
def acme_repo(acme):
    return factories.make_repository(acme, owner="acme", name="webapp")


@pytest.fixture
def globex_repo(globex):
    return factories.make_repository(globex, owner="globex", name="secret-plans")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


@pytest.fixture
def carol_client(client, carol):
    client.force_login(carol)
    return client


# In CI the sandbox and browser suites must really run: a skip there is a failure.
MUST_RUN_IN_CI = ("tests/sandbox/", "tests/browser/", "tests/faults/")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or os.environ.get("CI", "").lower() not in {"1", "true", "yes"}:
        return
    path = str(item.path.relative_to(item.config.rootpath))
    if path.startswith(MUST_RUN_IN_CI) and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped in CI, where this suite must run: {reason}"


LEFT_PROXIES = pytest.StashKey[dict[int, str]]()
SESSION_STARTED = pytest.StashKey[float]()


def pytest_sessionstart(session):
    leftover_proxies.mark_session()
    session.config.stash[SESSION_STARTED] = time.time()


def pytest_sessionfinish(session, exitstatus):
    """Fail a session that leaves an egress proxy running (tests/support/leftover_proxies.py);
    the summary names them. Remove the warm images the session made (leftover_images.py)."""
    left = leftover_proxies.left_behind()
    session.config.stash[LEFT_PROXIES] = left
    leftover_images.remove_warm_images_since(session.config.stash[SESSION_STARTED])
    if left and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    left = config.stash.get(LEFT_PROXIES, {})
    if left:
        terminalreporter.write_sep("!", "egress proxies left behind (now killed)", red=True)
        for pid, command in sorted(left.items()):
            terminalreporter.write_line(f"pid {pid}: {command}")
