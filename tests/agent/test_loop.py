"""The loop's own logic, with the scripted model server and an in-memory sandbox (no commands
run). The same behaviours against Docker are in test_real_sandbox.py."""

from __future__ import annotations

import json

import pytest

from tasks import event_kinds as kinds
from tasks.agent.config import Budgets
from tasks.agent.instructions import CHECKS_REMINDER
from tasks.sandbox.base import ExecResult
from tests.support.agent_run import make_spec, run
from tests.support.memory_sandbox import MemorySandbox
from tests.support.model_server import call, fail, reply

PATCH = (
    "*** Begin Patch\n*** Update File: calc.py\n@@\n-    return a - b\n+    return a + b\n"
    "*** End Patch"
)


def sandbox(**files):
    return MemorySandbox(files={"calc.py": "def add(a, b):\n    return a - b\n", **files})


def test_final_answer_without_tools(model_server, api):
    model_server.add(reply("The build uses make 【F:calc.py†L1】."))
    outcome = run(make_spec(model_server, api=api, mode="ask"), sandbox())
    assert outcome.result.outcome == "succeeded"
    assert outcome.result.stop_reason == "final_answer"
    assert outcome.kinds == [kinds.PHASE, kinds.USAGE, kinds.SUMMARY]
    summary = outcome.of(kinds.SUMMARY)[0]
    assert summary["citations"][0]["valid"] is True


def test_ask_task_is_offered_no_write_tool(model_server, api):
    model_server.add(reply(call("apply_patch", {"patch": PATCH})), reply("I cannot write."))
    box = sandbox()
    outcome = run(make_spec(model_server, api=api, mode="ask"), box)
    assert model_server.requests[0].tool_names() == ["shell"]
    assert "Ask task" in model_server.requests[0].system
    assert "return a - b" in box.files["calc.py"]
    error = outcome.of(kinds.TOOL_ERROR)[0]
    assert error["tool"] == "apply_patch"
    assert "not available in an Ask task" in error["error"]
    assert model_server.requests[1].tool_outputs()[0].startswith("Error: apply_patch is not")
    assert box.commits == 0


def test_code_task_patches_and_commits(model_server, api):
    model_server.add(reply("Fixing.", call("apply_patch", {"patch": PATCH})),
                     reply(call("shell", {"command": "pytest -q"})),
                     reply("Fixed 【F:calc.py†L2】."))
    box = sandbox()
    box.on_command = lambda command, cwd: ExecResult(0, "1 passed\n", duration=0.2)
    outcome = run(make_spec(model_server, api=api), box)
    assert box.files["calc.py"] == "def add(a, b):\n    return a + b\n"
    assert outcome.result.committed and box.commits == 1
    assert outcome.of(kinds.PATCH) == [{"call_id": "call_1_0", "ok": True, "files": ["calc.py"],
                                        "error": ""}]
    assert outcome.of(kinds.MESSAGE) == [{"text": "Fixing."}]
    assert model_server.requests[1].tool_outputs() == ["Patch applied: wrote calc.py."]
    assert model_server.problems == []


def test_shell_result_starts_with_the_chunk_id_and_is_recorded(model_server, api):
    model_server.add(reply(call("shell", {"command": "echo hi", "workdir": "src"})),
                     reply("done"))
    box = sandbox()
    box.on_command = lambda command, cwd: ExecResult(3, "hi\nthere\n", duration=0.5)
    outcome = run(make_spec(model_server, api=api, mode="ask"), box)
    seen = model_server.requests[1].tool_outputs()[0]
    chunk_id = outcome.of(kinds.COMMAND)[0]["chunk_id"]
    assert seen.splitlines()[:2] == [f"Chunk ID: {chunk_id}", "Exit code: 3"]
    assert seen.endswith("Output (2 lines):\nhi\nthere\n")
    assert box.commands == [("echo hi", "/workspace/src")]
    assert outcome.of(kinds.COMMAND)[0] == {"call_id": "call_1_0", "chunk_id": chunk_id,
                                            "command": "echo hi", "cwd": "/workspace/src"}
    assert outcome.of(kinds.OUTPUT)[0]["text"] == "hi\nthere\n"
    assert outcome.of(kinds.COMMAND_END)[0]["exit_code"] == 3
    assert outcome.result.chunks[chunk_id].output == "hi\nthere\n"


def test_chunk_ids_are_stable_per_attempt(model_server):
    two_commands = [call("shell", {"command": "a"}), call("shell", {"command": "b"})]
    model_server.add(reply(*two_commands), reply("x"), reply(*two_commands), reply("x"))
    first = run(make_spec(model_server, mode="ask", attempt_id=41), sandbox())
    second = run(make_spec(model_server, mode="ask", attempt_id=41), sandbox())
    ids = [e["chunk_id"] for e in first.of(kinds.COMMAND)]
    assert ids == [e["chunk_id"] for e in second.of(kinds.COMMAND)]
    assert len(set(ids)) == 2


def test_long_output_is_trimmed_for_the_model_but_kept_whole(model_server):
    text = "".join(f"line {i}\n" for i in range(1, 5001))
    model_server.add(reply(call("shell", {"command": "seq"})), reply("ok"))
    box = sandbox()
    box.on_command = lambda command, cwd: ExecResult(0, text)
    outcome = run(make_spec(model_server, mode="ask", context_output_chars=2000), box)
    seen = model_server.requests[1].tool_outputs()[0]
    assert len(seen) < 2500 and "line 5000" in seen and "of 5000 omitted" in seen
    assert outcome.of(kinds.OUTPUT)[0]["text"] == text


def test_malformed_arguments_go_back_to_the_model(model_server, api):
    model_server.add(reply(call("shell", '{"command": "ls"')),
                     reply(call("shell", {"cmd": "ls"})),
                     reply("gave up"))
    outcome = run(make_spec(model_server, api=api, mode="ask"), sandbox())
    assert outcome.result.outcome == "succeeded"
    errors = [e["error"] for e in outcome.of(kinds.TOOL_ERROR)]
    assert errors[0].startswith("The arguments of shell are not valid JSON")
    assert errors[1] == "Invalid arguments for shell: command: Field required."
    outputs = model_server.requests[2].tool_outputs()
    assert outputs[0].startswith("Error: The arguments of shell are not valid JSON")
    assert model_server.problems == []


def test_unknown_tool_goes_back_to_the_model(model_server, api):
    model_server.add(reply(call("browse", {"url": "http://x"})), reply("ok"))
    outcome = run(make_spec(model_server, api=api), sandbox())
    assert outcome.of(kinds.TOOL_ERROR)[0]["error"] == (
        "Unknown tool 'browse'. Available tools: shell, apply_patch.")
    assert outcome.result.outcome == "succeeded"


def test_patch_that_does_not_apply_changes_nothing(model_server):
    bad = PATCH.replace("-    return a - b", "-    return a * b")
    model_server.add(reply(call("apply_patch", {"patch": bad})), reply("stuck"))
    box = sandbox()
    outcome = run(make_spec(model_server), box)
    assert "return a - b" in box.files["calc.py"]
    event = outcome.of(kinds.PATCH)[0]
    assert event["ok"] is False and "change 1 did not match" in event["error"]
    seen = model_server.requests[1].tool_outputs()[0]
    assert seen.startswith("Error: the patch was not applied; no file was changed.")
    assert "Read the file again" in seen


@pytest.mark.parametrize("path, message", [
    ("../outside.txt", "contains '..'"),
    ("/etc/passwd", "is absolute"),
    ("link/evil.txt", "goes through a symbolic link"),
])
def test_path_escapes_are_refused(model_server, path, message):
    patch = f"*** Begin Patch\n*** Add File: {path}\n+x\n*** End Patch"
    model_server.add(reply(call("apply_patch", {"patch": patch})), reply("ok"))
    box = sandbox()
    box.symlinks.add("link")
    before = dict(box.files)
    outcome = run(make_spec(model_server), box)
    assert box.files == before
    assert message in outcome.of(kinds.PATCH)[0]["error"]


def test_workdir_outside_the_workspace_is_refused(model_server):
    model_server.add(reply(call("shell", {"command": "ls", "workdir": "../.."})), reply("ok"))
    box = sandbox()
    outcome = run(make_spec(model_server, mode="ask"), box)
    assert box.commands == []
    assert "outside /workspace" in outcome.of(kinds.TOOL_ERROR)[0]["error"]


def test_turn_budget_stops_with_log_intact(model_server, api):
    model_server.add(*[reply(call("shell", {"command": f"echo {i}"})) for i in range(5)])
    box = sandbox()
    outcome = run(make_spec(model_server, api=api, budgets=Budgets(max_turns=3)), box)
    assert outcome.result.outcome == "stopped"
    assert outcome.result.stop_reason == "budget: turns"
    assert outcome.result.error == "Stopped: the budget of 3 model turns is used up."
    assert len(model_server.requests) == 3
    assert len(outcome.of(kinds.COMMAND_END)) == 3
    assert len(outcome.result.steps) == 3
    assert kinds.SUMMARY not in outcome.kinds


def test_token_budget_and_cost(model_server):
    model_server.add(*[reply(call("shell", {"command": "x"}), input_tokens=1000,
                             output_tokens=500) for _ in range(5)])
    outcome = run(make_spec(model_server, budgets=Budgets(max_tokens=2500)), sandbox())
    assert outcome.result.stop_reason == "budget: tokens"
    assert outcome.result.usage.total == 3000
    assert outcome.result.cost == pytest.approx((2000 * 2.0 + 1000 * 8.0) / 1_000_000)
    assert outcome.of(kinds.USAGE)[-1] == {"input_tokens": 2000, "output_tokens": 1000,
                                          "cost": outcome.result.cost}


def test_model_failure_ends_the_attempt_with_a_clear_error(model_server, api):
    model_server.add(*[fail(500, message="overloaded")] * 3)
    outcome = run(make_spec(model_server, api=api), sandbox())
    assert outcome.result.outcome == "failed"
    assert outcome.result.error.startswith("The model API failed 3 times in a row")
    assert outcome.of(kinds.ERROR)[0]["message"] == outcome.result.error


def test_cancel_between_steps(model_server):
    model_server.add(reply(call("shell", {"command": "x"})), reply("never"))
    flag = {"cancel": False}
    box = sandbox()

    def command(command, cwd):
        flag["cancel"] = True
        return ExecResult(0, "")

    box.on_command = command
    outcome = run(make_spec(model_server, mode="ask"), box, cancelled=lambda: flag["cancel"])
    assert outcome.result.outcome == "cancelled"
    assert len(model_server.requests) == 1


def test_empty_reply_is_nudged(model_server):
    model_server.add(reply(""), reply("answer 【F:calc.py†L1】"))
    outcome = run(make_spec(model_server, mode="ask"), sandbox())
    assert outcome.result.final_message == "answer 【F:calc.py†L1】"
    assert "neither text nor a tool call" in model_server.requests[1].user_texts()[-1]


def test_agents_md_checks_are_required_before_finishing(model_server):
    model_server.add(reply(call("apply_patch", {"patch": PATCH})),
                     reply("Done, tests pass."),
                     reply(call("shell", {"command": "make check"})),
                     reply("Done 【F:calc.py†L2】."))
    box = sandbox(**{"AGENTS.md": "Run `make check` before finishing.\n"})
    outcome = run(make_spec(model_server), box)
    assert model_server.requests[2].user_texts()[-1] == CHECKS_REMINDER
    assert box.commands == [("make check", "/workspace")]
    assert outcome.result.final_message == "Done 【F:calc.py†L2】."
    assert len(model_server.requests) == 4


def test_summary_flags_uncited_tests_claim(model_server):
    model_server.add(reply("Changed 【F:calc.py†L2】. All tests pass."))
    outcome = run(make_spec(model_server, mode="ask"), sandbox())
    assert outcome.of(kinds.SUMMARY)[0]["flags"] == [
        "Claims tests pass without citing a test run: “All tests pass.”"]


def test_follow_up_continues_the_conversation(model_server, api):
    model_server.add(reply(call("shell", {"command": "ls"})), reply("first answer"))
    first = run(make_spec(model_server, api=api, mode="ask", prompt="What is here?"), sandbox())
    model_server.add(reply("second answer"))
    follow = make_spec(model_server, api=api, mode="ask", prompt="And now?",
                       history=tuple(first.result.conversation))
    second = run(follow, sandbox())
    assert second.result.final_message == "second answer"
    sent = model_server.requests[-1]
    assert sent.user_texts() == ["What is here?", "And now?"]
    assert len(sent.tool_outputs()) == 1
    assert model_server.problems == []


def test_events_are_json_serializable(model_server):
    model_server.add(reply(call("shell", {"command": "ls"})), reply("done"))
    outcome = run(make_spec(model_server, mode="ask"), sandbox())
    json.dumps(outcome.events)
    assert set(outcome.kinds) <= kinds.ALL


def test_finishing_without_the_agents_md_checks_is_flagged(model_server):
    model_server.add(reply(call("apply_patch", {"patch": PATCH})),
                     reply("Done 【F:calc.py†L2】."),
                     reply("Still done 【F:calc.py†L2】."))
    box = sandbox(**{"AGENTS.md": "Run `make check` before finishing.\n"})
    outcome = run(make_spec(model_server), box)
    assert box.commands == []
    assert outcome.result.outcome == "succeeded"
    assert outcome.result.flags == [
        "Finished without running the checks AGENTS.md asks for after the last change."]


def test_a_cancelled_code_task_is_not_committed(model_server):
    model_server.add(reply(call("apply_patch", {"patch": PATCH})), reply("never"))
    box = sandbox()
    calls = iter([False, False, True])
    outcome = run(make_spec(model_server), box, cancelled=lambda: next(calls, True))
    assert outcome.result.outcome == "cancelled"
    assert box.commits == 0 and not outcome.result.committed


def test_a_write_failing_half_way_says_what_was_written(model_server):
    patch = ("*** Begin Patch\n*** Add File: a.txt\n+a\n*** Add File: b.txt\n+b\n"
             "*** End Patch")
    model_server.add(reply(call("apply_patch", {"patch": patch})), reply("ok"))
    box = sandbox()
    real_write = box.write_file

    def write(path, content):
        if path == "b.txt":
            from tasks.sandbox.base import SandboxError
            raise SandboxError("disk full")
        real_write(path, content)

    box.write_file = write
    outcome = run(make_spec(model_server), box)
    seen = model_server.requests[1].tool_outputs()[0]
    assert seen == ("Error: the patch was only partly applied: a.txt were written, then: disk "
                    "full. Check the files with `git diff` before continuing.")
    assert outcome.of(kinds.PATCH)[0]["ok"] is False


def test_an_internal_error_ends_the_attempt_cleanly(model_server):
    model_server.add(reply(call("shell", {"command": "x"})))
    box = sandbox()

    def explode(command, cwd):
        raise RuntimeError("boom")

    box.on_command = explode
    outcome = run(make_spec(model_server, mode="ask"), box)
    assert outcome.result.outcome == "failed"
    assert outcome.result.error == "The agent stopped on an internal error: RuntimeError: boom"
    assert outcome.kinds[-1] == kinds.ERROR
    assert kinds.COMMAND in outcome.kinds  # the log so far is kept
