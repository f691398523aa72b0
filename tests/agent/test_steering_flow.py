"""Steering through the worker (issue 14 item 1): a message stored for an attempt reaches the
model in its next request and is logged as a `steer` event; "stop after this step" ends the
attempt as stopped with a summary naming who stopped it. Real Docker, real mirror, the scripted
model server; messages are sent before the job runs (the agent takes them at its first turn
boundary), as the test database is not shared with other threads."""

from __future__ import annotations

import pytest

from repos.services import repository_register
from tasks import event_kinds as kinds
from tasks.jobs import run_attempt
from tasks.models import Status
from tasks.services import task_create
from tasks.steering.models import SteerMessage
from tasks.steering.services import steer_send
from tests.support.model_server import reply

pytestmark = pytest.mark.docker


def ask_attempt(team, author, repo_path):
    repository = repository_register(team=team, location=str(repo_path))
    task = task_create(author=author, repository=repository, mode="ask",
                       prompt="What does calc do?", base_branch="main")
    return task.attempts.get()


def test_a_queued_message_reaches_the_first_request_and_the_log(
    worker_settings, model_server, acme, alice, bob, fixture_repo
):
    attempt = ask_attempt(acme, alice, fixture_repo)
    steer_send(attempt=attempt, by=bob, text="Answer in one sentence.")
    model_server.add(reply("It adds numbers."))

    run_attempt(attempt.pk)

    attempt.refresh_from_db()
    assert attempt.status == Status.SUCCEEDED, attempt.error
    sent = model_server.requests[0].user_texts()[-1]
    assert "Answer in one sentence." in sent and "bob" in sent
    steer = attempt.events.get(kind=kinds.STEER)
    assert steer.payload == {"text": "Answer in one sentence.", "by": "bob", "stop": False}
    first_usage = attempt.events.filter(kind=kinds.USAGE).order_by("seq").first()
    assert steer.seq < first_usage.seq  # logged where the model got it: before its first turn
    assert SteerMessage.objects.get().taken_at is not None
    assert any("Answer in one sentence." in str(item.get("text", ""))
               for item in attempt.conversation)  # a follow-up continues with it


def test_stop_after_this_step_ends_the_attempt_as_stopped(
    worker_settings, model_server, acme, alice, fixture_repo
):
    attempt = ask_attempt(acme, alice, fixture_repo)
    steer_send(attempt=attempt, by=alice, stop=True)
    model_server.add(reply("never asked for"))

    run_attempt(attempt.pk)

    attempt.refresh_from_db()
    assert attempt.status == Status.STOPPED
    assert model_server.requests == []
    assert attempt.summary.startswith("Stopped by alice before the agent's first step")
    assert attempt.error == "Stopped after this step by alice."
    assert attempt.task.status == Status.STOPPED
