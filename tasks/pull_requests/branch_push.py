"""Push to branch (issue 15, item 2): a task started from a branch or a pull request pushes its
attempt's result back onto that branch, when the person asks and GitHub says they may push.

The new commit goes on top of the commit the attempt started from (`Attempt.base_commit`), or of
the parent's pushed commit for a follow-up of a pushed attempt, and the push is a fast-forward:
when the branch moved meanwhile nothing is pushed, the refusal says so, and the record is marked
resolvable, so the page offers "Resolve with the agent". When the branch has an open pull request
the record becomes that PR's record, so a follow-up updates it (tasks/pull_requests/update.py).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from repos.git import mirror
from repos.github.client import GitHubError, PullInfo, web_base_url
from repos.models import Repository
from tasks.models import Attempt
from tasks.pull_requests.compose import pull_text
from tasks.pull_requests.errors import CONFLICT, PullRequestError
from tasks.pull_requests.models import PullRequestRecord
from tasks.pull_requests.pushing import (
    Pusher,
    commit_as,
    fetch_mirror,
    git_detail,
    push_head,
    pusher_for,
)
from tasks.pull_requests.selectors import pushed_parent_record

logger = logging.getLogger(__name__)

NOT_A_BRANCH = ("This task started from {ref}, which is not a branch of {repository}, so there "
                "is no branch to push to; use Create PR.")
NO_BASE = ("Attempt {index} does not record the commit it started from (it ran before codexweb "
           "kept it), so it cannot be pushed safely; use Create PR.")
BRANCH_MOVED = (
    "The branch {branch} moved since attempt {index} started (it is at {head}, the attempt "
    "started from {ours}). Nothing was pushed: codexweb only adds commits on top and never "
    "overwrites someone else's. Resolve with the agent to rebase the change onto the current "
    "{branch}."
)
NOT_APPLICABLE = ("Attempt {index}'s changes do not apply to the branch {branch}. "
                  "Git said: {detail}")
NOTHING_NEW = "Attempt {index} changes nothing on {branch}; there is nothing to push."


def branch_push(record: PullRequestRecord) -> None:
    """Commit `record`'s attempt onto the task's branch as the person and push (fast-forward).

    Raises PullRequestError (not a branch, the branch moved or the patch does not apply, both
    with code "conflict"; no push access), GitHubError and mirror.GitError; the caller stores
    them on the record. A retry after a push that went through pushes nothing again."""
    attempt = record.attempt
    repository = attempt.task.repository
    branch = record.branch
    pusher = pusher_for(record.requested_by, repository)
    fetch_mirror(pusher, repository)
    _require_branch(repository, branch)
    previous = pushed_parent_record(attempt)
    expected = previous.head_sha if previous is not None else attempt.base_commit
    if not expected:
        raise PullRequestError(NO_BASE.format(index=attempt.index))
    text = pull_text(attempt)
    with tempfile.TemporaryDirectory(prefix="codexweb-push-") as tmp:
        work = Path(tmp) / "work"
        head = mirror.checkout_create(repository, ref=branch, dest=work)
        if not (record.head_sha and head == record.head_sha):  # else: pushed by an earlier try
            if head != expected:
                raise PullRequestError(BRANCH_MOVED.format(
                    branch=branch, index=attempt.index, head=head[:7], ours=expected[:7]),
                    code=CONFLICT)
            _stage(work, attempt, previous, branch)
            record.head_sha = commit_as(pusher, work, title=text.title,
                                        prompt=attempt.follow_up_prompt or attempt.task.prompt)
            push_head(pusher, work, branch, force=False)
            record.save(update_fields=["head_sha", "updated_at"])
    _link_pull_request(pusher, record)


def _require_branch(repository: Repository, branch: str) -> None:
    path = mirror.mirror_path(repository)
    try:
        mirror.run_git(["-C", str(path), "show-ref", "--verify", "--quiet",
                        f"refs/heads/{branch}"])
    except mirror.GitError as exc:
        raise PullRequestError(NOT_A_BRANCH.format(ref=branch, repository=repository)) from exc


def _stage(work: Path, attempt: Attempt, previous: PullRequestRecord | None,
           branch: str) -> None:
    """Stage the attempt's tree on the branch's head: its patch (a follow-up's whole change,
    with the parent's pushed change taken back out first)."""
    steps: list[tuple[list[str], str]] = [([], attempt.patch)]
    if previous is not None:
        steps.insert(0, (["-R"], previous.attempt.patch))
    for args, patch in steps:
        try:
            mirror.run_git(["-C", str(work), "apply", *args, "--index", "--whitespace=nowarn",
                            "-"], input_text=patch)
        except mirror.GitError as exc:
            raise PullRequestError(NOT_APPLICABLE.format(
                index=attempt.index, branch=branch, detail=git_detail(exc)),
                code=CONFLICT) from exc
    if not mirror.run_git(["-C", str(work), "diff", "--cached", "--name-only"]).strip():
        raise PullRequestError(NOTHING_NEW.format(index=attempt.index, branch=branch))


def _link_pull_request(pusher: Pusher, record: PullRequestRecord) -> None:
    """Record the branch's open pull request (the one the task started from first), so a
    follow-up updates it; without one the record says the branch was pushed."""
    task = record.attempt.task
    repository = task.repository
    pull = _branch_pull(pusher, record)
    if pull is not None:
        record.number, record.html_url, record.draft = pull.number, pull.html_url, pull.draft
        record.state = PullRequestRecord.State.OPEN
    else:
        web = f"{web_base_url(repository.provider)}/{repository.owner}/{repository.name}"
        record.number, record.html_url = None, f"{web}/tree/{record.branch}"
        record.state = PullRequestRecord.State.PUSHED
    record.save(update_fields=["number", "html_url", "draft", "state", "updated_at"])


def _branch_pull(pusher: Pusher, record: PullRequestRecord) -> PullInfo | None:
    """The branch's open pull request: the one the task started from while it is open from
    this branch (GET pulls/{number}), else the newest GitHub lists for the branch. None when
    there is none, or when GitHub cannot say (a server without the list operation, an outage):
    the push is done, so the record then says the branch was pushed instead of failing."""
    task = record.attempt.task
    owner, name = task.repository.owner, task.repository.name
    try:
        if task.pull_number:
            started = pusher.client.pull(owner, name, task.pull_number)
            if started.state == "open" and started.head_ref == record.branch:
                return started
        return next(iter(pusher.client.pulls(owner, name, head=record.branch)), None)
    except GitHubError as exc:
        logger.warning("pushed %s to %s/%s, but its pull request was not found: %s",
                       record.branch, owner, name, exc)
        return None
