"""Limits and time: memory, processes, disk, per-command timeouts, the attempt's wall clock,
cancellation, output cap, and the container's privileges."""

from __future__ import annotations

import threading
import time

import pytest

from tasks.sandbox.base import SandboxError

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def sandbox(module_sandbox_factory):
    return module_sandbox_factory(memory_mb=256, pids=64, disk_mb=300)


def test_commands_run_unprivileged_with_no_capabilities(sandbox):
    result = sandbox.exec("id -u; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status")
    lines = result.output.split()
    assert lines[0] == "1000"
    assert "0000000000000000" in result.output.split("CapEff:")[1].split()[0]
    assert result.output.split("CapBnd:")[1].split()[0] == "0000000000000000"
    assert result.output.split("NoNewPrivs:")[1].split()[0] == "1"


def test_stdin_is_closed(sandbox):
    result = sandbox.exec("cat; echo done", timeout=10)
    assert result.exit_code == 0
    assert result.output.strip() == "done"


def test_output_is_streamed_with_timestamps_and_exit_code(sandbox):
    chunks = []
    result = sandbox.exec("echo one; sleep 1; echo two >&2; exit 3", on_output=chunks.append)
    assert result.exit_code == 3
    assert [c.stream for c in chunks] == ["stdout", "stderr"]
    assert chunks[1].at - chunks[0].at >= 0.9
    assert result.output == "one\ntwo\n"


def test_output_cap_says_it_truncated(sandbox):
    result = sandbox.exec("seq 1 100000", max_output_bytes=1000)
    assert result.truncated
    assert len(result.output.encode()) < 1200
    assert "[output truncated:" in result.output
    assert "the limit is 1000 bytes" in result.output


def test_memory_hog_ends_with_a_clear_out_of_memory_error(sandbox):
    result = sandbox.exec("python3 -c 'x = bytearray(600 * 1024 * 1024); print(len(x))'")
    assert result.exit_code is None
    assert "ran out of memory" in result.error
    assert "256 MB" in result.error
    assert sandbox.exec("echo still-alive").output.strip() == "still-alive"


def test_fork_bomb_is_contained(sandbox, docker_engine):
    started = time.monotonic()
    result = sandbox.exec("bomb() { bomb | bomb & }; bomb; sleep 60", timeout=8)
    assert result.timed_out
    # Bounded, not prompt: on a loaded 2-core machine reclaiming 64 pids can take a while.
    assert time.monotonic() - started < 120
    stats = docker_engine.api.inspect_container(sandbox.container_id)
    assert stats["HostConfig"]["PidsLimit"] == 64
    after = sandbox.exec("echo recovered; ps -e --no-headers | wc -l", timeout=20)
    assert "recovered" in after.output, after.output
    assert int(after.output.split()[-1]) < 20  # the bomb's processes are gone


def test_sleeping_command_is_killed_at_its_time_limit(sandbox):
    started = time.monotonic()
    result = sandbox.exec("echo before; sleep 120; echo after", timeout=2)
    assert time.monotonic() - started < 10
    assert result.timed_out and result.exit_code is None
    assert result.output.splitlines()[0] == "before"
    assert "after" not in result.output.splitlines()
    assert "time limit of 2 seconds" in result.output
    assert sandbox.exec("pgrep -u sandbox -c sleep").output.strip() == "0"


def test_timeout_kills_processes_that_left_the_group(sandbox):
    result = sandbox.exec("setsid sleep 300 & sleep 300", timeout=2)
    assert result.timed_out
    assert sandbox.exec("pgrep -u sandbox -c sleep").output.strip() == "0"


def test_disk_limit_stops_a_command_that_fills_the_disk(sandbox):
    result = sandbox.exec(
        "for i in 1 2 3 4 5 6; do head -c 80M /dev/zero > /tmp/fill.$i || break; done; sleep 30",
        timeout=60,
    )
    assert result.exit_code is None
    assert "disk limit of 300 MB" in result.error, result.output
    sandbox.exec("rm -f /tmp/fill.*")


def test_single_file_cannot_exceed_the_disk_limit(sandbox):
    """The per-file size limit stops the write at 300 MiB. The disk watcher may also kill the
    command first (the writable layer holds more than this one file), so the proof is the
    file's size, whoever ended the command."""
    result = sandbox.exec("head -c 400M /dev/zero > /tmp/big; echo rc=$?", timeout=60)
    # While the file is there the sandbox is over its limit: the watchdog's check at the next
    # command's start may kill that one too, after its output (a note is appended to it).
    size = sandbox.exec("stat -c %s /tmp/big").output.splitlines()[0]
    sandbox.exec("rm -f /tmp/big")
    assert "rc=153" in result.output or "disk limit of 300 MB" in result.error, result.output
    assert 0 < int(size) <= 300 * 1024 * 1024


def test_wall_clock_limit_ends_the_attempt(make_sandbox):
    # The clock counts from the start (container and workspace included): room for a slow one.
    sandbox = make_sandbox(wall_seconds=6)
    started = time.monotonic()
    result = sandbox.exec("sleep 60", timeout=60)
    assert time.monotonic() - started < 10
    assert result.exit_code is None
    assert "time limit of 6 seconds" in result.error
    with pytest.raises(SandboxError, match="time limit"):
        sandbox.exec("echo too late")


def test_cancel_from_another_thread_stops_within_seconds(make_sandbox, docker_engine):
    sandbox = make_sandbox()
    threading.Timer(1.0, sandbox.cancel).start()
    started = time.monotonic()
    result = sandbox.exec("sleep 120", timeout=120)
    assert time.monotonic() - started < 6
    assert result.error == "the attempt was cancelled"
    state = docker_engine.api.inspect_container(sandbox.container_id)["State"]
    assert not state["Running"]
    with pytest.raises(SandboxError, match="cancelled"):
        sandbox.exec("true")


def test_when_nothing_else_works_the_container_is_restarted(make_sandbox):
    from tasks.sandbox.base import NetworkPolicy
    from tests.support.sandbox_fixtures import ALLOWED

    sandbox = make_sandbox(agent_network=NetworkPolicy(mode="on"))
    sandbox.exec("echo kept > kept.txt")
    shell = sandbox._shell
    # Simulate processes that no kill command can reach (e.g. no pid left to run one).
    shell.kill_command = lambda **kwargs: None
    shell.kill_user_processes = lambda user, **kwargs: False
    result = sandbox.exec("sleep 300", timeout=2)
    assert result.timed_out
    after = sandbox.exec(
        f"pgrep -c sleep -u sandbox; cat kept.txt; curl -sS -m 10 http://{ALLOWED}/"
    )
    assert after.output.startswith("0\nkept\n"), after.output
    assert "hello from the allowed test domain" in after.output  # the egress bridge is back
