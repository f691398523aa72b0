"""Writes for Review tasks: start one (on a branch, a pull request or an attempt's own diff),
and post a finished review to its pull request on GitHub.

`review_task_create` is what the composer, "Review this diff", the API and the CLI call.
`review_post_start` (the page's "Post as PR review" and the API) claims the attempt's review
for posting and enqueues the job; `review_post` does the GitHub call with the token of the
person who pressed the button, on the host only. Failures are stored with a sentence; a failed
post can be tried again, a posted one is not posted twice.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from repos.access import RepositoryAccessDenied, require_repository_access
from repos.forms import clean_branch
from repos.github.client import GitHubError, web_base_url
from repos.github.credentials import client_for, credential_for
from repos.models import Repository
from tasks.models import Attempt, Mode, ModelTier, Status, Task
from tasks.reviews.models import ReviewRecord, ReviewTarget
from tasks.reviews.posting import review_draft
from tasks.reviews.selectors import attempt_findings, review_branch_to_post
from tasks.reviews.target_input import TargetInputError, parse_review_target
from tasks.services import AccessCheck, TaskError, _task_create_rows


class ReviewPostError(Exception):
    """The review cannot be posted; the message says why, in words for the person."""


def review_task_create(
    *,
    author: User,
    repository: Repository,
    prompt: str = "",
    branch: str = "",
    pull_number: int | None = None,
    source_attempt: Attempt | None = None,
    base_branch: str = "",
    model_tier: str = ModelTier.STRONG,
    attempts: int = 1,
    access_check: AccessCheck | None = None,
) -> Task:
    """A Review task on exactly one of: `branch` (against `base_branch`, by default the
    repository's default branch), `pull_number` (a pull request of this GitHub repository) or
    `source_attempt` (a finished attempt's own patch, in `repository`).

    Raises TaskError with a sentence for the person when the target is missing, ambiguous or
    unusable, or `access_check` names a problem (it runs first, outside the transaction)."""
    given = [x for x in (branch.strip(), pull_number, source_attempt) if x]
    if len(given) != 1:
        raise TaskError("Say what to review: one branch, one pull request or one attempt.")
    if model_tier not in ModelTier.values:
        raise TaskError(f"Unknown model tier {model_tier!r}.")
    if not 1 <= attempts <= 4:
        raise TaskError("Choose between 1 and 4 attempts.")
    base = base_branch.strip() or repository.default_branch
    target = ReviewTarget(kind=ReviewTarget.Kind.BRANCH)
    if source_attempt is not None:
        if source_attempt.task.repository_id != repository.pk:
            raise TaskError("That attempt belongs to another repository.")
        if source_attempt.status != Status.SUCCEEDED or not source_attempt.patch.strip():
            raise TaskError("Only a succeeded attempt with changes can be reviewed.")
        target = ReviewTarget(kind=ReviewTarget.Kind.ATTEMPT, source_attempt=source_attempt)
        base = source_attempt.task.base_branch
    elif pull_number is not None:
        if pull_number < 1:
            raise TaskError("A pull request number is a positive whole number.")
        if not repository.is_on_github:
            raise TaskError("Pull requests can be reviewed only in repositories from GitHub.")
        target = ReviewTarget(kind=ReviewTarget.Kind.PULL, pull_number=pull_number)
    else:
        try:
            name = clean_branch(branch)
        except Exception as exc:  # a ValidationError: its message is for the person
            raise TaskError(" ".join(getattr(exc, "messages", [str(exc)]))) from exc
        if name == base:
            raise TaskError(f"Review {name} against another branch than itself.")
        target = ReviewTarget(kind=ReviewTarget.Kind.BRANCH, branch=name)
    if access_check is not None:
        problem = access_check(author, repository, Mode.REVIEW)
        if problem:
            raise TaskError(problem)
    return _task_create_rows(
        author=author, repository=repository, mode=Mode.REVIEW,
        prompt=prompt.strip() or f"Review {target}.", base_branch=base,
        model_tier=model_tier, attempts=attempts, target=target,
    )


def review_task_from_text(*, author: User, repository: Repository, text: str,
                          **options: Any) -> Task:
    """A Review task on what `text` names (tasks/reviews/target_input.py): a pull request
    number or URL, or a branch. Raises TaskError as `review_task_create` does."""
    try:
        target = parse_review_target(text, repository=repository)
    except TargetInputError as exc:
        raise TaskError(str(exc)) from exc
    return review_task_create(author=author, repository=repository, branch=target.branch,
                              pull_number=target.pull_number, **options)


def review_post_start(*, attempt: Attempt, user: User,
                      event: str = ReviewRecord.Event.COMMENT) -> tuple[ReviewRecord, bool]:
    """Post as PR review, for the page and the API: claim the attempt's review and, when this
    call claimed it, enqueue the job once the transaction commits. Returns (record, started);
    a second call finds the record as it is (being posted, posted).

    Raises what `review_post_reserve` raises."""
    record, reserved = review_post_reserve(attempt=attempt, user=user, event=event)
    if reserved:
        transaction.on_commit(partial(_enqueue_post, record.pk))
    return record, reserved


def review_post_reserve(*, attempt: Attempt, user: User,
                        event: str = ReviewRecord.Event.COMMENT) -> tuple[ReviewRecord, bool]:
    """Claim the attempt's review for posting by `user` as `event` (Comment, Approve, Request
    changes): (record, True) when the caller must now call `review_post`, (record, False) when
    it is being posted or was posted. A review of a branch goes to that branch's open pull
    request on GitHub, found now (against the base the review compared with).

    Raises ReviewPostError (not a finished review of a pull request or of a branch that has
    one, an unknown event, `user` may not read the repository or has no GitHub sign-in),
    GitHubError (GitHub could not say) and GitHubAuthError (sign in again)."""
    task = attempt.task
    if task.mode != Mode.REVIEW:
        raise ReviewPostError("Only Review tasks can be posted as a pull request review.")
    if attempt.status != Status.SUCCEEDED:
        raise ReviewPostError("Only a review that finished can be posted.")
    if event not in ReviewRecord.Event.values:
        raise ReviewPostError("Post the review as Comment, Approve or Request changes.")
    record = ReviewRecord.objects.filter(attempt=attempt).first()
    branch = review_branch_to_post(attempt) if record is not None else ""
    if record is None or (record.pull_number is None and not branch):
        raise ReviewPostError("Only a review of a pull request can be posted to GitHub.")
    try:
        require_repository_access(user, task.repository, write=False)
    except RepositoryAccessDenied as exc:
        raise ReviewPostError(str(exc)) from exc
    credential = credential_for(user, task.repository.provider)
    if credential is None:
        raise ReviewPostError("Sign in with GitHub to post a review.")
    pull_number = record.pull_number
    if pull_number is None and record.post_state != ReviewRecord.PostState.POSTED:
        pull_number = _open_pull_of(credential, task, branch)
    with transaction.atomic():
        record = ReviewRecord.objects.select_for_update().get(pk=record.pk)
        if record.post_state in (ReviewRecord.PostState.POSTING, ReviewRecord.PostState.POSTED):
            return record, False
        record.post_state, record.posted_by, record.post_error = (
            ReviewRecord.PostState.POSTING, user, "")
        record.post_event, record.pull_number = event, pull_number
        record.save(update_fields=["post_state", "posted_by", "post_error", "post_event",
                                   "pull_number", "updated_at"])
    return record, True


def _open_pull_of(credential: Any, task: Task, branch: str) -> int:
    """The newest open pull request from `branch` of this repository (not a fork's branch of
    the same name) into the task's base branch."""
    repository = task.repository
    pulls = [p for p in client_for(credential).pulls(
                 repository.owner, repository.name, head=branch, base=task.base_branch,
                 max_pages=1)
             if p.head_repo.lower() == repository.full_name.lower() and p.head_ref == branch]
    if not pulls:
        raise ReviewPostError(
            f"Branch {branch} has no open pull request into {task.base_branch} on GitHub: "
            "open one, then post the review again.")
    return pulls[0].number


def _enqueue_post(record_id: int) -> None:
    from tasks.reviews.jobs import post_review  # the job module imports this one

    post_review.delay(record_id)


def review_post(*, record_id: int) -> ReviewRecord:
    """Post a claimed review to GitHub; never raises for expected failures (they are stored)."""
    record = ReviewRecord.objects.select_related(
        "attempt__task__repository", "posted_by").get(pk=record_id)
    if record.post_state != ReviewRecord.PostState.POSTING:
        return record
    try:
        _post(record)
    except (ReviewPostError, GitHubError) as exc:
        record.post_state, record.post_error = ReviewRecord.PostState.FAILED, str(exc)
        record.save(update_fields=["post_state", "post_error", "updated_at"])
    return record


def _post(record: ReviewRecord) -> None:
    attempt = record.attempt
    repository = attempt.task.repository
    credential = credential_for(record.posted_by, repository.provider) \
        if record.posted_by is not None else None
    if credential is None or record.pull_number is None:
        raise ReviewPostError("Sign in with GitHub to post a review.")
    summary, findings, malformed = attempt_findings(attempt)
    blob_base = (f"{web_base_url(repository.provider)}/{repository.owner}/{repository.name}"
                 f"/blob/{record.head_sha}")
    draft = review_draft(summary=summary, findings=findings, malformed=malformed,
                         diff=record.diff, blob_base=blob_base,
                         task_url=f"{settings.PUBLIC_URL}/tasks/{attempt.task_id}/")
    review = client_for(credential).review_create(
        repository.owner, repository.name, record.pull_number, body=draft.body,
        event=record.post_event, comments=draft.comments, commit_id=record.head_sha)
    record.post_state, record.review_id, record.html_url = (
        ReviewRecord.PostState.POSTED, review.id, review.html_url)
    record.save(update_fields=["post_state", "review_id", "html_url", "updated_at"])


def review_post_now(*, attempt: Attempt, user: User,
                    event: str = ReviewRecord.Event.COMMENT) -> ReviewRecord:
    """Claim and post in one go (for a CLI, a worker or tests). Idempotent per attempt."""
    record, reserved = review_post_reserve(attempt=attempt, user=user, event=event)
    return review_post(record_id=record.pk) if reserved else record
