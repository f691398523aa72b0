"""Step 2 of an attempt: the host-side checkout the sandbox gets a copy of. Tokens are used on
the host only (the mirror fetch); the container gets a pristine tree."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from repos.git.mirror import git_env
from repos.git.workspace import PrepareError, checkout_ref, mirror_ready_for
from repos.models import Repository
from tasks import event_kinds as kinds
from tasks import events
from tasks.models import Attempt, AttemptKind, Mode
from tasks.pull_requests.selectors import pushed_parent_record
from tasks.worker.host_folder import HostFolder
from tasks.worker.shared_checkout import pristine_checkout, shared_archive


@dataclass(frozen=True)
class PreparedWorkspace:
    workspace: Path  # the tree the attempt works on
    base_commit: str  # what the attempt's patch is taken against
    # For a follow-up, the pristine checkout of the base that setup runs on (else None).
    setup_tree: Path | None = None
    # `workspace`'s tar, packed once for the siblings sharing it (else None: the sandbox packs).
    workspace_archive: Path | None = None


def publish_phase(attempt_id: int, phase: str, message: str) -> None:
    events.publish(attempt_id, kinds.PHASE, {"phase": phase, "message": message})


def prepare_workspace(
    attempt: Attempt, folder: Path, *, host_folder: HostFolder | None = None
) -> PreparedWorkspace:
    """Update the host mirror and check out the base under `folder`. The fetch uses the token of
    the person who started this attempt (`requested_by`: the author, or whoever followed up or
    retried), host-side only, after re-checking their access; never anyone else's.

    With `host_folder` (`folder`'s own), a task's first attempts take a checkout shared with
    their siblings starting on the same commit (tasks/worker/shared_checkout.py), read only
    until `host_folder` is released.

    A follow-up starts from its parent's final tree: the parent's patch is applied on top and
    committed, while the base stays the branch's commit, so the follow-up's patch holds the
    whole change (what a pull request from it needs), not only the latest step. The setup script
    never runs on that tree: the agent wrote it, and setup holds the secrets.
    """
    if attempt.kind == AttemptKind.RESOLVE:
        from tasks.worker.resolve import prepare_resolve_workspace

        prepared = prepare_resolve_workspace(attempt, folder)
    elif attempt.task.mode == Mode.REVIEW:
        from tasks.reviews.targets import prepare_review_workspace  # it imports this module

        prepared = prepare_review_workspace(attempt, folder)
    else:
        prepared = _prepare_work(attempt, folder, host_folder)
    Attempt.objects.filter(pk=attempt.pk).update(base_commit=prepared.base_commit)
    return prepared


def _prepare_work(
    attempt: Attempt, folder: Path, host_folder: HostFolder | None
) -> PreparedWorkspace:
    task = attempt.task
    dest = folder / "workspace"
    repository: Repository = task.repository
    ref = task.base_branch
    # The parent pushed its commit onto this branch: start where the parent started, so the
    # patch stays the whole change and its push goes on top of the parent's commit.
    if attempt.parent is not None and attempt.parent.base_commit and pushed_parent_record(
        attempt
    ):
        ref = attempt.parent.base_commit
    publish_phase(
        attempt.pk,
        "prepare",
        f"Fetching {repository.full_name} and checking out {task.base_branch}.",
    )
    mirror_ready_for(
        repository=repository, user=attempt.requested_by, ref=ref, need_push=task.mode == Mode.CODE
    )
    parent_patch = attempt.parent.patch if attempt.parent is not None else ""
    follows_parent = bool(parent_patch.strip())
    setup_tree = archive = None
    if host_folder is not None and not follows_parent:
        dest, commit = pristine_checkout(repository, ref=ref, folder=host_folder)
        archive = shared_archive(dest)
    else:
        commit = checkout_ref(repository, ref=ref, dest=dest)
    if follows_parent:
        setup_tree = folder / "setup-tree"
        shutil.copytree(dest, setup_tree, symlinks=True)
        apply_parent_patch(dest, parent_patch)
    publish_phase(attempt.pk, "prepare", f"Checked out {commit[:12]}.")
    return PreparedWorkspace(
        workspace=dest, base_commit=commit, setup_tree=setup_tree, workspace_archive=archive
    )


def apply_parent_patch(workspace: Path, patch: str) -> None:
    """Apply and commit an earlier attempt's patch; PrepareError when it no longer applies."""
    result = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "apply", "--whitespace=nowarn", "-"],
        cwd=workspace,
        input=patch,
        text=True,
        capture_output=True,
        timeout=120,
        env=git_env(),
        check=False,
    )
    if result.returncode != 0:
        raise PrepareError(
            "The earlier attempt's changes no longer apply to this branch: "
            + (result.stderr.strip() or "git apply failed")
        )
    for args in (
        ["add", "-A"],
        [
            "-c",
            "user.name=codexweb",
            "-c",
            "user.email=codexweb@localhost",
            "commit",
            "-q",
            "--no-verify",
            "-m",
            "Earlier attempt's changes",
        ],
    ):
        subprocess.run(
            ["git", "-c", "core.hooksPath=/dev/null", *args],
            cwd=workspace,
            capture_output=True,
            timeout=120,
            env=git_env(),
            check=True,
        )
