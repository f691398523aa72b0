"""A worker killed on this host: the attempts it claimed end as soon as housekeeping (or the
restarted worker's start) looks, not a heartbeat timeout later (walkthrough, session 8: the
page showed "Running" over a frozen log for a minute after the worker was SIGKILLed)."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading

import pytest
from django.db import connection

from tasks import services
from tasks.models import Attempt, Status
from tasks.sandbox.spec import owner_token, process_start_time
from tasks.worker.housekeeping import (
    end_attempts_without_heartbeat,
    end_attempts_without_heartbeat_once,
)
from tests.support import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def claim(settings):
    settings.ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS = 3600  # the heartbeat alone would not end it
    alice = factories.make_user("alice")
    repo = factories.make_repository(factories.make_team("Acme", admin=alice), name="calc")

    def claimed_by(worker: str) -> Attempt:
        attempt = factories.make_task(repo, alice, prompt="p", mode="code").attempts.get()
        assert services.attempt_claim(attempt_id=attempt.pk, worker=worker)
        return Attempt.objects.get(pk=attempt.pk)

    return claimed_by


def killed_process_token() -> str:
    """The owner token of a real process on this host, SIGKILLed after it was taken."""
    process = subprocess.Popen(["sleep", "60"])
    token = f"{socket.gethostname()}:{process.pid}:{process_start_time(process.pid)}"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    return token


def test_an_attempt_whose_worker_was_killed_ends_at_once_with_the_sentence(claim):
    attempt = claim(killed_process_token())
    assert attempt.worker and attempt.status == Status.RUNNING

    assert end_attempts_without_heartbeat() == [attempt.pk]

    attempt.refresh_from_db()
    assert (attempt.status, attempt.error) == (Status.FAILED, services.LOST_WORKER_MESSAGE)
    assert attempt.task.status == Status.FAILED
    last = attempt.events.order_by("-seq").first()
    assert last.payload["status"] == Status.FAILED  # the page hears it
    assert end_attempts_without_heartbeat() == []  # once


def test_live_and_other_hosts_workers_keep_their_attempts(claim):
    mine = claim(owner_token())  # this process: alive
    elsewhere = claim(f"other-host-{socket.gethostname()}:1:1")  # its own host's housekeeping
    unnamed = claim("")  # claimed before workers were recorded: the heartbeat decides

    assert end_attempts_without_heartbeat() == []
    statuses = set(Attempt.objects.filter(
        pk__in=[mine.pk, elsewhere.pk, unnamed.pk]).values_list("status", flat=True))
    assert statuses == {Status.RUNNING}


def test_the_workers_start_runs_the_check_and_never_raises(claim, monkeypatch):
    attempt = claim(killed_process_token())
    end_attempts_without_heartbeat_once()
    assert Attempt.objects.get(pk=attempt.pk).status == Status.FAILED

    def broken() -> list[int]:
        raise RuntimeError("database away")

    monkeypatch.setattr("tasks.worker.housekeeping.end_attempts_without_heartbeat", broken)
    end_attempts_without_heartbeat_once()  # logged, not raised: the worker starts anyway


def test_sweeps_at_once_end_each_attempt_once_and_only_its_ender_reports_it(claim, monkeypatch):
    """After a worker dies, its restarted self, beat's heartbeat check and housekeeping sweep at
    the same moment and find the same attempts. Each attempt ends once (one status event), and
    only the sweep that ended it reports it and removes its sandboxes (each said it ended all)."""
    attempts = [claim(killed_process_token()) for _ in range(3)]
    both_listed = threading.Barrier(2, timeout=30)
    calls = threading.local()

    def dead_once_both_listed(worker: str) -> bool:
        """Each sweep asks about every running attempt before ending any: the last answer
        waits for the other sweep's, so both hold the same list (the race, made certain)."""
        calls.count = getattr(calls, "count", 0) + 1
        if calls.count == len(attempts):
            both_listed.wait()
        return False

    monkeypatch.setattr("tasks.sandbox.reaper.owner_alive", dead_once_both_listed)
    reaped: list[list[int]] = []
    monkeypatch.setattr("tasks.worker.housekeeping.reap_attempt_sandboxes", reaped.append)
    results: list[list[int]] = []

    def sweep() -> None:
        try:
            results.append(end_attempts_without_heartbeat())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    ids = sorted(a.pk for a in attempts)
    assert sorted(results[0] + results[1]) == ids, results  # each reported by one sweep
    assert sorted(sum(reaped, [])) == ids, reaped  # and its sandboxes removed once
    for attempt in attempts:
        statuses = attempt.events.filter(kind="status").values_list("payload", flat=True)
        assert [s["status"] for s in statuses].count(Status.FAILED) == 1
