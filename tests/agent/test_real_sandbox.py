"""The real loop in a real sandbox: the scripted model server drives `run_agent` against the
Docker backend (tasks/sandbox/docker.py) on a fixture repository with a failing test."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from tasks import event_kinds as kinds
from tasks.agent import patch_exec
from tasks.agent.collect import collect_patch, head_commit
from tasks.agent.config import Budgets
from tasks.agent.conversation import ToolCall
from tasks.agent.instructions import AgentsFiles
from tasks.agent.tools import Toolbox
from tasks.sandbox.base import SandboxError, SandboxOwner, SandboxSpec
from tests.support.agent_run import make_spec, run
from tests.support.calc_repo import (
    CALC,
    FIX,
    IMAGE,
    TEST,
    TESTS,
    output_of,
    summary_citing_the_green_run,
)
from tests.support.model_server import call, reply

pytestmark = pytest.mark.docker

@pytest.fixture
def make_sandbox(docker_engine, tmp_path):
    from tasks.sandbox.config import DockerConfig
    from tasks.sandbox.docker import DockerSandbox

    started = []

    def make(repo: Path, *, read_only: bool = False, attempt_id: int = 900):
        spec = SandboxSpec(owner=SandboxOwner.attempt(attempt_id), image=IMAGE, workspace=repo,
                           read_only=read_only, wall_seconds=300)
        config = DockerConfig(runtime_dir=tmp_path / "runtime", mitmdump="", warm_cache_hours=0)
        sandbox = DockerSandbox(spec, config=config, client=docker_engine)
        sandbox.start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_code_task_runs_tests_patches_and_ends_green(model_server, make_sandbox, fixture_repo,
                                                      api):
    model_server.add(
        reply("Running the tests first.", call("shell", {"command": TESTS})),
        reply(call("shell", {"command": "nl -ba calc.py"})),
        reply(call("apply_patch", {"patch": FIX})),
        reply(call("shell", {"command": TESTS})),
        summary_citing_the_green_run,
    )
    sandbox = make_sandbox(fixture_repo)
    base = head_commit(sandbox)
    outcome = run(make_spec(model_server, api=api, base_commit=base), sandbox)

    result = outcome.result
    assert result.outcome == "succeeded", result.error
    assert model_server.problems == []
    first_run, _, _, second_run = model_server.requests[4].tool_outputs()
    assert "Exit code: 1" in first_run and "FAILED (failures=1)" in first_run
    assert "Exit code: 0" in second_run and "OK" in output_of(second_run)
    assert [e["exit_code"] for e in outcome.of(kinds.COMMAND_END)] == [1, 0, 0]
    assert "AGENTS.md" in model_server.requests[0].system and "unittest -v" in (
        model_server.requests[0].system)

    summary = outcome.of(kinds.SUMMARY)[0]
    assert [c["valid"] for c in summary["citations"]] == [True, True], summary["citations"]
    assert summary["flags"] == []

    assert result.committed
    patch = collect_patch(sandbox, base)
    # Taken in the same exec as the commit (tasks/agent/collect.py::commit_changes): the same.
    assert result.patch == patch
    # The cited file was read once, with the check, and kept.
    assert result.cited_files == {"calc.py": CALC.replace("a - b", "a + b")}
    assert "diff --git a/calc.py b/calc.py" in patch
    assert "-    return a - b\n+    return a + b\n" in patch
    assert patch.count("diff --git") == 1
    check = subprocess.run(["git", "apply", "--check", "-"], cwd=fixture_repo, input=patch,
                           text=True, capture_output=True)
    assert check.returncode == 0, check.stderr


def test_ask_task_answers_with_citations_and_cannot_write(model_server, make_sandbox,
                                                          fixture_repo):
    def answer(request):
        chunk = request.chunk_ids()[0]
        return reply("`add` returns `a - b` 【F:calc.py†L2】, so the test fails "
                     f"【T:{chunk}†L1-L2】.")

    model_server.add(
        reply(call("shell", {"command": "cat calc.py; echo changed > calc.py"})),
        reply(call("apply_patch", {"patch": FIX})),
        answer,
    )
    sandbox = make_sandbox(fixture_repo, read_only=True)
    outcome = run(make_spec(model_server, api="chat", mode="ask",
                            prompt="Why does test_add fail?"), sandbox)

    assert outcome.result.outcome == "succeeded", outcome.result.error
    write_attempt = model_server.requests[1].tool_outputs()[0]
    assert "Exit code: 1" in write_attempt and "Permission denied" in write_attempt
    assert outcome.of(kinds.TOOL_ERROR)[0]["tool"] == "apply_patch"
    assert sandbox.read_file("calc.py") == CALC
    with pytest.raises(SandboxError):
        sandbox.write_file("calc.py", "x")
    summary = outcome.of(kinds.SUMMARY)[0]
    assert [c["valid"] for c in summary["citations"]] == [True, True], summary["citations"]
    assert not outcome.result.committed


def test_path_escapes_are_refused(model_server, make_sandbox, fixture_repo):
    def add(path):
        return call("apply_patch", {"patch": f"*** Begin Patch\n*** Add File: {path}\n+owned\n"
                                             "*** End Patch"})

    update_link = ("*** Begin Patch\n*** Update File: hostname_link\n@@\n-x\n+owned\n"
                   "*** End Patch")
    model_server.add(
        reply(add("../escape.txt")),
        reply(add("/tmp/escape.txt")),
        reply(call("shell", {"command": "ln -s /tmp tmp_link; ln -s /etc/hostname hostname_link"})),
        reply(add("tmp_link/escape.txt")),
        reply(call("apply_patch", {"patch": update_link})),
        reply("All refused."),
    )
    sandbox = make_sandbox(fixture_repo)
    outcome = run(make_spec(model_server), sandbox)

    errors = [e["error"] for e in outcome.of(kinds.PATCH)]
    assert "contains '..'" in outcome.of(kinds.PATCH)[0]["error"]
    assert "is absolute" in errors[1]
    assert "symbolic link" in errors[2] and "symbolic link" in errors[3]
    assert all(not e["ok"] for e in outcome.of(kinds.PATCH))
    check = sandbox.exec("ls /tmp/escape.txt /workspace/../escape.txt; cat /etc/hostname")
    assert "owned" not in check.output
    assert check.output.count("No such file") == 2


def test_patch_that_does_not_apply_leaves_the_file(model_server, make_sandbox, fixture_repo):
    model_server.add(reply(call("apply_patch", {"patch": FIX.replace("a - b", "a * b", 1)})),
                     reply("Could not patch."))
    sandbox = make_sandbox(fixture_repo)
    outcome = run(make_spec(model_server), sandbox)
    assert "did not match" in outcome.of(kinds.PATCH)[0]["error"]
    assert sandbox.read_file("calc.py") == CALC
    assert not outcome.result.committed


def test_budget_runs_out_with_log_intact(model_server, make_sandbox, fixture_repo):
    model_server.add(*[reply(call("shell", {"command": f"echo step {i}"})) for i in range(5)])
    sandbox = make_sandbox(fixture_repo)
    outcome = run(make_spec(model_server, budgets=Budgets(max_turns=3)), sandbox)
    assert (outcome.result.outcome, outcome.result.stop_reason) == ("stopped", "budget: turns")
    assert [e["text"] for e in outcome.of(kinds.OUTPUT)] == ["step 0\n", "step 1\n", "step 2\n"]
    assert len(outcome.result.steps) == 3


def test_nested_agents_md_found_in_depth_order(model_server, make_sandbox, fixture_repo):
    for folder, text in [("pkg", "PKG rules"), ("pkg/sub", "SUB rules"),
                         ("node_modules/dep", "VENDORED rules")]:
        (fixture_repo / folder).mkdir(parents=True, exist_ok=True)
        (fixture_repo / folder / "AGENTS.md").write_text(text + "\n")
    model_server.add(reply("ok 【F:AGENTS.md†L1】"))
    sandbox = make_sandbox(fixture_repo, read_only=True)
    run(make_spec(model_server, mode="ask"), sandbox)
    system = model_server.requests[0].system
    assert "- AGENTS.md\n- pkg/AGENTS.md\n- pkg/sub/AGENTS.md" in system
    assert system.index("unittest -v") < system.index("PKG rules") < system.index("SUB rules")
    assert "VENDORED" not in system


def test_long_output_and_timeouts_in_a_real_shell(model_server, make_sandbox, fixture_repo):
    model_server.add(
        reply(call("shell", {"command": "seq 1 20000"})),
        reply(call("shell", {"command": "echo started; sleep 30", "timeout": 1})),
        reply("done"),
    )
    sandbox = make_sandbox(fixture_repo)
    outcome = run(make_spec(model_server, mode="ask", context_output_chars=4000), sandbox)
    seq_seen, sleep_seen = model_server.requests[2].tool_outputs()
    assert len(seq_seen) < 4500 and "of 20000 omitted" in seq_seen
    assert seq_seen.rstrip().endswith("20000")
    seq_chunk = outcome.result.chunks[outcome.of(kinds.COMMAND)[0]["chunk_id"]]
    assert len(seq_chunk.lines) == 20000
    assert "".join(e["text"] for e in outcome.of(kinds.OUTPUT)
                   if e["chunk_id"] == seq_chunk.chunk_id) == seq_chunk.output
    assert "Timed out after 1 seconds" in sleep_seen and "Exit code: none" in sleep_seen
    end = outcome.of(kinds.COMMAND_END)[1]
    assert end["timed_out"] is True and end["exit_code"] is None and end["duration"] < 15


# --- apply_patch: one exec round trip (issue 18) ----------------------------------------------


class Counting:
    """The Docker sandbox, counting the calls that each cost a round trip to the engine."""

    def __init__(self, sandbox) -> None:
        self.sandbox = sandbox
        self.calls: list[str] = []

    def exec(self, command, **kwargs):
        self.calls.append("exec")
        return self.sandbox.exec(command, **kwargs)

    def read_file(self, path, **kwargs):
        self.calls.append("read_file")
        return self.sandbox.read_file(path, **kwargs)

    def write_file(self, path, content):
        self.calls.append("write_file")
        return self.sandbox.write_file(path, content)


def toolbox(sandbox, events: list) -> Toolbox:
    """The agent's tools on `sandbox`, outside the loop (no model is called)."""
    spec = make_spec(SimpleNamespace(url="http://127.0.0.1:9/v1"), attempt_id=1)
    return Toolbox.for_attempt(spec, sandbox,
                               emit=lambda kind, payload: events.append((kind, payload)),
                               agents=AgentsFiles(paths=[]), remaining_seconds=lambda: 300.0)


def patch_call(text: str) -> ToolCall:
    return ToolCall(call_id="c1", name="apply_patch", arguments=json.dumps({"patch": text}))


def test_apply_patch_is_one_exec_round_trip(make_sandbox, fixture_repo):
    sandbox = make_sandbox(fixture_repo)
    counting = Counting(sandbox)
    events: list = []
    patch = ("*** Begin Patch\n*** Update File: calc.py\n@@ def add(a, b):\n-    return a - b\n"
             "+    return a + b\n*** Add File: pkg/sub/new.py\n+X = 1\n"
             "*** Update File: test_calc.py\n*** Move to: tests/test_calc.py\n"
             "*** Delete File: AGENTS.md\n*** End Patch")

    record = toolbox(counting, events).run(patch_call(patch))

    assert record.ok, record.observation
    assert counting.calls == ["exec"]
    assert record.observation.startswith(
        "Patch applied: wrote calc.py, wrote pkg/sub/new.py, deleted test_calc.py, "
        "wrote tests/test_calc.py, deleted AGENTS.md.")
    assert sandbox.read_file("calc.py") == "def add(a, b):\n    return a + b\n"
    assert sandbox.read_file("pkg/sub/new.py") == "X = 1\n"
    assert sandbox.read_file("tests/test_calc.py") == TEST
    gone = sandbox.exec("ls test_calc.py AGENTS.md 2>&1; stat -c %U pkg/sub/new.py")
    assert gone.output.count("No such file") == 2
    assert gone.output.splitlines()[-1] != "root"  # written as the command user
    assert events[-1] == ("patch", {"call_id": "c1", "ok": True, "files": [
        "calc.py", "pkg/sub/new.py", "test_calc.py", "tests/test_calc.py", "AGENTS.md"],
        "error": ""})


def test_a_patch_refused_in_the_container_changes_nothing(make_sandbox, fixture_repo):
    sandbox = make_sandbox(fixture_repo)
    sandbox.exec("mkdir real && ln -s real linked && mkfifo pipe")
    events: list = []
    box = toolbox(sandbox, events)
    through_link = ("*** Begin Patch\n*** Add File: fine.txt\n+x\n*** Add File: linked/a.txt\n"
                    "+x\n*** End Patch")
    not_a_file = ("*** Begin Patch\n*** Add File: fine.txt\n+x\n*** Update File: pipe\n@@\n-x\n"
                  "+y\n*** End Patch")
    stale = FIX.replace("a - b", "a * b", 1)

    errors = [box.run(patch_call(p)).observation for p in (through_link, not_a_file, stale)]

    assert "linked/a.txt is or goes through a symbolic link" in errors[0]
    assert "pipe is not a regular file" in errors[1]
    assert "change 1 did not match" in errors[2]
    assert all(e.startswith("Error: the patch was not applied; no file was changed.")
               for e in errors)
    left = sandbox.exec("ls fine.txt real/a.txt 2>&1")
    assert left.output.count("No such file") == 2
    assert sandbox.read_file("calc.py") == CALC


def test_a_write_failing_half_way_in_the_container_says_what_was_written(make_sandbox,
                                                                         fixture_repo):
    sandbox = make_sandbox(fixture_repo)
    sandbox.exec("mkdir locked && chmod 555 locked")
    events: list = []
    patch = ("*** Begin Patch\n*** Add File: a.txt\n+a\n*** Add File: locked/b.txt\n+b\n"
             "*** End Patch")

    record = toolbox(sandbox, events).run(patch_call(patch))

    assert not record.ok
    assert record.observation.startswith(
        "Error: the patch was only partly applied: a.txt were written, then: cannot write "
        "locked/b.txt: Permission denied.")
    assert sandbox.read_file("a.txt") == "a\n"


def test_a_patch_too_long_for_one_command_takes_the_step_path(make_sandbox, fixture_repo):
    sandbox = make_sandbox(fixture_repo)
    counting = Counting(sandbox)
    lines = [f"+{os.urandom(24).hex()}" for _ in range(4000)]  # incompressible, ~200 KB
    patch = "*** Begin Patch\n*** Add File: big.txt\n" + "\n".join(lines) + "\n*** End Patch"
    assert patch_exec.command(patch, "/workspace") is None

    record = toolbox(counting, []).run(patch_call(patch))

    assert record.ok, record.observation
    assert "write_file" in counting.calls
    assert sandbox.read_file("big.txt") == "".join(f"{line[1:]}\n" for line in lines)
