"""Item 6 at the attempt level: cancelling an attempt while it is queued, fetching, in its setup
script, running a command or waiting for the model's reply ends it as "cancelled", with no raw
engine error in its log and no container left. The job runs as a worker runs it (`run_attempt`),
the cancel comes from another thread the moment the attempt reaches the phase, as a person's
click would.
"""

from __future__ import annotations

import os
import re

import pytest

from repos.services import repository_register
from tasks import event_kinds as kinds
from tasks.jobs import run_attempt
from tasks.models import Attempt, Status
from tasks.services import attempt_cancel, task_create
from tests.faults.conftest import attempt_containers, when_event
from tests.support.model_server import Reply, call, reply

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]

# Whole words: a commit id in a phase message ("Checked out 70cc27b2409c.") is not a 409.
RAW_ENGINE_WORDS = re.compile(r"\b(409|Conflict|is not running|No such container|Traceback)\b")
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


PHASES = {
    "fetching": (kinds.PHASE, "Fetching"),
    "setup": (kinds.OUTPUT, "setting up"),
    "agent": (kinds.COMMAND, "sleep 30"),
}


def assert_cancelled_cleanly(attempt: Attempt, docker_engine) -> None:  # noqa: ANN001
    attempt.refresh_from_db()
    assert attempt.status == Status.CANCELLED, attempt.error
    assert attempt.error == "Cancelled by alice."
    for event in attempt.events.all():
        text = str(event.payload)
        assert not RAW_ENGINE_WORDS.search(text), (event.kind, text)
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
    kind, needle = PHASES[phase]
    watcher = when_event(
        attempt, kind, needle, lambda: attempt_cancel(attempt_id=attempt.pk, by=alice)
    )

    run_attempt(attempt.pk)

    watcher.join(timeout=10)
    assert_cancelled_cleanly(attempt, docker_engine)
    if phase == "setup":  # stopped in the middle, not after the two minutes
        end = attempt.events.get(kind=kinds.COMMAND_END, payload__chunk_id=f"setup-{attempt.pk}")
        assert end.payload["exit_code"] is None


def test_cancel_while_the_model_thinks_ends_the_call_and_the_attempt(
    fault_settings, model_server, docker_engine, acme, alice, fixture_repo
):
    """A reasoning model may think for minutes: the cancel closes the request (no more of the
    person's tokens, the worker free again) instead of waiting out the reply."""
    model_server.add(Reply(text="Far too late.", delay=60.0))
    attempt = code_task(acme, alice, fixture_repo).attempts.get()
    watcher = when_event(attempt, kinds.PHASE, "Agent started",
                         lambda: attempt_cancel(attempt_id=attempt.pk, by=alice))

    run_attempt(attempt.pk)

    watcher.join(timeout=10)
    assert_cancelled_cleanly(attempt, docker_engine)
    # Recorded only if the connection closed before the 60 s were up.
    assert len(model_server.hung_up) == 1 and len(model_server.requests) == 1
    assert not attempt.events.filter(kind=kinds.ERROR).exists()
