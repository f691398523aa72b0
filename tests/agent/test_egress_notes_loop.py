"""The loop's side of just-in-time approval (issue 14 item 3): a note queued while a command runs
(the worker queues "bob approved …" once the proxy took the approval) is appended to that
command's tool result, given once, on both wire APIs. The scripted model server records what
the model got."""

from __future__ import annotations

import pytest

from tasks.sandbox.base import ExecResult
from tests.support.agent_run import make_spec, run
from tests.support.memory_sandbox import MemorySandbox
from tests.support.model_server import call, reply

NOTE = "bob approved requests to packages.example.com for this attempt. Retry."


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_a_note_queued_during_a_command_ends_its_tool_result_once(model_server, api):
    queued: list[str] = []

    def command(command, cwd):  # the approval lands while the agent's command runs
        if "first" in command:
            queued.append(NOTE)
        return ExecResult(0, f"{command} ran\n", duration=0.1)

    def notes() -> list[str]:
        taken, queued[:] = list(queued), []
        return taken

    box = MemorySandbox(files={"a.txt": "x\n"}, on_command=command)
    model_server.add(
        reply(call("shell", {"command": "echo first"})),
        reply(call("shell", {"command": "echo second"})),
        reply("Done."),
    )

    outcome = run(make_spec(model_server, api=api, mode="ask"), box, notes=notes)

    assert outcome.result.outcome == "succeeded", outcome.result.error
    first = model_server.requests[1].tool_outputs()[-1]
    second = model_server.requests[2].tool_outputs()[-1]
    assert "echo first ran" in first and first.rstrip().endswith(f"[codexweb: {NOTE}]")
    assert NOTE not in second
    assert model_server.problems == []


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_a_note_that_lands_while_the_model_answers_reaches_it_before_the_attempt_ends(
        model_server, api):
    """The approval came after the agent's last command, and the model answered without another
    tool call: there was no tool result to carry the note, and the attempt ended without it."""
    asked: list[int] = []

    def notes() -> list[str]:  # empty after the command; the approval lands as the model answers
        asked.append(1)
        return [NOTE] if len(asked) == 2 else []

    box = MemorySandbox(files={"a.txt": "x\n"},
                        on_command=lambda command, cwd: ExecResult(1, "refused\n", duration=0.1))
    model_server.add(
        reply(call("shell", {"command": "curl packages.example.com"})),
        reply("The host was refused, so I could not fetch the package."),
        reply("Approved now: the package can be fetched."),
    )

    outcome = run(make_spec(model_server, api=api, mode="ask"), box, notes=notes)

    assert outcome.result.outcome == "succeeded", outcome.result.error
    assert len(model_server.requests) == 3  # one more turn, with the note
    assert f"[codexweb: {NOTE}]" in model_server.requests[2].user_texts()[-1]
    assert outcome.result.final_message == "Approved now: the package can be fetched."
    assert model_server.problems == []
