"""Item 7: the database goes away while an attempt writes its events (a PostgreSQL restart).

The worker (the real job, in a child process) retries each write for DB_RETRY_SECONDS: a short
outage loses nothing and the attempt ends as it would have; a longer one ends the attempt as
failed saying the database was unavailable. Either way the log has no gap and nothing
half-written (each event is one transaction).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tasks.resilience import DATABASE_UNAVAILABLE_MESSAGE
from tests.support.services import ROOT, PostgresServer

pytestmark = pytest.mark.timeout(300)

EVENTS = 60


def run_with_outage(server: PostgresServer, tmp_path, *, outage: float, retry_seconds: float):  # noqa: ANN001, ANN201
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "CODEXWEB_TEST_SERVICES_READY"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="codexweb.settings",
        DATABASE_URL=server.url.rsplit("/", 1)[0] + "/postgres",
        CODEXWEB_VAR_DIR=str(tmp_path),
        PYTHONPATH=str(ROOT),
        SANDBOX_BACKEND="docker",  # past the job's configuration checks; no sandbox is made
        OPENAI_API_KEY="sk-unused",
        DB_RETRY_SECONDS=str(retry_seconds),
        ATTEMPT_HEARTBEAT_SECONDS="0.2",
    )
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.db_outage_worker", str(EVENTS)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()  # bounded: the child ends (and closes stdout) or says so
        assert line.strip() == "WRITING", child.stderr.read()[-4000:] if child.stderr else ""
        server.stop(mode="fast")
        time.sleep(outage)
        server.start()
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err[-4000:]
    return json.loads(out.strip().splitlines()[-1]), err


def assert_no_gap(report: dict) -> None:
    assert report["seqs"] == list(range(1, report["last_seq"] + 1))


def test_a_short_outage_loses_no_event_and_the_attempt_ends_normally(private_postgres, tmp_path):
    report, log = run_with_outage(private_postgres, tmp_path, outage=2.0, retry_seconds=20)

    assert "retrying in" in log  # the outage did hit the writes
    assert report["status"] == "succeeded", report["error"]
    assert report["outputs"] == EVENTS
    assert_no_gap(report)


def test_a_long_outage_ends_the_attempt_saying_the_database_was_unavailable(
    private_postgres, tmp_path
):
    report, log = run_with_outage(private_postgres, tmp_path, outage=4.0, retry_seconds=3)

    assert report["status"] == "failed"
    assert report["error"] == DATABASE_UNAVAILABLE_MESSAGE
    assert 5 < report["outputs"] < EVENTS  # it stopped writing when it gave up
    assert_no_gap(report)
