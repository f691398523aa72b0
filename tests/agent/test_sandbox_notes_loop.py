"""What the sandbox did on its own between commands (tasks/sandbox/idle_watch.py ended a
process an earlier command left running, past the disk limit) reaches the person and the model
even when no command follows to carry it in its output: the model gets it before its final
answer is taken, and the summary is flagged with it, so the person sees why their background
process vanished."""

from __future__ import annotations

import pytest

from tasks import event_kinds as kinds
from tasks.sandbox.base import ExecResult
from tests.support.agent_run import make_spec, run
from tests.support.memory_sandbox import MemorySandbox
from tests.support.model_server import call, reply

NOTE = (
    "between commands, the sandbox's disk limit of 200 MB was reached (260 MB written); the"
    " processes earlier commands left running (in the background) were ended"
)
FLAG = NOTE[:1].upper() + NOTE[1:] + "."


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_processes_ended_while_the_model_answers_reach_it_and_flag_the_summary(model_server, api):
    box = MemorySandbox(files={"a.txt": "x\n"})

    def command(command, cwd):  # the writer outlives its command; the model then thinks
        box.notes.append(NOTE)  # ... and the idle watch ends it: no command follows
        return ExecResult(0, "started\n", duration=0.1)

    box.on_command = command
    model_server.add(
        reply(call("shell", {"command": "nohup ./fill.sh & echo started"})),
        reply("The writer is running in the background."),
        reply("The writer was ended over the disk limit; nothing runs now."),
    )

    outcome = run(make_spec(model_server, api=api, mode="ask"), box)

    assert outcome.result.outcome == "succeeded", outcome.result.error
    # Appended to the command's own tool result (taken after the command, as approvals are).
    assert f"[codexweb: {NOTE}]" in model_server.requests[1].tool_outputs()[-1]
    summary = outcome.of(kinds.SUMMARY)[-1]
    assert FLAG in summary["flags"]
    assert FLAG in outcome.result.flags
    assert model_server.problems == []


def test_a_note_that_comes_as_the_model_answers_gets_it_one_more_turn(model_server):
    box = MemorySandbox(files={"a.txt": "x\n"})
    taken: list[int] = []
    real_take = box.take_notes

    def take_notes() -> list[str]:  # empty after the command; the watch acts as the model answers
        taken.append(1)
        if len(taken) == 2:
            box.notes.append(NOTE)
        return real_take()

    box.take_notes = take_notes  # type: ignore[method-assign]
    model_server.add(
        reply(call("shell", {"command": "nohup ./fill.sh & echo started"})),
        reply("Started the writer."),
        reply("The writer was ended over the disk limit."),
    )

    outcome = run(make_spec(model_server, mode="ask"), box)

    assert outcome.result.outcome == "succeeded", outcome.result.error
    assert len(model_server.requests) == 3
    assert f"[codexweb: {NOTE}]" in model_server.requests[2].user_texts()[-1]
    assert FLAG in outcome.of(kinds.SUMMARY)[-1]["flags"]


def test_a_note_from_the_final_commit_only_flags_the_summary(model_server):
    """The watch acted after the model's last turn (while the changes were committed): the model
    cannot be asked again, the person still reads it on the summary."""
    box = MemorySandbox(files={"a.txt": "x\n"})
    model_server.add(
        reply(call("apply_patch", {"input": "*** Begin Patch\n*** Update File: a.txt\n@@\n-x\n+y\n"
                                            "*** End Patch\n"})),
        reply("Changed a.txt."),
    )
    real_take = box.take_notes

    def take_notes() -> list[str]:
        if box.commits:  # the agent's commit ran
            box.notes.append(NOTE)
        return real_take()

    box.take_notes = take_notes  # type: ignore[method-assign]

    outcome = run(make_spec(model_server), box)

    assert outcome.result.outcome == "succeeded", outcome.result.error
    assert len(model_server.requests) == 2
    assert FLAG in outcome.of(kinds.SUMMARY)[-1]["flags"]
