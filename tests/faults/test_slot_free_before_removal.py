"""An attempt's job ends (its worker slot free for the next queued attempt) as soon as its
container is killed: removing the container and its workspace volume, which takes seconds on a
large repository, happens after, in the worker's remover thread (tasks/sandbox/removal.py)."""

from __future__ import annotations

import pytest

from repos.services import repository_register
from tasks.jobs import run_attempt
from tasks.models import Status
from tasks.sandbox import removal
from tasks.services import task_create
from tests.faults.conftest import attempt_containers
from tests.support.held_removals import container_state, removals_held
from tests.support.model_server import reply

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]


def test_the_job_ends_before_its_container_is_removed_and_nothing_runs_after(
    fault_settings, model_server, docker_engine, acme, alice, fixture_repo
):
    repository = repository_register(team=acme, location=str(fixture_repo))
    model_server.add(reply("The repository has calc.py."))
    attempt = task_create(
        author=alice, repository=repository, mode="ask", prompt="What is here?", base_branch="main"
    ).attempts.get()

    with removals_held(docker_engine) as held:
        run_attempt(attempt.pk)

        attempt.refresh_from_db()
        assert attempt.status == Status.SUCCEEDED, attempt.error
        (container,) = attempt_containers(docker_engine, attempt.pk, after_removals=False)
        state = container_state(docker_engine, container)
        assert state is not None and not state["Running"]
        assert removal.pending() == 2  # the held one, then this attempt's
        held.go.set()

    assert container_state(docker_engine, container) is None
    assert attempt_containers(docker_engine, attempt.pk) == []
