"""Item 4: the container engine loses an attempt's container mid-command (what a dockerd restart
does to it; simulated by killing the container through the engine, since the shared engine
must not be restarted). The attempt ends as failed saying so, never as succeeded, its container
is gone, and the next attempt works.
"""

from __future__ import annotations

import os
import threading

import pytest

from repos.services import repository_register
from tasks import event_kinds as kinds
from tasks.jobs import run_attempt
from tasks.models import Event, Status
from tasks.services import task_create
from tests.faults.conftest import attempt_containers, wait_for
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
        try:
            wait_for(
                lambda: Event.objects.filter(
                    attempt=attempt, kind=kinds.COMMAND, payload__command="sleep 30"
                ).exists(),
                timeout=120,
                what="the long command",
            )
            (container,) = attempt_containers(docker_engine, attempt.pk, pid=os.getpid())
            docker_engine.api.kill(container)
        finally:
            from django.db import connection

            connection.close()

    killer = threading.Thread(target=kill_the_container, daemon=True)
    killer.start()

    run_attempt(attempt.pk)

    killer.join(timeout=10)
    attempt.refresh_from_db()
    assert attempt.status == Status.FAILED
    assert "the container engine restarted or stopped this attempt's container" in attempt.error
    assert attempt.patch == ""
    end = attempt.events.get(kind=kinds.COMMAND_END)
    assert end.payload["exit_code"] is None and "container engine" in end.payload["error"]
    assert attempt_containers(docker_engine, attempt.pk, pid=os.getpid()) == []

    model_server.add(reply("The repository has calc.py."))
    ask = task_create(
        author=alice, repository=repository, mode="ask", prompt="What is here?", base_branch="main"
    )
    following = ask.attempts.get()
    run_attempt(following.pk)
    following.refresh_from_db()
    assert following.status == Status.SUCCEEDED, following.error
