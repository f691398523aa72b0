"""Item 0 on the embedded default: SQLite. Two best-of-4 tasks at once — eight attempts, each
driven by its own thread as a worker drives it (claim, heartbeat every 50 ms, events, finish)
while a page reads the log — against a real SQLite file with the settings `make run` uses.

Every attempt must end, every event must be written once in order, and no "database is locked"
may escape or even need a retry (before WAL + IMMEDIATE transactions, one attempt's job died at
its first event write while its sibling wrote, and the attempt stayed "Running" for good).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.services import ROOT

pytestmark = pytest.mark.timeout(600)

TASKS = 2
EVENTS = 40


def test_best_of_4_tasks_at_once_on_sqlite_all_end_and_nothing_is_locked(tmp_path):
    (tmp_path / "var").mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "CODEXWEB_TEST_SERVICES_READY"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="codexweb.settings",
        CODEXWEB_VAR_DIR=str(tmp_path / "var"),
        PYTHONPATH=str(ROOT),
        ATTEMPT_HEARTBEAT_SECONDS="0.05",
    )
    done = subprocess.run(
        [sys.executable, "-m", "tests.faults.sqlite_writers", str(TASKS), str(EVENTS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])

    assert report["engine"] == "django.db.backends.sqlite3"
    assert report["journal_mode"] == "wal"
    assert report["errors"] == []
    assert not [w for w in report["warnings"] if "locked" in w], report["warnings"]
    assert len(report["attempts"]) == TASKS * 4
    for attempt in report["attempts"].values():
        # queued is not published by the factory; running + EVENTS outputs + succeeded
        assert attempt == {"status": "succeeded", "last_seq": EVENTS + 2, "events": EVENTS + 2}
    assert "database is locked" not in done.stderr
