"""Create PR: turn an attempt's patch into a branch and a pull request on GitHub.

`pull_request_start` (the page's button and the API) reserves and enqueues the job;
`pull_request_reserve` is quick and safe to call from a view: it checks the request and claims
the attempt's single PullRequestRecord, so a second click finds the first one instead of opening
another PR. `pull_request_open` does the slow part (fit for a Celery job): fresh checkout of the
base from the mirror, `git apply --index`, commit as the person (GitHub noreply address) with a
co-author trailer, push `codex/<slug>-<short-id>`, open the PR. Failures are stored on the record
with a sentence the person can act on; a failed record can be retried.

A follow-up of an attempt whose PR is open gets a record that updates that PR instead (same
branch and number): the job then runs `tasks/pull_requests/update.py`, and the page's button
reads "Update PR #N".
"""

from __future__ import annotations

import logging
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from repos.access import RepositoryAccessDenied, require_repository_access
from repos.git import mirror
from repos.github.client import GitHubError, GitHubInvalid, PullInfo
from repos.github.credentials import client_for, credential_for
from repos.models import Repository
from tasks.models import Attempt, AttemptKind, Mode, Status, Task
from tasks.pull_requests.body import branch_name
from tasks.pull_requests.compose import pull_body_of, pull_text
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
from tasks.pull_requests.rate_limits import after_a_short_wait
from tasks.pull_requests.selectors import open_parent_pull_request, push_only

logger = logging.getLogger(__name__)

NOT_APPLICABLE = (
    "The patch no longer applies to {base} (now at {sha}): the branch changed since the "
    "attempt ran. Resolve with the agent (it rebases the change onto the current {base}), or "
    "start a new attempt. Git said: {detail}"
)
EMPTY_PATCH = "The patch makes no changes to {base}; there is nothing to open a pull request for."


def pull_request_attempt(task: Task, index: int | None = None) -> Attempt:
    """The attempt of `task` to open a pull request from: attempt `index`, or by default the
    best that succeeded with changes: the latest attempt made after a best-of-N ranking (a
    follow-up, a combined patch), else the best-ranked (tasks/verification/), else the latest (a
    follow-up's index is above its parent's, so after a follow-up that succeeded, the follow-up,
    whose patch carries its parent's changes). Raises PullRequestError when there is none."""
    if task.mode != Mode.CODE:
        raise PullRequestError("Ask tasks change nothing, so there is no PR to open.",
                               code="not_code_task")
    attempts = list(task.attempts.order_by("index"))
    if index is not None:
        chosen = next((a for a in attempts if a.index == index), None)
        if chosen is None:
            raise PullRequestError(f"Task {task.pk} has no attempt {index}.", code="no_attempt")
    else:
        chosen = _default_attempt(
            [a for a in attempts if a.status == Status.SUCCEEDED and a.patch.strip()]
        )
        if chosen is None:
            raise PullRequestError("No attempt of this task succeeded with changes yet.",
                                   code="no_patch")
    if chosen.status != Status.SUCCEEDED or not chosen.patch.strip():
        raise PullRequestError(
            f"Attempt {chosen.index} has no finished changes to open a PR with.", code="no_patch")
    return chosen


def _default_attempt(usable: list[Attempt]) -> Attempt | None:
    """Of the attempts that succeeded with changes (by index): one made after the ranking wins,
    then the best-ranked, then the latest."""
    from tasks.verification.selectors import ranks_of

    ranks = ranks_of(usable)
    if not ranks:
        return usable[-1] if usable else None
    last_ranked = max(a.index for a in usable if a.pk in ranks)
    later = [a for a in usable if a.index > last_ranked and a.pk not in ranks]
    if later:
        return later[-1]
    return min((a for a in usable if a.pk in ranks), key=lambda a: ranks[a.pk])


def pull_request_start(*, attempt: Attempt, user: User, draft: bool | None = None,
                       push_to_branch: bool = False) -> tuple[PullRequestRecord, bool]:
    """Create PR (or, with `push_to_branch`, Push to branch), for the page and the API alike:
    claim the attempt's record and, when this call claimed it, enqueue the job that opens it
    once the transaction commits. Returns (record, started); a second call finds the record as
    it is (being created, open, ...).

    Raises what `pull_request_reserve` raises."""
    record, reserved = pull_request_reserve(attempt=attempt, user=user, draft=draft,
                                            push_to_branch=push_to_branch)
    if reserved:
        transaction.on_commit(partial(_enqueue_open, record.pk))
    return record, reserved


def _enqueue_open(record_id: int) -> None:
    from tasks.pull_requests.jobs import open_pull_request  # the job module imports this one

    open_pull_request.delay(record_id)


def pull_request_reserve(*, attempt: Attempt, user: User, draft: bool | None = None,
                         push_to_branch: bool = False) -> tuple[PullRequestRecord, bool]:
    """Claim the attempt's PR record. Returns (record, True) when the caller must now call
    `pull_request_open`, (record, False) when one exists or is being made (a second click).
    `draft` None: a draft exactly when the body carries warnings (the person's override wins).
    A follow-up of an attempt whose PR is open updates that PR instead (its branch, number and
    draft state; `draft` is ignored). `push_to_branch`: the commit goes onto the branch the
    task started from instead (tasks/pull_requests/branch_push.py), fast-forward only; for an
    attempt whose changes fit only there (`push_only`: a resolve attempt of a refused Update PR,
    a follow-up of a pushed attempt) it is the only way, onto that branch.

    Raises PullRequestError (not a finished Code attempt with a patch, `user` not in the team or
    without push access of their own) and GitHubAuthError (sign in again).
    """
    task = attempt.task
    repository = task.repository
    if task.mode != Mode.CODE:
        raise PullRequestError("Only Code tasks can become pull requests.", code="not_code_task")
    if attempt.status != Status.SUCCEEDED or not attempt.patch.strip():
        raise PullRequestError("This attempt has no finished patch to turn into a pull request.",
                               code="no_patch")
    from tasks.verification.selectors import combined_patch_blocker

    blocker = combined_patch_blocker(attempt)  # a combined patch is verified first
    if blocker:
        raise PullRequestError(blocker, code="not_verified")
    if not repository.is_on_github:
        raise PullRequestError("Pull requests need a repository connected from GitHub.")
    try:
        # The person pressing the button, with their own credential (not the task's author).
        require_repository_access(user, repository, write=True)
    except RepositoryAccessDenied as exc:
        raise PullRequestError(str(exc)) from exc
    parent = open_parent_pull_request(attempt)
    only = push_only(attempt) if parent is None else None
    if only is not None and not push_to_branch:
        raise PullRequestError(f"{only.reason} Use Push to branch {only.branch}.")
    with transaction.atomic():
        Attempt.objects.select_for_update().filter(pk=attempt.pk).first()
        record = PullRequestRecord.objects.filter(attempt=attempt).first()
        if record is not None and record.state != PullRequestRecord.State.FAILED:
            return record, False
        fields: dict[str, Any]
        if push_to_branch:  # onto the task's own branch (branch_push.py)
            fields = {"updates": None, "draft": False,
                      "branch": only.branch if only is not None else task.base_branch,
                      "number": None, "html_url": "", "pushed_to_branch": True}
        elif parent is not None:  # a follow-up: push to the parent's open PR (update.py)
            fields = {"updates": parent, "branch": parent.branch, "draft": parent.draft,
                      "number": parent.number, "html_url": parent.html_url,
                      "pushed_to_branch": False}
        else:
            text = pull_text(attempt)
            fields = {"updates": None, "branch": branch_name(text.title, attempt.pk),
                      "draft": text.needs_draft if draft is None else draft,
                      "number": None, "html_url": "", "pushed_to_branch": False}
        if record is None:
            record = PullRequestRecord.objects.create(attempt=attempt, requested_by=user,
                                                      **fields)
        else:
            if (record.updates_id != getattr(fields["updates"], "pk", None)
                    or record.pushed_to_branch != push_to_branch):
                record.head_sha = ""  # what it pushed belonged to the other kind of request
            for name, value in fields.items():
                setattr(record, name, value)
            record.state = PullRequestRecord.State.CREATING
            record.requested_by, record.error, record.resolvable = user, "", False
            record.save()
    return record, True


def pull_request_update_when_done(*, attempt_id: int) -> PullRequestRecord | None:
    """A follow-up that asked for it succeeded: press Update PR for its person (the job does the
    rest); a resolve attempt presses what found the conflict (`_finish_resolved`). When the
    parent's PR is no longer open or the person may not push, the attempt's log says so in an
    error event, and Create PR stays on the page. Returns the record, if any."""
    from tasks import event_kinds as kinds
    from tasks import events

    attempt = Attempt.objects.select_related("task__repository", "requested_by").get(
        pk=attempt_id)
    if attempt.kind == AttemptKind.RESOLVE:
        return _finish_resolved(attempt)
    parent = open_parent_pull_request(attempt)
    if parent is None:
        events.publish(attempt.pk, kinds.ERROR, {"message": (
            "The pull request of the attempt this follows up is not open any more, so it was "
            "not updated; use Create PR to open one.")})
        return None
    try:
        record, _started = pull_request_start(attempt=attempt, user=attempt.requested_by)
    except (PullRequestError, GitHubError) as exc:
        events.publish(attempt.pk, kinds.ERROR, {
            "message": f"Could not update pull request #{parent.number}: {exc}"})
        return None
    return record


def _finish_resolved(attempt: Attempt) -> PullRequestRecord | None:
    """A resolve attempt succeeded: press again, for its person, what found the conflict
    (Create PR, or Push to branch; for Update PR, a push onto the PR's branch). A refusal is
    said in the attempt's log."""
    from tasks import event_kinds as kinds
    from tasks import events

    conflicted = (PullRequestRecord.objects.filter(attempt_id=attempt.parent_id).first()
                  if attempt.parent_id is not None else None)
    # A refused Update PR is pushed onto the PR's branch (`pull_request_reserve` says where).
    push = bool(conflicted and (conflicted.pushed_to_branch or conflicted.updates_id))
    try:
        record, _started = pull_request_start(attempt=attempt, user=attempt.requested_by,
                                              push_to_branch=push)
    except (PullRequestError, GitHubError) as exc:
        what = "push the resolved changes" if push else "open the pull request"
        events.publish(attempt.pk, kinds.ERROR, {"message": f"Could not {what}: {exc}"})
        return None
    return record


def pull_request_create(*, attempt: Attempt, user: User, draft: bool | None = None,
                        push_to_branch: bool = False) -> PullRequestRecord:
    """Reserve and open (or push) in one go (for a worker, a CLI or tests). Idempotent per
    attempt."""
    record, reserved = pull_request_reserve(attempt=attempt, user=user, draft=draft,
                                            push_to_branch=push_to_branch)
    if reserved:
        record = pull_request_open(record_id=record.pk)
    return record


def pull_request_open(*, record_id: int) -> PullRequestRecord:
    """Do the git and GitHub work for a reserved record, once: a record no longer CREATING was
    done (or failed) in an earlier run of the job. Never raises for expected failures: they are
    stored on the record, a merge conflict marked resolvable by the agent."""
    record = PullRequestRecord.objects.select_related(
        "attempt__task__repository", "requested_by").get(pk=record_id)
    if record.state == PullRequestRecord.State.CREATING:
        try:
            _carry_out(record)
        except (PullRequestError, GitHubError, mirror.GitError) as exc:
            record.state = PullRequestRecord.State.FAILED
            record.error = str(exc)
            record.resolvable = getattr(exc, "code", "") == CONFLICT
            record.save(update_fields=["state", "error", "resolvable", "updated_at"])
        else:
            _audit_opened(record)
    return record


def _carry_out(record: PullRequestRecord) -> None:
    """What the person pressed: Push to branch, Update PR (a push onto the open PR's branch) or
    Create PR."""
    if record.pushed_to_branch:
        from tasks.pull_requests.branch_push import branch_push

        branch_push(record)
    elif record.updates_id is not None:
        from tasks.pull_requests.update import pull_request_push_update

        pull_request_push_update(record)
    else:
        _open(record)


def _audit_opened(record: PullRequestRecord) -> None:
    """Every PR created or updated goes into the team's audit log (whichever path did it)."""
    from codexweb.audit import actions
    from codexweb.audit.services import audit_record

    attempt = record.attempt
    updated = record.updates_id is not None or record.pushed_to_branch
    action = actions.PR_UPDATED if updated else actions.PR_CREATED
    audit_record(
        team=attempt.task.repository.team, actor=record.requested_by, action=action,
        target=record.html_url or f"task #{attempt.task_id}",
        changes={"task": attempt.task_id, "attempt": attempt.index, "branch": record.branch,
                 "number": record.number},
    )


def _open(record: PullRequestRecord) -> None:
    attempt = record.attempt
    task = attempt.task
    repository = task.repository
    pusher = pusher_for(record.requested_by, repository)
    fetch_mirror(pusher, repository)
    text = pull_text(attempt)  # after the fetch: the history decides the title's style
    title = text.title
    if not _pushed_by_an_earlier_try(record, repository):
        _commit_and_push(record, pusher, title)
    body = pull_body_of(attempt, text, head_sha=record.head_sha, draft=record.draft)
    pull = _pull_create_or_adopt(pusher, repository, title=title, body=body,
                                 head=record.branch, base=task.base_branch, draft=record.draft)
    record.number, record.html_url = pull.number, pull.html_url
    record.state = PullRequestRecord.State.OPEN
    record.save(update_fields=["number", "html_url", "state", "updated_at"])


def _pushed_by_an_earlier_try(record: PullRequestRecord, repository: Repository) -> bool:
    """Whether an earlier try of this request pushed its commit, and GitHub's branch (as just
    fetched) still holds it: a later step failed (GitHub's rate limit, a worker that died), and
    the retry only has to open the pull request."""
    if not record.head_sha:
        return False
    try:
        head = mirror.run_git(["-C", str(mirror.mirror_path(repository)), "rev-parse",
                               "--verify", "--quiet", f"refs/heads/{record.branch}"]).strip()
    except mirror.GitError:
        return False
    return head == record.head_sha


def _commit_and_push(record: PullRequestRecord, pusher: Pusher, title: str) -> None:
    """The attempt's patch committed on the base branch as the pusher and pushed to the
    record's branch; the commit is kept on the record at once, so a retry does not push again."""
    attempt = record.attempt
    task = attempt.task
    repository = task.repository
    with tempfile.TemporaryDirectory(prefix="codexweb-pr-") as tmp:
        work = Path(tmp) / "work"
        try:
            base_sha = mirror.checkout_create(repository, ref=task.base_branch, dest=work)
        except mirror.GitError as exc:
            raise PullRequestError(
                f"The base branch {task.base_branch} is not on GitHub any more.") from exc
        try:
            mirror.run_git(["-C", str(work), "apply", "--index", "--whitespace=nowarn", "-"],
                           input_text=attempt.patch)
        except mirror.GitError as exc:
            raise PullRequestError(NOT_APPLICABLE.format(
                base=task.base_branch, sha=base_sha[:7], detail=git_detail(exc)),
                code=CONFLICT) from exc
        if not mirror.run_git(["-C", str(work), "diff", "--cached", "--name-only"]).strip():
            raise PullRequestError(EMPTY_PATCH.format(base=task.base_branch))
        head_sha = commit_as(pusher, work, title=title, prompt=task.prompt)
        # Its own codex/ branch, so a retry may replace what an earlier try pushed.
        push_head(pusher, work, record.branch, force=True)
    record.head_sha = head_sha
    record.save(update_fields=["head_sha", "updated_at"])


def _pull_create_or_adopt(pusher: Pusher, repository: Repository, *, title: str, body: str,
                          head: str, base: str, draft: bool) -> PullInfo:
    """Open the pull request, or adopt the open one GitHub says already exists for `head`.

    The branch is this record's own (`codex/<slug>-<attempt>`), so an open pull request from it
    was opened by an earlier run of this job that died before saving its number (a killed
    worker): GitHub answers 422 "A pull request already exists", and a retry takes that one over
    with this run's text instead of failing."""
    owner, name = repository.owner, repository.name
    client = pusher.client
    try:  # GitHub's secondary limits target creating content: a short one is waited out
        return after_a_short_wait(lambda: client.pull_create(
            owner, name, title=title, body=body, head=head, base=base, draft=draft))
    except GitHubInvalid as exc:
        if "already exists" not in str(exc):
            raise
        try:
            existing = after_a_short_wait(lambda: client.pulls(
                owner, name, head=head, state="open", max_pages=1))
        except GitHubError:
            existing = []  # a server that cannot list them: GitHub's own refusal says why
        if not existing:
            raise exc from None
        number = existing[0].number
        return after_a_short_wait(lambda: client.pull_update(owner, name, number, title=title,
                                                             body=body))


def pull_request_refresh(record: PullRequestRecord) -> PullRequestRecord:
    """Ask GitHub for the PR's current state (open, closed, merged) and store it."""
    if record.number is None or record.requested_by is None:
        return record
    repository = record.attempt.task.repository
    credential = credential_for(record.requested_by, repository.provider)
    if credential is None:
        return record
    pull = client_for(credential).pull(repository.owner, repository.name, record.number)
    record.state = pull.state if pull.state in PullRequestRecord.State.values else record.state
    record.draft = pull.draft
    record.save(update_fields=["state", "draft", "updated_at"])
    return record
