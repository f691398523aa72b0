"""Attacks on the resident command helper (tasks/sandbox/helper.py) from a command of the
agent user, the helper's own user: it runs the user's commands and its pipes are the host's
only channel, so a command must not be able to write into that channel (a forged exit status
or output), read the helper's memory or environment, trace it, or, by killing or stopping it,
make later commands fail. Each test performs the attack against a real container; the last
shows the first attack succeeds against a helper built without PR_SET_DUMPABLE, so the tests
can tell a naive helper from a safe one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.sandbox import helper_build
from tasks.sandbox.helper import HelperChannel

pytestmark = pytest.mark.docker


def helper_of(sandbox) -> HelperChannel:  # noqa: ANN001
    helper = sandbox._helper
    assert helper is not None and helper.pid > 0, "the resident helper did not start"
    return helper


# Writes a forged exit frame (status 0) for run ids 1-20 and forged output into the helper's
# stdout (the host's channel), and a forged request into its stdin; then exits 5. `$H` is the
# helper's pid.
FORGE = r"""
for id in $(seq 1 20); do
  printf "X\0\0\0\\$(printf %03o $id)\0\0\0\0010" > /proc/$H/fd/1 && echo "wrote exit frame $id"
  printf "O\0\0\0\\$(printf %03o $id)\0\0\0\006forged" > /proc/$H/fd/1 && echo "wrote output"
done
printf "R\0\0\0\143\0\0\0\017/\0touch /tmp/p\0" > /proc/$H/fd/0 && echo "wrote a request"
exit 5
"""


def test_a_command_cannot_forge_frames_through_the_helpers_descriptors(make_sandbox):
    sandbox = make_sandbox()
    helper = helper_of(sandbox)
    result = sandbox.exec(f"H={helper.pid}\n{FORGE}")
    assert result.exit_code == 5  # the real status, not the forged 0
    assert "Permission denied" in result.output
    assert "wrote" not in result.output
    assert "forged" not in result.output
    assert sandbox.exec("test -e /tmp/p && echo ran || echo not-run").output == "not-run\n"
    assert sandbox._helper is helper  # and it still serves


def test_a_command_cannot_read_the_helpers_environment_or_memory(make_sandbox):
    sandbox = make_sandbox()
    helper = helper_of(sandbox)
    result = sandbox.exec(
        f"for f in environ mem maps cmdline; do "
        f"head -c 64 /proc/{helper.pid}/$f >/dev/null && echo read-$f; done; "
        f"ls /proc/{helper.pid}/fd >/dev/null && echo listed-fds; true"
    )
    for what in ("environ", "mem", "maps"):
        assert f"read-{what}" not in result.output
    assert "listed-fds" not in result.output
    assert "read-cmdline" in result.output  # /proc itself is readable: the denial is the helper's


PTRACE = (
    "import ctypes, sys; libc = ctypes.CDLL(None, use_errno=True); "
    "rc = libc.ptrace(16, int(sys.argv[1]), 0, 0); "  # PTRACE_ATTACH
    "print('attached' if rc == 0 else f'refused errno {ctypes.get_errno()}')"
)


def test_a_command_cannot_trace_the_helper_or_write_its_memory(make_sandbox):
    sandbox = make_sandbox()
    helper = helper_of(sandbox)
    traced = sandbox.exec(f'python3 -c "{PTRACE}" {helper.pid}')
    assert traced.output.strip() == "refused errno 1"  # EPERM
    written = sandbox.exec(
        f"printf x | dd of=/proc/{helper.pid}/mem bs=1 seek=4194304 conv=notrunc 2>&1; true"
    )
    assert "Permission denied" in written.output
    assert sandbox.exec("echo still").output == "still\n"
    assert sandbox._helper is helper


def test_killing_the_helper_mid_command_leaves_later_commands_working(make_sandbox):
    sandbox = make_sandbox()
    helper = helper_of(sandbox)
    result = sandbox.exec(f"echo before; kill -KILL {helper.pid}; sleep 1; echo after")
    assert result.exit_code is None
    assert "command runner ended during the command" in result.error
    after = sandbox.exec("echo next; exit 4")
    assert (after.exit_code, after.output) == (4, "next\n")


def test_stopping_the_helper_ends_the_command_clearly_and_later_commands_run(make_sandbox):
    sandbox = make_sandbox()
    helper = helper_of(sandbox)
    result = sandbox.exec(f"kill -STOP {helper.pid}; echo stopped", timeout=3)
    assert result.exit_code is None and result.timed_out
    assert "time limit of 3 seconds" in result.error
    assert sandbox._helper is None  # given up: it did not answer the kill
    after = sandbox.exec("echo next; exit 4")
    assert (after.exit_code, after.output) == (4, "next\n")
    # The stopped helper was ended with the user's processes.
    assert sandbox.exec(f"kill -0 {helper.pid} 2>/dev/null && echo alive || echo gone").output == (
        "gone\n"
    )


def test_output_that_looks_like_frames_is_only_output(make_sandbox):
    sandbox = make_sandbox()
    helper = helper_of(sandbox)
    # An exit frame for run ids 1-9, a hello, and a frame of an unknown type, on stdout and
    # stderr: the helper wraps whatever the command prints in its own frames.
    fake = r"X\0\0\0\001\0\0\0\0010H\0\0\0\0\0\0\0\021codexweb-helper 1 1Z\377\377\377\377"
    result = sandbox.exec(f"printf '{fake}'; printf '{fake}' >&2; exit 7")
    assert result.exit_code == 7
    assert result.output.count("codexweb-helper 1 1") == 2
    assert sandbox._helper is helper
    assert sandbox.exec("exit 2").exit_code == 2


def test_the_forging_attack_works_on_a_helper_left_dumpable(make_sandbox, tmp_path: Path):
    """The tests above are not vacuous: the same helper without its first line
    (PR_SET_DUMPABLE 0) lets a command of its user write into the host's channel."""
    source = helper_build.SOURCE.read_text()
    naive = source.replace("prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0", "0")
    assert naive != source
    (tmp_path / "naive.c").write_text(naive)
    binary = helper_build.build(tmp_path / "bin", tmp_path / "naive.c")
    sandbox = make_sandbox(start=False)
    sandbox.config = type(sandbox.config)(
        **{**sandbox.config.__dict__, "helper_binary": str(binary)}
    )
    sandbox.start()
    helper = helper_of(sandbox)
    environ = sandbox.exec(f"head -c 4 /proc/{helper.pid}/environ >/dev/null && echo read")
    assert environ.output == "read\n"
    result = sandbox.exec(f"H={helper.pid}\n{FORGE}")
    # The forged exit frame for this command's id arrives before the real one: status 0.
    assert result.exit_code == 0
