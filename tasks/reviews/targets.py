"""Step 2 of a Review attempt: check out the version under review and compute its diff on the
host (from the mirror; nothing of the tree runs here). The token of the person who started the
attempt is used for the mirror fetch and GitHub's answer about the pull request, host-side only.

- a branch: its head against the task's base branch (`base...head`);
- a pull request: `refs/pull/N/head` (or its branch) against its base branch;
- an attempt: the attempt's own patch, applied on its task's branch (and, when the attempt's
  pull request is open, that pull request is where the review can be posted).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from repos.access import repository_access
from repos.git.compare import mirror_diff, mirror_fetch_pull
from repos.git.mirror import GitError, checkout_create, mirror_update
from repos.git.workspace import PrepareError, workspace_checkout
from repos.github.client import GitHubNotFound
from repos.github.credentials import client_for, credential_for
from repos.models import Repository
from tasks.models import Attempt
from tasks.pull_requests.models import PullRequestRecord
from tasks.reviews.models import ReviewRecord, ReviewTarget
from tasks.worker.workspace import PreparedWorkspace, apply_parent_patch, publish_phase

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReviewedVersion:
    """What a Review attempt looks at: the diff from `base_sha` to `head_commit`, the reviewed
    commit ("" for an attempt's patch that no open pull request carries)."""

    head_commit: str
    base_sha: str
    diff: str
    pull_number: int | None = None


def prepare_review_workspace(attempt: Attempt, folder: Path) -> PreparedWorkspace:
    """The workspace of a Review attempt: the reviewed version under `folder`, and the base's
    pristine tree for the setup script (which holds the secrets, so it never runs on a tree
    under review: a pull request may come from anyone's fork). Stores what is reviewed."""
    dest = folder / "workspace"
    task = attempt.task
    publish_phase(attempt.pk, "prepare", f"Fetching {task.repository.full_name} and the "
                  f"change to review.")
    version = prepare_review(attempt, dest)
    setup_tree = folder / "setup-tree"
    checkout_create(task.repository, ref=version.base_sha, dest=setup_tree)
    publish_phase(attempt.pk, "prepare", f"Reviewing {len(version.diff.splitlines())} diff "
                  f"lines against {version.base_sha[:12]}.")
    return PreparedWorkspace(workspace=dest, base_commit=version.base_sha, setup_tree=setup_tree)


def prepare_review(attempt: Attempt, dest: Path) -> ReviewedVersion:
    """Check the reviewed version out at `dest` and store what is reviewed (ReviewRecord).

    Raises PrepareError with a sentence for the person (unknown branch, pull request or
    attempt, no access); GitError/GitHubError as a checkout would."""
    task = attempt.task
    target = ReviewTarget.objects.select_related("source_attempt__task").filter(task=task).first()
    if target is None:
        raise PrepareError("This Review task does not say what to review.")
    if target.kind == ReviewTarget.Kind.PULL:
        version = _pull_version(attempt, target, dest)
    elif target.kind == ReviewTarget.Kind.ATTEMPT:
        version = _attempt_version(attempt, target, dest)
    else:
        version = _branch_version(attempt, target, dest)
    ReviewRecord.objects.update_or_create(attempt=attempt, defaults={
        "base_sha": version.base_sha, "head_sha": version.head_commit, "diff": version.diff,
        "pull_number": version.pull_number})
    return version


def _branch_version(attempt: Attempt, target: ReviewTarget, dest: Path) -> ReviewedVersion:
    task = attempt.task
    head = workspace_checkout(repository=task.repository, user=attempt.requested_by,
                              ref=target.branch, dest=dest)
    base_sha, _head, diff = _diff(task.repository, base=task.base_branch, head=head,
                                  what=f"branch {target.branch}")
    return ReviewedVersion(head, base_sha, diff)


def _pull_version(attempt: Attempt, target: ReviewTarget, dest: Path) -> ReviewedVersion:
    repository: Repository = attempt.task.repository
    number = target.pull_number or 0
    if not repository.is_on_github:
        raise PrepareError("Pull requests can be reviewed only in repositories from GitHub.")
    access = repository_access(attempt.requested_by, repository)
    if not access.can_read:
        raise PrepareError(access.reason)
    credential = credential_for(attempt.requested_by, repository.provider)
    if credential is None:
        raise PrepareError("Sign in with GitHub to review its pull requests.")
    try:
        pull = client_for(credential).pull(repository.owner, repository.name, number)
    except GitHubNotFound as exc:
        raise PrepareError(f"Pull request #{number} was not found in {repository.full_name}, "
                           "or you cannot see it.") from exc
    token = credential.reveal()
    mirror_update(repository, token=token)
    try:
        ref = mirror_fetch_pull(repository, number, token=token)
    except GitError as exc:  # a host that does not serve pull refs: the branch, if it is here
        logger.info("pull ref of #%s not fetched (%s); using its branch", number, exc)
        ref = pull.head_ref
    try:
        head = checkout_create(repository, ref=ref, dest=dest)
    except GitError as exc:
        raise PrepareError(
            f"The head of pull request #{number} ({pull.head_ref or ref}) could not be "
            f"fetched from {repository.full_name}.") from exc
    base_sha, _head, diff = _diff(repository, base=pull.base_ref or repository.default_branch,
                                  head=head, what=f"pull request #{number}")
    return ReviewedVersion(head, base_sha, diff, pull_number=number)


def _attempt_version(attempt: Attempt, target: ReviewTarget, dest: Path) -> ReviewedVersion:
    source = target.source_attempt
    if source is None or not source.patch.strip():
        raise PrepareError("The attempt to review is gone or has no changes.")
    base = workspace_checkout(repository=attempt.task.repository, user=attempt.requested_by,
                              ref=source.task.base_branch, dest=dest)
    apply_parent_patch(dest, source.patch)
    # The attempt's open pull request holds this same change: the review can be posted there.
    pull = PullRequestRecord.objects.filter(
        attempt=source, state=PullRequestRecord.State.OPEN, number__isnull=False).first()
    if pull is not None and pull.head_sha:
        return ReviewedVersion(pull.head_sha, base, source.patch, pull_number=pull.number)
    return ReviewedVersion(head_commit="", base_sha=base, diff=source.patch)


def _diff(repository: Repository, *, base: str, head: str, what: str) -> tuple[str, str, str]:
    try:
        return mirror_diff(repository, base=base, head=head)
    except GitError as exc:
        raise PrepareError(f"The diff of {what} against {base} could not be taken: {exc}.") \
            from exc
