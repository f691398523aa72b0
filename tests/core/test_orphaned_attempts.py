"""A worker killed on this host: the attempts it claimed end as soon as housekeeping (or the
restarted worker's start) looks, not a heartbeat timeout later (walkthrough, session 8: the
page showed "Running" over a frozen log for a minute after the worker was SIGKILLed)."""

from __future__ import annotations

import signal
import socket
import subprocess

import pytest

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
