"""Taking a Code task's result out of its sandbox: the patch against the base commit.

Only text crosses back. The diff runs inside the container with external diff drivers and
text conversion off, so the repository's config cannot change what the host receives.
"""

from __future__ import annotations

import shlex

from tasks.agent.instructions import WORKSPACE
from tasks.sandbox.base import Sandbox, SandboxError

MAX_PATCH_BYTES = 20_000_000


def collect_patch(sandbox: Sandbox, base_commit: str) -> str:
    """`git diff <base_commit>` of everything committed since, as text ("" when unchanged).

    Raises SandboxError when the diff cannot be taken whole (bad base, too large)."""
    if not base_commit.strip():
        raise SandboxError("no base commit to take the patch against")
    command = (
        "git -c core.quotePath=false -c diff.noprefix=false diff --no-ext-diff --no-textconv "
        f"--no-color --binary --full-index {shlex.quote(base_commit.strip())} HEAD --"
    )
    result = sandbox.exec(command, cwd=WORKSPACE, timeout=300, max_output_bytes=MAX_PATCH_BYTES)
    if result.exit_code != 0:
        raise SandboxError(
            f"git diff failed (exit {result.exit_code}): {(result.error or result.output)[:500]}"
        )
    if result.truncated:
        raise SandboxError(f"the patch is larger than {MAX_PATCH_BYTES} bytes")
    return result.output


def head_commit(sandbox: Sandbox) -> str:
    """The commit the workspace is at (the base, before the agent runs)."""
    result = sandbox.exec("git rev-parse HEAD", cwd=WORKSPACE, timeout=60)
    if result.exit_code != 0:
        raise SandboxError(f"the workspace is not a git checkout: {result.output.strip()[:300]}")
    return result.output.strip()
