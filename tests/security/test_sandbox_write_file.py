"""No way to root inside the container through the sandbox's own file helpers (issue 17,
item 8).

`write_file` used to check the path as the user and then have the engine write it as root
(`put_archive`): a background process swapping a folder for a symbolic link in between made
root write wherever the link pointed. And the container's own environment held the
repository's variables, so root's helpers (the egress bridge's `bash -c`) ran a `BASH_ENV`
from the workspace.
"""

from __future__ import annotations

import pytest

from tasks.sandbox.base import NetworkPolicy, SandboxError
from tests.security.sandbox_support import checkout
from tests.support.sandbox_fixtures import ALLOWED

pytestmark = pytest.mark.docker

ROUNDS = 60
# Swaps /workspace/d between a real folder and links to /etc, / and a folder the user owns,
# for at most 120 s; started in the background and killed by the test.
SWAPPER = (
    "mkdir -p /tmp/elsewhere; end=$((SECONDS + 120)); "
    "while [ $SECONDS -lt $end ]; do "
    "for target in /etc / /tmp/elsewhere; do "
    "rm -rf d; mkdir d; rm -rf d; ln -s $target d; done; done"
)


def test_write_file_never_writes_through_a_link_swapped_in_meanwhile(make_sandbox):
    sandbox = make_sandbox()
    sandbox.exec(f"nohup setsid bash -c '{SWAPPER}' >/dev/null 2>&1 &")
    written = refused = 0
    for n in range(ROUNDS):
        try:
            sandbox.write_file(f"d/codexweb-race-{n}", "pwned\n")
            written += 1
        except SandboxError:  # refused: the path was a link (or vanished) when it was opened
            refused += 1
    sandbox.exec("pkill -KILL -f 'codexweb-race|SECONDS' ; pkill -KILL -u sandbox bash; true")
    shell = sandbox._require_shell()
    _, out, _ = shell.run(
        [
            "bash",
            "-c",
            "find / -xdev -name 'codexweb-race-*' -printf '%u %p\\n' 2>/dev/null;"
            " ls -la /tmp/elsewhere",
        ],
        user="root",
    )
    found = out.decode().splitlines()
    race_files = [line for line in found if "codexweb-race-" in line]
    # Whatever was written landed in the real folder, as the user; nothing outside the
    # workspace, nothing through a link, nothing owned by root.
    assert all(line.startswith("sandbox /workspace/d/") for line in race_files), found
    assert written + refused == ROUNDS


def test_repository_variables_never_reach_roots_helpers(make_sandbox, tmp_path):
    checkout(
        tmp_path / "c",
        {"hook.sh": 'touch "/tmp/hook-ran-as-$(id -u)"\n'},
    )
    sandbox = make_sandbox(
        workspace=tmp_path / "c",
        variables={"BASH_ENV": "/workspace/hook.sh"},
        # With egress, root runs `bash -c` in the container to start the proxy bridge.
        agent_network=NetworkPolicy(mode="allowlist", domains=(ALLOWED,)),
    )
    sandbox.exec("true")
    result = sandbox.exec("ls /tmp | grep hook-ran-as || true")
    # The users' commands get the variable (their own business); root's never do.
    assert result.output == "hook-ran-as-1000\n", result.output


def test_an_existing_fifo_or_folder_is_not_written(make_sandbox):
    sandbox = make_sandbox()
    sandbox.exec("mkfifo pipe; mkdir folder")
    with pytest.raises(SandboxError, match="not a regular file"):
        sandbox.write_file("pipe", "x")
    with pytest.raises(SandboxError):
        sandbox.write_file("folder", "x")
    sandbox.write_file("big.txt", "y" * 3_000_000)  # larger than one exec argument could be
    assert sandbox.exec("wc -c < big.txt").output == "3000000\n"
