"""The real loop in a real sandbox: the scripted model server drives `run_agent` against the
Docker backend (tasks/sandbox/docker.py) on a fixture repository with a failing test."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tasks import event_kinds as kinds
from tasks.agent.collect import collect_patch, head_commit
from tasks.agent.config import Budgets
from tasks.sandbox.base import SandboxError, SandboxOwner, SandboxSpec
from tests.agent.conftest import make_spec, run
from tests.sandbox.conftest import IMAGE as SLIM_IMAGE
from tests.support.model_server import CHUNK_ID, call, reply

pytestmark = pytest.mark.docker

IMAGE = SLIM_IMAGE  # what these tests need (Python) is in the smaller image
CALC = "def add(a, b):\n    return a - b\n"
TEST = (
    "import unittest\n\nfrom calc import add\n\n\n"
    "class AddTest(unittest.TestCase):\n"
    "    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n\n\n"
    "if __name__ == '__main__':\n    unittest.main()\n"
)
AGENTS = "Run `python3 -m unittest -v` from the repository root before finishing.\n"
FIX = ("*** Begin Patch\n*** Update File: calc.py\n@@ def add(a, b):\n-    return a - b\n"
       "+    return a + b\n*** End Patch")
TESTS = "python3 -m unittest -v"


@pytest.fixture(scope="module")
def docker_engine():
    from tasks.sandbox.engine import docker_client

    try:
        client = docker_client()
        client.images.get(IMAGE)
    except Exception as exc:  # no engine or no image: say what is missing
        pytest.skip(f"needs the Docker engine and {IMAGE} (make sandbox-image): {exc}")
    return client


@pytest.fixture
def fixture_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text(CALC)
    (repo / "test_calc.py").write_text(TEST)
    (repo / "AGENTS.md").write_text(AGENTS)
    git = ["git", "-c", "user.name=Fixture", "-c", "user.email=fixture@example.test"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "initial"], cwd=repo, check=True)
    return repo


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


def output_of(tool_output: str) -> list[str]:
    """The command's output lines inside a shell result the model saw."""
    return tool_output.split(" lines):\n", 1)[1].splitlines()


def summary_citing_the_green_run(request):
    last = request.tool_outputs()[-1]
    chunk = CHUNK_ID.search(last).group(1)
    ok_line = output_of(last).index("OK") + 1
    return reply(
        "## Summary\n- `add` subtracted instead of adding; it now adds 【F:calc.py†L1-L2】.\n\n"
        f"## Testing\n- `{TESTS}`: the tests pass 【T:{chunk}†L{ok_line}】"
    )


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
