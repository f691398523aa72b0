"""The resident command helper (tasks/sandbox/helper.py, sandbox/helper/codexweb-helper.c):
agent commands run through it with today's semantics (exit codes, signals, environment, folder,
process group, stdin closed, output held open by a background child, time limit), without an
exec each; without it (no binary, or it died) commands run the old way. Real containers."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from tasks.sandbox.base import SandboxLost

pytestmark = pytest.mark.usefixtures("docker_engine")


@pytest.fixture(scope="module")
def sandbox(module_sandbox_factory):  # noqa: ANN001, ANN201
    sb = module_sandbox_factory(variables={"REPO_VAR": "from the repository"})
    assert sb._helper is not None, "the resident helper did not start"
    return sb


def exec_create_events(sandbox) -> list[dict]:  # noqa: ANN001
    """The engine's `exec_create` events for this container so far, from its event log (it
    forgets ended execs in `ExecIDs`)."""
    api = sandbox.api
    started = api.inspect_container(sandbox.container_id)["Created"]
    since = int(datetime.fromisoformat(started[:19]).replace(tzinfo=UTC).timestamp()) - 1
    return list(api.events(
        since=since,
        until=int(time.time()) + 1,
        filters={"container": sandbox.container_id, "event": "exec_create"},
        decode=True,
    ))


def engine_exec_count(sandbox) -> int:  # noqa: ANN001
    """Command execs (streaming.WRAPPER's, named `codexweb-exec`) the engine created in this
    container so far; the sandbox's own short execs (the disk measurement) are not counted."""
    return sum(
        1 for event in exec_create_events(sandbox) if "codexweb-exec" in event.get("Action", "")
    )


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ("true", 0),
        ("exit 3", 3),
        ("kill -TERM $$", 143),
        ("kill -KILL $$", 137),
        ("/etc/hostname", 126),
        ("no-such-program-here", 127),
    ],
)
def test_exit_status_is_the_commands(sandbox, command: str, code: int) -> None:  # noqa: ANN001
    assert sandbox.exec(command).exit_code == code


def test_output_environment_and_folder(sandbox) -> None:  # noqa: ANN001
    chunks: list = []
    result = sandbox.exec(
        on_output=chunks.append,
        command='echo out; pwd; echo "$REPO_VAR|$HOME|$USER|$LANG"; id -un; sleep 0.2; '
        "echo err >&2",
        cwd="/tmp",
    )
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "out",
        "/tmp",
        "from the repository|/home/sandbox|sandbox|C.UTF-8",
        "sandbox",
        "err",
    ]
    assert chunks[-1].stream == "stderr"


def test_own_process_group_stdin_closed_and_no_helper_descriptors(sandbox) -> None:  # noqa: ANN001
    result = sandbox.exec(
        'test "$(ps -o pgid= -p $$ | tr -d " ")" = "$$" && echo own-group; '
        "cat; echo stdin-ended; "
        # The descriptors the command was started with: `ls` replaces the shell and lists its
        # own, the directory it reads being the lowest free one (`ls` in a pipeline would show
        # the pipeline's pipes, open in the shell for a moment).
        "exec ls /proc/$$/fd"
    )
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[:2] == ["own-group", "stdin-ended"]
    # Only its own 0/1/2 (3: the listed directory): nothing of the helper's is inherited.
    assert sorted(lines[2:]) == ["0", "1", "2", "3"]


def test_a_background_child_holding_the_output_is_waited_for(sandbox) -> None:  # noqa: ANN001
    result = sandbox.exec("(sleep 1; echo late) & echo early")
    assert result.exit_code == 0
    assert result.output.split() == ["early", "late"]


def test_large_output_arrives_whole_and_is_capped(sandbox) -> None:  # noqa: ANN001
    result = sandbox.exec("head -c 3000000 /dev/zero | tr '\\0' a", max_output_bytes=2_000_000)
    assert result.exit_code == 0
    assert result.truncated
    assert result.output.startswith("a" * 1_999_000)


def test_time_limit_kills_the_command_and_what_left_its_group(sandbox) -> None:  # noqa: ANN001
    result = sandbox.exec("setsid sleep 300 & sleep 300", timeout=2)
    assert result.timed_out and result.exit_code is None
    assert "time limit of 2 seconds" in result.error
    left = sandbox.exec("pgrep -u sandbox -x sleep || echo none")
    assert left.output.strip() == "none"
    assert sandbox._helper is not None  # the helper was spared


def test_commands_run_without_an_exec_each(sandbox) -> None:  # noqa: ANN001
    sandbox.exec("true")
    before = engine_exec_count(sandbox)
    for n in range(5):
        assert sandbox.exec(f"exit {n}").exit_code == n
    assert engine_exec_count(sandbox) == before


def all_exec_count(sandbox) -> int:  # noqa: ANN001
    """Every exec the engine created in this container so far (its event log)."""
    return len(exec_create_events(sandbox))


CHECKOUT_LISTING = "cat src/app.py; ls -A | sort | tr '\\n' ' '"


def test_a_new_code_sandbox_gets_its_checkout_and_helper_in_one_exec(make_sandbox) -> None:  # noqa: ANN001
    """No script runs, so the exec that copies the checkout in becomes the helper (one exec
    where there were two); the helper then serves commands as usual."""
    sandbox = make_sandbox()
    assert sandbox._helper is not None
    assert all_exec_count(sandbox) == 1
    listing = sandbox.exec(CHECKOUT_LISTING)
    assert listing.output == "print('hi')\n.git .gitignore README.md src ", listing.output
    assert all_exec_count(sandbox) == 1


def test_when_the_one_exec_fails_the_checkout_is_copied_alone(make_sandbox, monkeypatch) -> None:  # noqa: ANN001
    """A copy-and-helper exec that fails (here: it unpacks nothing and says why) costs only
    the exec: the checkout is copied again on its own and the helper started after it."""
    from tasks.sandbox import helper

    monkeypatch.setattr(
        helper, "replace_workspace_then", lambda size, program: "echo broken >&2; exit 4"
    )
    sandbox = make_sandbox()
    assert sandbox._helper is not None
    assert all_exec_count(sandbox) == 3  # the failed one, the copy, the helper
    listing = sandbox.exec(CHECKOUT_LISTING)
    assert listing.output == "print('hi')\n.git .gitignore README.md src ", listing.output


def test_read_only_ask_commands_run_as_reader(module_sandbox_factory) -> None:  # noqa: ANN001
    sandbox = module_sandbox_factory(read_only=True)
    assert sandbox._helper is not None and sandbox._helper.user == "reader"
    result = sandbox.exec("id -un; touch /workspace/x")
    assert result.output.splitlines()[0] == "reader"
    assert result.exit_code == 1


def test_without_the_binary_commands_run_with_an_exec_each(make_sandbox, tmp_path) -> None:  # noqa: ANN001
    sandbox = make_sandbox(start=False)
    sandbox.config = type(sandbox.config)(
        **{**sandbox.config.__dict__, "helper_binary": str(tmp_path / "gone")}
    )
    sandbox.start()
    assert sandbox._helper is None
    before = engine_exec_count(sandbox)
    assert sandbox.exec("echo fine").output == "fine\n"
    assert engine_exec_count(sandbox) == before + 1


def test_a_killed_helper_ends_its_command_clearly_and_later_ones_run(make_sandbox) -> None:  # noqa: ANN001
    sandbox = make_sandbox()
    helper = sandbox._helper
    assert helper is not None
    result = sandbox.exec(f"kill -KILL {helper.pid}; sleep 1; echo after")
    assert result.exit_code is None
    assert "command runner ended during the command" in result.error
    assert sandbox._helper is None
    assert sandbox.exec("echo next").output == "next\n"


def test_the_helper_starts_after_setup_ended(make_sandbox) -> None:  # noqa: ANN001
    # Setup records when it ended (seconds since boot); the helper's own start time is later,
    # so it never saw setup's secrets.
    sandbox = make_sandbox(
        setup_script='test -n "$SETUP_SECRET"; cut -d" " -f1 /proc/uptime > /tmp/setup-ended',
        secrets={"SETUP_SECRET": "s3cret-value-1234"},
    )
    helper = sandbox._helper
    assert helper is not None
    result = sandbox.exec(
        f"ticks=$(cut -d' ' -f22 /proc/{helper.pid}/stat); "
        'echo "$(cat /tmp/setup-ended) $((ticks / $(getconf CLK_TCK)))"'
    )
    setup_ended, helper_started = (float(x) for x in result.output.split())
    assert helper_started >= int(setup_ended)


def test_a_container_killed_under_a_helper_command_is_lost(make_sandbox) -> None:  # noqa: ANN001
    sandbox = make_sandbox()
    assert sandbox._helper is not None
    killer = threading.Timer(1.0, sandbox.api.kill, args=(sandbox.container_id,))
    killer.start()
    try:
        with pytest.raises(SandboxLost):
            sandbox.exec("sleep 60", timeout=30)
    finally:
        killer.join()


def test_a_helper_the_sandbox_ended_is_started_again(make_sandbox) -> None:  # noqa: ANN001
    # The disk limit's kill ends every process of the user, the helper with them: that was
    # the sandbox's doing, not the helper's, so later commands still run without an exec each.
    sandbox = make_sandbox(disk_mb=100)
    first = sandbox._helper
    assert first is not None
    result = sandbox.exec(
        "for i in 1 2; do head -c 60M /dev/zero > /tmp/fill.$i; done; sleep 60", timeout=60
    )
    assert "disk limit of 100 MB" in result.error, result.output
    # While the files are there every command would be killed at its start (the limit holds
    # between commands): they go by a short exec of the sandbox's own, not a command.
    sandbox._require_shell().run(["sh", "-c", "rm -f /tmp/fill.*"], user="sandbox")
    before = engine_exec_count(sandbox)
    for n in range(3):
        assert sandbox.exec(f"exit {n}").exit_code == n
    assert engine_exec_count(sandbox) == before
    again = sandbox._helper
    assert again is not None and again.pid != first.pid
    assert sandbox.exec(f"kill -0 {first.pid} 2>/dev/null || echo old-one-gone").output == (
        "old-one-gone\n"
    )


def test_restarts_are_bounded_per_sandbox(make_sandbox) -> None:  # noqa: ANN001
    # An agent that makes the sandbox kill everything again and again (here: the kill itself,
    # repeated) gets a new helper only MAX_HELPER_RESTARTS times, then an exec per command.
    from tasks.sandbox.docker import MAX_HELPER_RESTARTS

    sandbox = make_sandbox()
    pids = {sandbox._helper.pid}
    for _ in range(MAX_HELPER_RESTARTS):
        sandbox._end_user_processes("sandbox")
        assert sandbox.exec("echo ok").output == "ok\n"
        assert sandbox._helper is not None
        pids.add(sandbox._helper.pid)
    assert len(pids) == MAX_HELPER_RESTARTS + 1
    sandbox._end_user_processes("sandbox")
    before = engine_exec_count(sandbox)
    assert sandbox.exec("echo ok").output == "ok\n"
    assert sandbox._helper is None
    assert engine_exec_count(sandbox) == before + 1


def test_a_helper_killed_by_a_command_is_not_started_again(make_sandbox) -> None:  # noqa: ANN001
    # The helper ended under a command (not by the sandbox): dropped for good, even when the
    # sandbox later kills every process of the user itself.
    sandbox = make_sandbox()
    helper = sandbox._helper
    assert helper is not None
    sandbox.exec(f"kill -KILL {helper.pid}; sleep 1")
    assert sandbox._helper is None
    sandbox._end_user_processes("sandbox")
    before = engine_exec_count(sandbox)
    assert sandbox.exec("echo next").output == "next\n"
    assert sandbox._helper is None
    assert engine_exec_count(sandbox) == before + 1


def test_a_line_written_in_two_pieces_is_not_cut_by_the_other_stream(sandbox) -> None:  # noqa: ANN001
    chunks: list = []
    result = sandbox.exec(
        on_output=chunks.append,
        command="printf 'half a ' >&2; sleep 0.01; echo between; printf 'line\\n' >&2",
    )
    assert result.output.splitlines() == ["between", "half a line"], result.output
    assert "".join(c.text for c in chunks) == result.output
