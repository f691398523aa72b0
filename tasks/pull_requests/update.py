"""Update PR: a follow-up of an attempt whose pull request is open pushes to that PR instead of
opening another (issue 15, item 2).

The follow-up's patch holds the whole change against the base (tasks/worker/workspace.py), so
the new commit goes on top of the branch's current head: the parent's changes taken back out,
the follow-up's put in. The branch must still be where codexweb last pushed it: a commit someone
else pushed is never overwritten (the push is a fast-forward, never forced) and the request is
refused with a sentence saying so, and marked resolvable: "Resolve with the agent" rebases the
follow-up onto their commits (tasks/pull_requests/resolve.py) and pushes it on top. Then the
body is rewritten from the follow-up's answer and a comment says what this update changed.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from repos.git import mirror
from repos.github.client import GitHubError, web_base_url
from tasks.pull_requests import pushing
from tasks.pull_requests.compose import PullText, pull_body_of, pull_text
from tasks.pull_requests.errors import CONFLICT, PullRequestError
from tasks.pull_requests.models import PullRequestRecord
from tasks.pull_requests.pushing import Pusher
from tasks.pull_requests.rate_limits import after_a_short_wait
from tasks.pull_requests.update_text import update_comment

logger = logging.getLogger(__name__)

NOT_OPEN = ("Pull request #{number} is {state} now, so this follow-up cannot update it. "
            "Press Create PR again to open a new pull request instead.")
BRANCH_GONE = ("The branch {branch} of pull request #{number} is not on GitHub any more, so "
               "this follow-up cannot update it.")
BRANCH_MOVED = (
    "The branch {branch} of pull request #{number} has commits codexweb did not push (it is at "
    "{head}; codexweb last pushed {ours}). Nothing was pushed: codexweb adds commits on top of "
    "its own and never overwrites someone else's. Resolve with the agent (it rebases this "
    "follow-up onto their commits), or download this attempt's patch to apply it by hand."
)
MOVED_BY_SIBLING = (
    "Pull request #{number} was updated since attempt {parent}: attempt {other} pushed to it. "
    "Nothing was pushed; follow up on attempt {other} to update it again."
)
NOT_APPLICABLE = (
    "This follow-up's changes do not apply to the branch {branch} of pull request #{number}. "
    "Git said: {detail}"
)
NOTHING_NEW = ("This follow-up changes nothing that pull request #{number} does not have "
               "already, so there is nothing to push.")


def pull_request_push_update(record: PullRequestRecord) -> None:
    """Push `record`'s follow-up to the PR of the record it updates, rewrite the body, comment.

    Raises PullRequestError (the PR closed, the branch gone or moved, the patch does not apply,
    no push access), GitHubError and mirror.GitError; the caller stores them on the record.
    A retry after a push that went through (a later GitHub call failed) pushes nothing again."""
    if record.updates_id is None:
        raise PullRequestError("This pull-request record updates no pull request.")
    previous = PullRequestRecord.objects.select_related("attempt").get(pk=record.updates_id)
    attempt = record.attempt
    repository = attempt.task.repository
    number = previous.number
    if number is None:
        raise PullRequestError("The pull request this follow-up would update was never opened.")
    pusher = pushing.pusher_for(record.requested_by, repository)
    pull = pusher.client.pull(repository.owner, repository.name, number)
    if pull.state != PullRequestRecord.State.OPEN:
        previous.state = pull.state
        previous.save(update_fields=["state", "updated_at"])
        raise PullRequestError(NOT_OPEN.format(number=number, state=pull.state))
    pushing.fetch_mirror(pusher, repository)
    text = pull_text(attempt)
    with tempfile.TemporaryDirectory(prefix="codexweb-pr-update-") as tmp:
        work = Path(tmp) / "work"
        try:
            head = mirror.checkout_create(repository, ref=record.branch, dest=work)
        except mirror.GitError as exc:
            raise PullRequestError(BRANCH_GONE.format(branch=record.branch,
                                                      number=number)) from exc
        if not (record.head_sha and head == record.head_sha):  # else: pushed by an earlier try
            _refuse_unless_ours(record, previous, head)
            _stage_follow_up(work, record, previous)
            record.head_sha = pushing.commit_as(pusher, work, title=text.title,
                                        prompt=attempt.follow_up_prompt or attempt.task.prompt)
            pushing.push_head(pusher, work, record.branch, force=False)
            record.save(update_fields=["head_sha", "updated_at"])
        diff = mirror.run_git(["-C", str(work), "diff", "--no-color", "--no-ext-diff",
                               previous.head_sha, record.head_sha])
    _describe(pusher, record, previous, text=text, diff=diff, draft=pull.draft)


def _refuse_unless_ours(record: PullRequestRecord, previous: PullRequestRecord,
                        head: str) -> None:
    """Refuse when the branch is not at the commit the parent's record pushed."""
    if head == previous.head_sha:
        return
    other = (PullRequestRecord.objects.select_related("attempt")
             .filter(number=previous.number, head_sha=head,
                     attempt__task__repository_id=record.attempt.task.repository_id)
             .exclude(pk=record.pk).first())
    if other is not None:
        raise PullRequestError(MOVED_BY_SIBLING.format(
            number=previous.number, parent=previous.attempt.index, other=other.attempt.index))
    raise PullRequestError(BRANCH_MOVED.format(branch=record.branch, number=previous.number,
                                               head=head[:7], ours=previous.head_sha[:7]),
                           code=CONFLICT)


def _stage_follow_up(work: Path, record: PullRequestRecord,
                     previous: PullRequestRecord) -> None:
    """Stage, on the parent's commit, the tree the follow-up produced: the parent's patch taken
    back out and the follow-up's (whole-change) patch applied."""
    number, branch = previous.number, record.branch
    for args, patch in ((["-R"], previous.attempt.patch), ([], record.attempt.patch)):
        try:
            mirror.run_git(["-C", str(work), "apply", *args, "--index", "--whitespace=nowarn",
                            "-"], input_text=patch)
        except mirror.GitError as exc:
            raise PullRequestError(NOT_APPLICABLE.format(
                branch=branch, number=number, detail=pushing.git_detail(exc))) from exc
    if not mirror.run_git(["-C", str(work), "diff", "--cached", "--name-only"]).strip():
        raise PullRequestError(NOTHING_NEW.format(number=number))


def _describe(pusher: Pusher, record: PullRequestRecord, previous: PullRequestRecord, *,
              text: PullText, diff: str, draft: bool) -> None:
    """Rewrite the PR's body from the follow-up and comment on what changed; mark it open."""
    attempt = record.attempt
    repository = attempt.task.repository
    number = previous.number
    assert number is not None  # checked by the caller
    web = f"{web_base_url(repository.provider)}/{repository.owner}/{repository.name}"
    body = pull_body_of(attempt, text, head_sha=record.head_sha, draft=draft)
    # The commit is pushed, so the PR has it: a server that refuses to rewrite the body or to
    # take the comment (an outage, a GitHub without those operations) leaves the text as it
    # was rather than failing an update that happened.
    _describe_step("rewrite the body of", number, lambda: pusher.client.pull_update(
        repository.owner, repository.name, number, body=body))
    comment = update_comment(
        attempt_index=attempt.index, parent_index=previous.attempt.index,
        instruction=attempt.follow_up_prompt, title=text.title, commit_sha=record.head_sha,
        commit_url=f"{web}/commit/{record.head_sha}", diff=diff,
        task_url=f"{settings.PUBLIC_URL}/tasks/{attempt.task_id}/")
    _describe_step("comment on", number, lambda: pusher.client.issue_comment_create(
        repository.owner, repository.name, number, comment))
    record.number, record.html_url, record.draft = number, previous.html_url, draft
    record.state = PullRequestRecord.State.OPEN
    record.save(update_fields=["number", "html_url", "draft", "state", "updated_at"])


def _describe_step(what: str, number: int, step: Callable[[], object]) -> None:
    """`step()`, after waiting out a short rate limit (a comment is content-creating, what
    GitHub's secondary limits target); a failure is logged, the update stands."""
    try:
        after_a_short_wait(step)
    except GitHubError as exc:
        logger.warning("pull request #%s updated, but could not %s it: %s", number, what, exc)
