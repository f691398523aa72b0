"""Item 4, the rule behind it: an attempt whose changes cannot be taken out of its sandbox never
succeeds. Before, the commit failing (the container already gone) only logged an error and the
attempt was marked Succeeded with no patch. The agent loop runs against the in-memory sandbox
whose commit fails the way the Docker one does when the engine lost the container."""

from __future__ import annotations

from tasks.agent.config import Budgets
from tasks.sandbox.base import SandboxLost
from tests.support.agent_run import make_spec, run
from tests.support.memory_sandbox import MemorySandbox
from tests.support.model_server import call, reply

ADD = "*** Begin Patch\n*** Add File: notes.txt\n+hello\n*** End Patch"
LOST = "the container engine restarted or stopped this attempt's container"


class LosesTheContainerAtTheCommit(MemorySandbox):
    def exec(self, command: str, **kwargs):  # noqa: ANN003, ANN201
        if command.startswith("git add -A"):
            raise SandboxLost(LOST)
        return super().exec(command, **kwargs)


def test_a_code_task_whose_changes_cannot_be_committed_fails(model_server):
    model_server.add(reply(call("apply_patch", {"patch": ADD})), reply("Added notes.txt."))
    box = LosesTheContainerAtTheCommit(files={"README.md": "# demo\n"})

    outcome = run(make_spec(model_server, mode="code"), box)

    assert outcome.result.outcome == "failed"
    assert not outcome.result.committed
    assert outcome.result.error == f"Could not take the changes out of the sandbox: {LOST}."
    assert outcome.of("error") == [{"message": outcome.result.error}]
    assert outcome.of("summary") == []  # no summary claims a result nobody can take


def test_a_stopped_code_task_says_its_changes_could_not_be_kept(model_server):
    model_server.add(reply(call("apply_patch", {"patch": ADD})), reply("more"))
    box = LosesTheContainerAtTheCommit(files={"README.md": "# demo\n"})
    spec = make_spec(
        model_server, mode="code", budgets=Budgets(max_turns=1, max_tokens=100_000, wall_seconds=60)
    )

    outcome = run(spec, box)

    assert outcome.result.outcome == "stopped"
    assert outcome.result.error.endswith(f"Could not take the changes out of the sandbox: {LOST}.")
