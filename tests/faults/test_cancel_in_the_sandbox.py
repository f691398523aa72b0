"""Item 6 at the sandbox level: a cancel that lands just before any engine call of the start
(the container, the workspace copy, the egress bridge, the setup script) or of the agent phase
(a command, writing or reading a file) surfaces as "cancelled", never as the engine's raw
`409 Conflict … is not running`, and leaves no container behind.

The cancel is injected right before the engine call, so each race is hit every time (CI once
hit the bridge one by chance: tests/sandbox/test_lifecycle.py::test_cancel_during_setup_…).
"""

from __future__ import annotations

import pytest
from docker.api import APIClient

from tasks.sandbox.base import SandboxError
from tasks.sandbox.container import ContainerShell
from tests.support.sandbox_fixtures import (  # noqa: F401 - fixtures
    docker_engine,
    egress_target,
    make_sandbox,
    mitmdump,
    workspace_dir,
)

pytestmark = pytest.mark.docker

RAW_ENGINE_WORDS = ("409", "Conflict", "is not running", "404", "No such container")


def assert_cancelled(exc: BaseException) -> None:
    message = str(exc)
    assert "cancelled" in message, message
    assert not any(word in message for word in RAW_ENGINE_WORDS), message


def assert_gone(docker_engine, sandbox) -> None:  # noqa: ANN001, F811
    existing = {c["Id"] for c in docker_engine.api.containers(all=True)}
    assert sandbox.container_id not in existing


@pytest.mark.parametrize(
    ("owner", "call"),
    [
        (APIClient, "start"),  # starting the container
        (ContainerShell, "replace_workspace"),  # copying the workspace in
        (ContainerShell, "start_bridge"),  # the egress bridge for the setup phase
    ],
    ids=["starting-the-container", "copying-the-workspace", "starting-the-egress-bridge"],
)
def test_a_cancel_just_before_a_start_step_ends_as_cancelled(
    make_sandbox, docker_engine, monkeypatch, owner, call  # noqa: F811
):
    sandbox = make_sandbox(start=False, setup_script="echo setting up")
    original = getattr(owner, call)

    def cancel_first(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        sandbox.cancel()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(owner, call, cancel_first)
    with pytest.raises(SandboxError) as raised:
        sandbox.start()
    assert_cancelled(raised.value)
    assert_gone(docker_engine, sandbox)


def test_a_cancel_while_the_setup_script_runs_ends_as_cancelled(make_sandbox, docker_engine):  # noqa: F811
    holder = []

    def on_output(chunk) -> None:  # noqa: ANN001
        if "setting up" in chunk.text:
            holder[0].cancel()

    sandbox = make_sandbox(start=False, setup_script="echo setting up; sleep 120")
    sandbox.on_setup_output = on_output
    holder.append(sandbox)
    with pytest.raises(SandboxError) as raised:
        sandbox.start()
    assert_cancelled(raised.value)
    assert sandbox.setup_result is not None and sandbox.setup_result.exit_code is None
    assert_gone(docker_engine, sandbox)


@pytest.mark.parametrize(
    "step",
    [
        lambda s: s.exec("echo hi"),
        lambda s: s.write_file("notes.txt", "x"),
        lambda s: s.read_file("README.md"),
    ],
    ids=["command", "write-file", "read-file"],
)
def test_after_a_cancel_every_agent_step_says_cancelled(make_sandbox, step):  # noqa: F811
    sandbox = make_sandbox()
    sandbox.cancel()
    with pytest.raises(SandboxError) as raised:
        step(sandbox)
    assert_cancelled(raised.value)
