"""Ctrl-C on `codexweb serve` while an attempt runs a long command: the stop is orderly and
bounded. The worker stops taking jobs and ends its attempt as failed with a sentence that
offers Retry (not left "running" for housekeeping), the attempt's container is removed, and
the runner, daphne and the worker are all gone without the runner having to kill any of them.

The embedded stack runs on the test session's PostgreSQL and Redis (its worker on this
session's queue), with Docker and the scripted model; the test plays the person."""

from __future__ import annotations

import shutil
import signal
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from repos.services import repository_register
from tasks import event_kinds as kinds
from tasks.models import Attempt, Event, Status
from tasks.services import task_create
from tasks.worker.shutdown import SHUTDOWN_MESSAGE
from tests.faults.conftest import attempt_containers, scripted_attempts, wait_for
from tests.support.live_app import child_environment
from tests.support.live_clients import AttemptFollower
from tests.support.model_server import call, reply
from tests.support.processes import EmbeddedStack, group_members
from tests.support.services import free_port

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True),
              pytest.mark.timeout(300)]

# The runner gives each child STOP_SECONDS (15) after SIGTERM before it kills it; this bound
# only keeps a broken stop from hanging the test.
STOP_BOUND_SECONDS = 45


def test_ctrl_c_ends_the_running_attempt_removes_its_container_and_stops_every_child(
    fault_settings, model_server, docker_engine, acme, alice, fixture_repo, runtime_dir
):
    model_server.add(reply(call("shell", {"command": "sleep 120"})))
    var_dir = Path(tempfile.mkdtemp(prefix="cxshutdown-var-"))
    env = child_environment(
        CODEXWEB_VAR_DIR=str(var_dir),
        CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
        WORKER_CONCURRENCY="2",
        **scripted_attempts(model_server, runtime_dir),
        GIT_LOCAL_ROOTS=str(fixture_repo.parent),
    )
    stack = EmbeddedStack(env, free_port())
    try:
        stack.wait_started()
        repository = repository_register(team=acme, location=str(fixture_repo))
        task = task_create(author=alice, repository=repository, mode="ask",
                           prompt="How long does this take?", base_branch="main")
        attempt = task.attempts.get()
        wait_for(lambda: Event.objects.filter(attempt=attempt, kind=kinds.COMMAND,
                                              payload__command="sleep 120").exists(),
                 timeout=150, what="the attempt's long command to start")
        client = Client()
        client.force_login(alice)
        page = AttemptFollower(stack.web_port, attempt.pk, client.cookies["sessionid"].value)
        page.start()  # a page open on the attempt: daphne holds its websocket while stopping
        wait_for(lambda: page.connections and page.seqs, timeout=60, what="the page's log")
        children = stack.pids()
        containers = attempt_containers(docker_engine, attempt.pk, pid=children["worker"])
        assert len(containers) == 1, stack.tail()

        stack.proc.send_signal(signal.SIGINT)  # Ctrl-C
        stack.proc.wait(timeout=STOP_BOUND_SECONDS)

        output = stack.output()
        assert "did not stop within" not in output, output[-4000:]  # none had to be killed
        for name, pid in children.items():
            assert group_members(pid) == [], f"{name} (pid {pid}) left processes behind"
        attempt.refresh_from_db()
        assert (attempt.status, attempt.error) == (Status.FAILED, SHUTDOWN_MESSAGE)
        existing = {c["Id"] for c in docker_engine.api.containers(all=True)}
        assert not existing & set(containers), "the attempt's container was removed"
    finally:
        if "page" in locals():
            page.stop()
        stack.stop()
        shutil.rmtree(var_dir, ignore_errors=True)
    assert Attempt.objects.get(pk=attempt.pk).status == Status.FAILED
