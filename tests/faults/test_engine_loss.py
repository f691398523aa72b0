"""Item 4: the container engine loses an attempt's container mid-command (what a dockerd restart
does to it; simulated by killing the container through the engine, since the shared engine
must not be restarted). The attempt ends as failed saying so, never as succeeded, its container
is gone, and the next attempt works.
"""

from __future__ import annotations

import os

import pytest

from repos.services import repository_register
from tasks import event_kinds as kinds
from tasks.jobs import run_attempt
from tasks.services import task_create
from tests.faults.conftest import (
    assert_failed_for_the_lost_container,
    attempt_containers,
    next_attempt_works,
    when_event,
)
from tests.support.model_server import call, reply

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]

ADD_FILE = "*** Begin Patch\n*** Add File: a.txt\n+a\n*** End Patch"


def test_a_container_lost_mid_command_fails_the_attempt_and_the_next_one_works(
    fault_settings, model_server, docker_engine, acme, alice, fixture_repo
):
    repository = repository_register(team=acme, location=str(fixture_repo))
    model_server.add(
        reply(call("apply_patch", {"patch": ADD_FILE})),
        reply(call("shell", {"command": "sleep 30"})),
        reply("Done, all good."),
    )
    task = task_create(
        author=alice, repository=repository, mode="code", prompt="Add a.", base_branch="main"
    )
    attempt = task.attempts.get()

    def kill_the_container() -> None:
        (container,) = attempt_containers(docker_engine, attempt.pk, pid=os.getpid())
        docker_engine.api.kill(container)

    killer = when_event(attempt, kinds.COMMAND, "sleep 30", kill_the_container)

    run_attempt(attempt.pk)

    killer.join(timeout=10)
    assert_failed_for_the_lost_container(attempt)
    assert attempt_containers(docker_engine, attempt.pk, pid=os.getpid()) == []
    next_attempt_works(model_server, repository, alice)
