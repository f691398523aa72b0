"""Item 6 at the attempt level: cancelling an attempt while it is queued, fetching, in its setup
script or running a command ends it as "cancelled", with no raw engine error in its log and no
container left. The job runs as a worker runs it (`run_attempt`), the cancel comes from another
thread the moment the attempt reaches the phase, as a person's click would.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import pytest

from repos.services import repository_register
from tasks import event_kinds as kinds
from tasks.jobs import run_attempt
from tasks.models import Attempt, Event, Status
from tasks.services import attempt_cancel, task_create
from tests.faults.conftest import attempt_containers, wait_for
from tests.support.model_server import call, reply

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]

RAW_ENGINE_WORDS = ("409", "Conflict", "is not running", "No such container", "Traceback")
SETUP = "echo setting up; sleep 120"


def code_task(team, author, repo_path, *, setup_script: str = ""):
    repository = repository_register(team=team, location=str(repo_path))
    environment = repository.environment
    environment.setup_script = setup_script
    environment.setup_internet_policy = "off"
    environment.cache_ttl_hours = 0
    environment.save()
    return task_create(
        author=author, repository=repository, mode="code", prompt="Fix it.", base_branch="main"
    )


def reached(attempt: Attempt, kind: str, needle: str) -> Callable[[], bool]:
    def check() -> bool:
        return any(
            needle in str(e.payload) for e in Event.objects.filter(attempt=attempt, kind=kind)
        )

    return check


PHASES = {
    "fetching": (reached, kinds.PHASE, "Fetching"),
    "setup": (reached, kinds.OUTPUT, "setting up"),
    "agent": (reached, kinds.COMMAND, "sleep 30"),
}


def cancel_when(attempt: Attempt, condition: Callable[[], bool], by) -> threading.Thread:  # noqa: ANN001
    def run() -> None:
        try:
            wait_for(condition, timeout=120, what="the phase")
            attempt_cancel(attempt_id=attempt.pk, by=by)
        finally:
            from django.db import connection

            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def assert_cancelled_cleanly(attempt: Attempt, docker_engine) -> None:  # noqa: ANN001
    attempt.refresh_from_db()
    assert attempt.status == Status.CANCELLED, attempt.error
    assert attempt.error == "Cancelled by alice."
    for event in attempt.events.all():
        text = str(event.payload)
        assert not any(word in text for word in RAW_ENGINE_WORDS), (event.kind, text)
    assert attempt_containers(docker_engine, attempt.pk, pid=os.getpid()) == []


def test_a_queued_attempt_cancelled_never_runs(
    fault_settings, docker_engine, acme, alice, fixture_repo
):
    attempt = code_task(acme, alice, fixture_repo).attempts.get()
    attempt_cancel(attempt_id=attempt.pk, by=alice)

    run_attempt(attempt.pk)

    assert_cancelled_cleanly(attempt, docker_engine)
    assert [e.payload["status"] for e in attempt.events.order_by("seq")] == [
        "queued",
        "cancelled",
    ]


@pytest.mark.parametrize("phase", list(PHASES))
def test_cancel_during_a_phase_ends_as_cancelled_and_cleans_up(
    phase, fault_settings, model_server, docker_engine, acme, alice, fixture_repo
):
    model_server.add(reply(call("shell", {"command": "sleep 30"})), reply("Never reached."))
    attempt = code_task(
        acme, alice, fixture_repo, setup_script=SETUP if phase != "agent" else ""
    ).attempts.get()
    make, kind, needle = PHASES[phase]
    watcher = cancel_when(attempt, make(attempt, kind, needle), alice)

    run_attempt(attempt.pk)

    watcher.join(timeout=10)
    assert_cancelled_cleanly(attempt, docker_engine)
    if phase == "setup":  # stopped in the middle, not after the two minutes
        end = attempt.events.get(kind=kinds.COMMAND_END, payload__chunk_id=f"setup-{attempt.pk}")
        assert end.payload["exit_code"] is None
