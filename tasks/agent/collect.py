"""Taking a Code task's result out of its sandbox: the patch against the base commit.

Only text crosses back. The diff runs inside the container with external diff drivers and
text conversion off, so the repository's config cannot change what the host receives.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from tasks.agent.instructions import WORKSPACE
from tasks.sandbox.base import Sandbox, SandboxError

MAX_PATCH_BYTES = 20_000_000


PATCH_FOLLOWS = "codexweb-patch-follows"


def _diff_command(base_commit: str) -> str:
    return (
        "git -c core.quotePath=false -c diff.noprefix=false diff --no-ext-diff --no-textconv "
        f"--no-color --binary --full-index {shlex.quote(base_commit.strip())} HEAD --"
    )


def collect_patch(sandbox: Sandbox, base_commit: str) -> str:
    """`git diff <base_commit>` of everything committed since, as text ("" when unchanged).

    Raises SandboxError when the diff cannot be taken whole (bad base, too large)."""
    if not base_commit.strip():
        raise SandboxError("no base commit to take the patch against")
    command = _diff_command(base_commit)
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


@dataclass(frozen=True)
class Committed:
    """What `commit_changes` did: `committed` (there were changes, now a commit), the patch
    taken in the same exec (None when it was not: no base given, or the diff failed or was too
    large — then `collect_patch` takes it again and says why), or `error` when the commit
    failed."""

    committed: bool = False
    patch: str | None = None
    error: str = ""


def commit_changes(
    sandbox: Sandbox, *, name: str, email: str, title: str, base_commit: str = ""
) -> Committed:
    """Commit everything in the workspace without running the repository's hooks, and with a
    base commit take the patch against it in the same exec (one round trip instead of two)."""
    diff = ""
    if base_commit.strip():
        diff = f" && echo {PATCH_FOLLOWS} && {_diff_command(base_commit)}"
    command = (
        "git add -A && if git diff --cached --quiet; then echo NOTHING; else "
        f"git -c user.name={shlex.quote(name)} -c user.email={shlex.quote(email)} "
        "-c core.hooksPath=/dev/null -c commit.gpgsign=false "
        f"commit -q --no-verify -m {shlex.quote(title)} && echo COMMITTED{diff}; fi"
    )
    try:
        result = sandbox.exec(
            command, cwd=WORKSPACE, timeout=420, max_output_bytes=MAX_PATCH_BYTES + 100_000
        )
    except SandboxError as exc:
        return Committed(error=f"Could not take the changes out of the sandbox: {exc}.")
    head, follows, patch = _split_patch(result.output)
    committed = "COMMITTED" in head
    if result.exit_code != 0 and not committed:
        return Committed(error="Could not take the changes out of the sandbox: "
                         + (result.error or result.output).strip()[:500])
    whole = (follows and result.exit_code == 0 and not result.truncated
             and len(patch.encode()) <= MAX_PATCH_BYTES)
    return Committed(committed=committed, patch=patch if whole else None)


def _split_patch(output: str) -> tuple[str, bool, str]:
    """(what came before the patch, whether the patch followed, the patch)."""
    found = re.search(rf"(?:^|\n){PATCH_FOLLOWS}\n", output)
    if found is None:
        return output, False, ""
    return output[: found.start()], True, output[found.end():]
