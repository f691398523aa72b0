"""Step 2 of a resolve attempt (issue 15, item 4): the workspace in which the agent rebases an
earlier attempt's change onto the branch's new head.

On the host, git only fetches, checks out, applies a patch as text and commits (no hooks, no
filters, no merge machinery): the workspace is checked out at the branch's current head (the
base the new patch is taken against), the earlier attempt's commit on its old base sits on
`codexweb/attempt-N`, and HEAD is that branch. The agent runs `git rebase` in the sandbox.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from repos.git.mirror import GitError, checkout_fetch, git_env, run_git
from repos.git.workspace import PrepareError, workspace_checkout
from tasks.models import Attempt
from tasks.pull_requests.resolve import resolve_branch, resolve_prompt, work_branch_name
from tasks.worker.workspace import PreparedWorkspace, apply_parent_patch, publish_phase

# `git apply --check` names a file that does not apply in lines like these.
_FAILED = re.compile(r"^error: (?:patch failed: (.+):\d+|(.+): (?:patch does not apply|"
                     r"does not exist in index|already exists in working directory|"
                     r"No such file or directory))$")


def conflicting_files(workspace: Path, patch: str) -> list[str]:
    """The files of `patch` that do not apply to `workspace`'s tree (sorted, no duplicates)."""
    result = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "apply", "--check", "--whitespace=nowarn", "-"],
        cwd=workspace, input=patch, text=True, capture_output=True, timeout=120, env=git_env(),
        check=False,
    )
    found = {
        (match.group(1) or match.group(2)).strip()
        for match in map(_FAILED.match, result.stderr.splitlines())
        if match
    }
    return sorted(found)


def prepare_resolve_workspace(attempt: Attempt, folder: Path) -> PreparedWorkspace:
    """Check out the branch's new head, put the parent's commit on its old base next to it and
    write what conflicted into the attempt's instruction. PrepareError when the parent's base
    is gone from the repository (a force-push) or its patch does not apply even there."""
    parent = attempt.parent
    if parent is None or not parent.base_commit:
        raise PrepareError("This resolve attempt has no earlier attempt with a recorded base.")
    repository = attempt.task.repository
    branch = resolve_branch(parent)  # a refused Update PR: the PR's branch
    dest = folder / "workspace"
    publish_phase(attempt.pk, "prepare",
                  f"Fetching {repository.full_name} and checking out the current {branch}.")
    new_base = workspace_checkout(repository=repository, user=attempt.requested_by,
                                  ref=branch, dest=dest, need_push=True)
    setup_tree = folder / "setup-tree"
    shutil.copytree(dest, setup_tree, symlinks=True)
    conflicts = conflicting_files(dest, parent.patch)
    try:
        old_base = checkout_fetch(repository, dest=dest, ref=parent.base_commit)
    except GitError as exc:
        raise PrepareError(
            f"The commit attempt {parent.index} started from ({parent.base_commit[:12]}) is on "
            f"no branch of {repository.full_name} any more, so its changes cannot be rebased; "
            "follow up on it instead.") from exc
    git = ["-C", str(dest)]
    run_git([*git, "checkout", "--quiet", "-B", work_branch_name(parent.index), old_base])
    apply_parent_patch(dest, parent.patch)
    # Who the sandbox's rebase commits as (the final patch is committed as the agent anyway).
    run_git([*git, "config", "user.name", "codexweb agent"])
    run_git([*git, "config", "user.email", "agent@codexweb.invalid"])
    prompt = resolve_prompt(branch=branch, index=parent.index, conflicts=conflicts)
    Attempt.objects.filter(pk=attempt.pk).update(follow_up_prompt=prompt)
    listed = ", ".join(conflicts[:5]) + (" …" if len(conflicts) > 5 else "")
    publish_phase(attempt.pk, "prepare",
                  f"Checked out {new_base[:12]} with attempt {parent.index}'s commit on "
                  f"{old_base[:12]}" + (f"; conflicting: {listed}." if conflicts else "."))
    return PreparedWorkspace(workspace=dest, base_commit=new_base, setup_tree=setup_tree)
