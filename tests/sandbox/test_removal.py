"""Removing an ended sandbox after the worker's slot is free (tasks/sandbox/removal.py): the
stop kills the container at once, the workspace volume's files are deleted by the remover
thread, in order, with a bound on how many wait, and an engine that refuses one does not stop
the others."""

from __future__ import annotations

import os

import docker
import pytest

from tasks.sandbox import removal
from tests.support.held_removals import container_state, removals_held, sleeper

pytestmark = pytest.mark.docker


@pytest.fixture
def held_back(docker_engine):
    with removals_held(docker_engine) as api:
        yield api


def test_stop_remove_later_kills_now_and_removes_the_container_and_volume_after(
    make_sandbox, docker_engine, held_back
):
    sandbox = make_sandbox()
    sandbox.exec("seq 1 300 | xargs -I{} touch f{}")
    container_id = sandbox.container_id
    (volume,) = [m["Name"] for m in docker_engine.api.inspect_container(container_id)["Mounts"]
                 if m["Destination"] == "/workspace"]

    sandbox.stop(remove_later=True)

    state = container_state(docker_engine, container_id)
    assert state is not None, "removed before stop() returned: the slot waited for it"
    assert not state["Running"], "the attempt's processes outlived its stop()"
    assert removal.pending() == 2

    held_back.go.set()
    assert removal.drain(60)
    assert container_state(docker_engine, container_id) is None
    names = {v["Name"] for v in (docker_engine.api.volumes() or {}).get("Volumes") or []}
    assert volume not in names


def test_a_plain_stop_still_removes_before_it_returns(make_sandbox, docker_engine, held_back):
    sandbox = make_sandbox()

    sandbox.stop()

    assert container_state(docker_engine, sandbox.container_id) is None
    assert removal.pending() == 1  # only the held-back one


def test_past_the_bound_the_caller_removes_its_own(docker_engine, held_back, monkeypatch):
    monkeypatch.setattr(removal, "MAX_PENDING", 1)
    extra = sleeper(docker_engine)

    assert removal.remove_later(docker_engine.api, extra) is False

    assert container_state(docker_engine, extra) is None
    assert removal.pending() == 1


def test_an_engine_that_refuses_one_removal_does_not_stop_the_next(docker_engine, tmp_path):
    nowhere = docker.APIClient(base_url=f"unix://{tmp_path}/no-engine.sock", version="1.41")
    after = sleeper(docker_engine)
    docker_engine.api.kill(after)

    assert removal.remove_later(nowhere, "0123456789ab")
    assert removal.remove_later(docker_engine.api, after)

    assert removal.drain(60)
    assert container_state(docker_engine, after) is None


def test_a_forked_child_starts_with_nothing_queued_and_removes_its_own(docker_engine, held_back):
    """A prefork pool process is forked from a worker that may have removals waiting."""
    mine = sleeper(docker_engine)
    child = os.fork()
    if child == 0:  # the pool process: no parent's queue, no parent's thread
        try:
            ok = removal.pending() == 0
            ok = ok and removal.remove_later(docker.APIClient(**docker.utils.kwargs_from_env()),
                                             mine)
            ok = ok and removal.drain(60)
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    assert container_state(docker_engine, mine) is None
    assert removal.pending() == 1  # the parent's held one is still the parent's
