"""Writes for tasks and attempts. Views, jobs and tests all go through these."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from repos.models import Repository
from tasks import event_kinds as kinds
from tasks import events
from tasks.images.decode import ImageRejected
from tasks.images.services import CheckedImage, images_copy, images_require_capable, images_store
from tasks.models import (
    FINISHED_STATUSES,
    Attempt,
    AttemptKind,
    Mode,
    ModelTier,
    Status,
    Task,
)
from tasks.notifications.attention import attempt_needs_attention
from tasks.notifications.payloads import ATTEMPT_FINISHED


class TaskError(ValueError):
    """A request about a task that cannot be carried out; the message is for the person."""


def _enqueue_attempt(attempt_id: int) -> None:
    from tasks.jobs import run_attempt  # the job module imports this one

    run_attempt.delay(attempt_id)


# (author, repository, mode) -> why the author may not start this task, or None if they may.
AccessCheck = Callable[[User, Repository, str], "str | None"]


def task_create(
    *,
    author: User,
    repository: Repository,
    mode: str,
    prompt: str,
    base_branch: str,
    model_tier: str = ModelTier.STRONG,
    attempts: int = 1,
    access_check: AccessCheck | None = None,
    images: Sequence[CheckedImage] = (),
    pull_request: str = "",
) -> Task:
    """Create a task and its attempts, and enqueue one job per attempt after commit.

    `images` (checked by tasks.images.services.images_check) are kept with the prompt and sent
    to the model with it; a tier whose model takes no images is refused with TaskError.

    `access_check`, when given, runs first and outside the transaction (it may ask GitHub); a
    problem it names is raised as TaskError. Whatever it raises itself (e.g. GitHubAuthError)
    propagates and nothing is created. `pull_request` (a number or URL of an open pull request
    of the repository) starts from its head branch (tasks/start_from.py), asked of GitHub as
    `author`, also outside the transaction.
    """
    if mode not in Mode.values:
        raise TaskError(f"Unknown mode {mode!r}.")
    if mode == Mode.REVIEW:  # it needs what to review: tasks.reviews.services
        raise TaskError("A Review task needs a branch, a pull request or an attempt to review.")
    if model_tier not in ModelTier.values:
        raise TaskError(f"Unknown model tier {model_tier!r}.")
    if not 1 <= attempts <= 4:
        raise TaskError("Choose between 1 and 4 attempts.")
    if not prompt.strip():
        raise TaskError("Describe the task.")
    _images_require_capable(model_tier, images)
    if access_check is not None:
        problem = access_check(author, repository, mode)
        if problem:
            raise TaskError(problem)
    from tasks.start_from import StartPointError, start_point_resolve

    try:
        start = start_point_resolve(author=author, repository=repository, branch=base_branch,
                                    pull_request=pull_request)
    except StartPointError as exc:
        raise TaskError(str(exc)) from exc
    return _task_create_rows(
        author=author,
        repository=repository,
        mode=mode,
        prompt=prompt,
        base_branch=start.branch,
        model_tier=model_tier,
        attempts=attempts,
        images=images,
        pull_number=start.pull_number,
    )


def _images_require_capable(model_tier: str, images: Sequence[CheckedImage]) -> None:
    try:
        images_require_capable(model_tier, len(images))
    except ImageRejected as exc:
        raise TaskError(str(exc)) from exc


@transaction.atomic
def _task_create_rows(
    *,
    author: User,
    repository: Repository,
    mode: str,
    prompt: str,
    base_branch: str,
    model_tier: str,
    attempts: int,
    images: Sequence[CheckedImage] = (),
    pull_number: int | None = None,
    target: Any = None,
) -> Task:
    """The rows of a new task; `target` (a Review task's unsaved ReviewTarget) is saved with it."""
    task = Task.objects.create(
        team=repository.team,
        repository=repository,
        author=author,
        mode=mode,
        prompt=prompt.strip(),
        base_branch=base_branch.strip() or repository.default_branch,
        model_tier=model_tier,
        attempt_count=attempts,
        pull_number=pull_number,
    )
    images_store(task_id=task.pk, team_id=task.team_id, attempt_id=None, by=author, images=images)
    if target is not None:
        target.task = task
        target.save()
    for index in range(1, attempts + 1):
        attempt = Attempt.objects.create(task=task, index=index, requested_by=author)
        events.publish(attempt.pk, kinds.STATUS, {"status": Status.QUEUED, "message": "Queued."})
        transaction.on_commit(partial(_enqueue_attempt, attempt.pk))
    events.announce_task_change(
        team_id=task.team_id, task_id=task.pk, status=task.status, author_id=task.author_id
    )
    return task


def attempt_claim(*, attempt_id: int, worker: str = "") -> bool:
    """Move a queued attempt to running, recording which `worker` process took it. False
    means another worker has it or it ended."""
    now = timezone.now()
    claimed = Attempt.objects.filter(pk=attempt_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now, worker=worker
    )
    if claimed:
        attempt = Attempt.objects.select_related("task__repository").get(pk=attempt_id)
        # The environment as of now; later changes don't reach this attempt (repos/environments).
        from repos.environments.services import environment_snapshot

        snapshot = environment_snapshot(attempt.task.repository)
        Attempt.objects.filter(pk=attempt_id).update(environment_snapshot=snapshot)
        _task_status_refresh(attempt.task_id)
    return bool(claimed)


@transaction.atomic
def attempt_finish(
    *,
    attempt_id: int,
    status: str,
    error: str = "",
    summary: str = "",
    patch: str = "",
) -> Attempt:
    """Record an attempt's end. An attempt that already ended (e.g. cancelled) stays as it is."""
    if status not in FINISHED_STATUSES:
        raise TaskError(f"{status!r} is not a finished status.")
    attempt = Attempt.objects.select_for_update().get(pk=attempt_id)
    if attempt.is_finished:
        return attempt
    attempt.status = status
    attempt.error = error
    attempt.summary = summary
    attempt.patch = patch
    attempt.finished_at = timezone.now()
    attempt.save(update_fields=["status", "error", "summary", "patch", "finished_at"])
    payload = {"status": status, "message": error or f"Attempt {status}."}
    events.publish(attempt.pk, kinds.STATUS, payload)
    _task_status_refresh(attempt.task_id)
    attempt_needs_attention(attempt.pk, ATTEMPT_FINISHED)
    # Best-of-N: the last attempt to end starts the re-verification of every patch.
    transaction.on_commit(partial(_verify_when_done, attempt.task_id), robust=True)
    if status == Status.SUCCEEDED and attempt.update_pull_request and patch.strip():
        # robust: the attempt has ended either way; a failure here is logged, never raised.
        transaction.on_commit(partial(_update_pull_request_when_done, attempt.pk), robust=True)
    return attempt


def _verify_when_done(task_id: int) -> None:
    from tasks.verification.services import verifications_start

    verifications_start(task_id=task_id)


def _update_pull_request_when_done(attempt_id: int) -> None:
    from tasks.pull_requests.services import pull_request_update_when_done

    pull_request_update_when_done(attempt_id=attempt_id)


@transaction.atomic
def attempt_cancel(*, attempt_id: int, by: User) -> Attempt:
    """Cancel an attempt that has not finished; the worker notices and stops its container."""
    attempt = Attempt.objects.select_for_update().get(pk=attempt_id)
    if attempt.is_finished:
        raise TaskError("This attempt has already finished.")
    attempt.status = Status.CANCELLED
    attempt.finished_at = timezone.now()
    attempt.error = f"Cancelled by {by.get_username()}."
    attempt.save(update_fields=["status", "finished_at", "error"])
    events.publish(attempt.pk, kinds.STATUS, {"status": Status.CANCELLED, "message": attempt.error})
    _task_status_refresh(attempt.task_id)
    attempt_needs_attention(attempt.pk, ATTEMPT_FINISHED)
    # Best-of-N: the last attempt to end starts the re-verification of every patch.
    transaction.on_commit(partial(_verify_when_done, attempt.task_id), robust=True)
    from codexweb.audit import actions as audit_actions
    from codexweb.audit.services import audit_record

    task = Task.objects.select_related("team").get(pk=attempt.task_id)
    audit_record(
        team=task.team,
        actor=by,
        action=audit_actions.TASK_CANCELLED,
        target=f"task #{task.pk} attempt {attempt.index}",
        changes={"task": task.pk, "attempt": attempt.index},
    )
    return attempt


def task_cancel(*, task: Task, by: User) -> list[Attempt]:
    """Cancel every attempt of `task` that has not finished; returns those it cancelled.

    Raises TaskError when none was left to cancel. An attempt that finishes meanwhile is skipped.
    """
    running = [a for a in task.attempts.order_by("index") if not a.is_finished]
    if not running:
        raise TaskError(f"Task {task.pk} has already finished.")
    cancelled = []
    with transaction.atomic():
        for attempt in running:
            try:
                cancelled.append(attempt_cancel(attempt_id=attempt.pk, by=by))
            except TaskError:
                continue  # it finished meanwhile
    return cancelled


MAX_ATTEMPTS_WITH_FOLLOW_UPS = 50


def attempt_follow_up(
    *,
    attempt: Attempt,
    prompt: str,
    by: User,
    update_pull_request: bool = False,
    images: Sequence[CheckedImage] = (),
) -> Attempt:
    """Continue a finished attempt: a new Attempt (parent=attempt, next index) with the follow-up
    prompt, run with `by`'s credential and enqueued after commit like any other.
    `update_pull_request`: when it succeeds, push it to the parent's open PR by itself (as the
    Update PR button would; tasks.pull_requests.services.pull_request_update_when_done).

    `by` must be allowed to act on the repository now, with their own credential (Code tasks:
    push; repos.access.require_repository_access, checked first and outside the transaction as
    it may ask GitHub). Raises TaskError when they may not, the attempt still runs, the prompt is
    empty, the task's model takes no `images`, or the task has too many attempts;
    GitHubAuthError when their token is refused.
    """
    prompt = prompt.strip()
    if not prompt:
        raise TaskError("Write what the agent should do next.")
    _images_require_capable(attempt.task.model_tier, images)
    task_access_require(user=by, task=attempt.task)
    return _attempt_follow_up_row(
        attempt=attempt, prompt=prompt, by=by, update_pull_request=update_pull_request,
        images=images,
    )


def task_access_require(*, user: User, task: Task) -> None:
    """Raise TaskError unless `user` may act on `task`'s repository now with their own credential
    (Code: push, Ask: read). Every action that starts work on an existing task calls this
    (follow-up, retry), so nothing runs on someone else's access."""
    from repos.access import RepositoryAccessDenied, require_repository_access

    try:
        require_repository_access(user, task.repository, write=task.mode == Mode.CODE)
    except RepositoryAccessDenied as exc:
        raise TaskError(str(exc)) from exc


@transaction.atomic
def _attempt_follow_up_row(
    *, attempt: Attempt, prompt: str, by: User, update_pull_request: bool,
    images: Sequence[CheckedImage],
) -> Attempt:
    parent = Attempt.objects.select_for_update().get(pk=attempt.pk)
    if not parent.is_finished:
        raise TaskError("Wait for this attempt to finish before following up.")
    new = attempt_append(
        task_id=parent.task_id,
        parent_id=parent.pk,
        prompt=prompt,
        by=by,
        message=f"Queued: follow-up to attempt {parent.index} by {by.get_username()}.",
        update_pull_request=update_pull_request,
    )
    images_store(task_id=new.task_id, team_id=attempt.task.team_id, attempt_id=new.pk, by=by,
                 images=images)
    return new


def attempt_append(
    *,
    task_id: int,
    parent_id: int | None,
    prompt: str,
    by: User,
    message: str,
    update_pull_request: bool = False,
    kind: str = AttemptKind.WORK,
) -> Attempt:
    """A new queued attempt at the end of a task (follow-up, retry or resolve), run with `by`'s
    credential and enqueued after commit. Call inside a transaction."""
    task = Task.objects.select_for_update().get(pk=task_id)
    last_index = task.attempts.order_by("-index").values_list("index", flat=True).first() or 0
    if last_index >= MAX_ATTEMPTS_WITH_FOLLOW_UPS:
        raise TaskError(f"A task can have at most {MAX_ATTEMPTS_WITH_FOLLOW_UPS} attempts.")
    new = Attempt.objects.create(
        task=task,
        index=last_index + 1,
        parent_id=parent_id,
        follow_up_prompt=prompt,
        requested_by=by,
        update_pull_request=update_pull_request,
        kind=kind,
    )
    events.publish(new.pk, kinds.STATUS, {"status": Status.QUEUED, "message": message})
    transaction.on_commit(partial(_enqueue_attempt, new.pk))
    _task_status_refresh(task.pk)
    return new


def attempt_record_usage(
    *,
    attempt_id: int,
    input_tokens: int,
    output_tokens: int,
    cost: float,
    conversation: list[dict[str, Any]],
) -> None:
    """Store an attempt's token totals, cost and final conversation (for follow-ups)."""
    Attempt.objects.filter(pk=attempt_id).update(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost=Decimal(str(round(cost, 6))),
        conversation=conversation,
    )


def attempt_store_cited_files(*, attempt_id: int, files: dict[str, str]) -> None:
    """Keep the final content of the files an attempt's summary cites."""
    Attempt.objects.filter(pk=attempt_id).update(cited_files=files)


LOST_WORKER_MESSAGE = (
    "The worker running this attempt stopped (it crashed or was restarted) before the attempt "
    "finished. Use Retry to run it again as a new attempt."
)


def attempts_reap_stale(*, older_than_seconds: int) -> list[int]:
    """Fail attempts still 'running' long after their hard time limit: their worker is gone.

    Returns the ids of the attempts it ended.
    """
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    stale = list(
        Attempt.objects.filter(status=Status.RUNNING, started_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    return _end_lost_attempts(stale)


def attempts_end_lost(
    *, heartbeat_timeout_seconds: int, attempt_ids: list[int] | None = None
) -> list[int]:
    """Fail running attempts whose worker stopped writing their heartbeat more than
    `heartbeat_timeout_seconds` ago (only among `attempt_ids` when given); returns their ids.

    The attempt is never run again by itself: the person may Retry (a new attempt)."""
    cutoff = timezone.now() - timedelta(seconds=heartbeat_timeout_seconds)
    silent = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    found = Attempt.objects.filter(silent, status=Status.RUNNING)
    if attempt_ids is not None:
        found = found.filter(pk__in=attempt_ids)
    return _end_lost_attempts(list(found.values_list("pk", flat=True)))


def attempts_end_orphaned(*, worker_alive: Callable[[str], bool]) -> list[int]:
    """Fail running attempts whose claiming worker process is gone (`worker_alive` says so for
    its "host:pid:starttime"); returns their ids. Sooner than the heartbeat: on the host where
    the worker died, the restarted one sees it at once."""
    running = Attempt.objects.filter(status=Status.RUNNING).exclude(worker="")
    lost = [pk for pk, worker in running.values_list("pk", "worker") if not worker_alive(worker)]
    return _end_lost_attempts(lost)


def _end_lost_attempts(attempt_ids: list[int]) -> list[int]:
    """Fail each attempt that is still running as lost; the ids of those this call ended.

    Several sweeps run at once after a worker dies (the restarted worker's own, beat's
    heartbeat check, housekeeping) and find the same attempts: one ends each, and only it
    reports them and removes their sandboxes (each used to say it "ended" all of them)."""
    return [attempt_id for attempt_id in attempt_ids if _end_lost_attempt(attempt_id)]


@transaction.atomic
def _end_lost_attempt(attempt_id: int) -> bool:
    running = Attempt.objects.select_for_update().filter(pk=attempt_id, status=Status.RUNNING)
    if not list(running.values_list("pk", flat=True)):  # FOR UPDATE: a concurrent end waits
        return False  # ended meanwhile: by its worker, a cancel, or another sweep
    attempt_finish(attempt_id=attempt_id, status=Status.FAILED, error=LOST_WORKER_MESSAGE)
    return True


RETRYABLE_STATUSES = frozenset({Status.FAILED, Status.CANCELLED})


def attempt_retry(*, attempt: Attempt, by: User) -> Attempt:
    """Run a failed or cancelled attempt again as a new attempt of the same task (a follow-up
    is retried with the same parent and instruction), with `by`'s credential. Retrying is always
    a person's choice: a job whose worker died is never re-run by itself.

    `by` must be allowed to act on the repository now (`task_access_require`, as for a
    follow-up). Raises TaskError when they may not or the attempt cannot be retried."""
    current = Attempt.objects.select_related("task__repository").get(pk=attempt.pk)
    if current.status not in RETRYABLE_STATUSES:
        raise TaskError("Only a failed or cancelled attempt can be retried.")
    task_access_require(user=by, task=current.task)
    return _attempt_retry_row(attempt.pk, by)


@transaction.atomic
def _attempt_retry_row(attempt_id: int, by: User) -> Attempt:
    old = Attempt.objects.select_for_update().get(pk=attempt_id)
    if old.status not in RETRYABLE_STATUSES:
        raise TaskError("Only a failed or cancelled attempt can be retried.")
    new = attempt_append(
        task_id=old.task_id,
        parent_id=old.parent_id,
        prompt=old.follow_up_prompt,
        by=by,
        message=f"Queued: retry of attempt {old.index} by {by.get_username()}.",
        update_pull_request=old.update_pull_request,
        kind=old.kind,
    )
    if old.parent_id is not None:  # a follow-up's images go with its instruction
        images_copy(from_attempt_id=old.pk, to_attempt_id=new.pk)
    return new


def _task_status_refresh(task_id: int) -> None:
    """Running while any attempt is under way; succeeded if any attempt did; else as they ended."""
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task_id)
        statuses = set(task.attempts.values_list("status", flat=True))
        if statuses & {Status.RUNNING}:
            new = Status.RUNNING
        elif statuses & {Status.QUEUED}:
            new = Status.RUNNING if statuses - {Status.QUEUED} else Status.QUEUED
        elif Status.SUCCEEDED in statuses:
            new = Status.SUCCEEDED
        elif statuses == {Status.CANCELLED}:
            new = Status.CANCELLED
        elif Status.STOPPED in statuses and Status.FAILED not in statuses:
            new = Status.STOPPED
        else:
            new = Status.FAILED
        if new == task.status:
            return
        task.status = new
        task.finished_at = timezone.now() if new in FINISHED_STATUSES else None
        task.save(update_fields=["status", "finished_at", "updated_at"])
        events.announce_task_change(
            team_id=task.team_id, task_id=task.pk, status=new, author_id=task.author_id
        )
