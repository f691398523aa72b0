"""Writes for re-verification: start it when a task's attempts have all ended, claim, record
progress and the end, rank, and combine hunks into a new (combined) attempt.

A verification is claimed like an attempt (a conditional QUEUED -> RUNNING update), so a job
delivered twice runs once; jobs are enqueued after commit.
"""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tasks import event_kinds as kinds
from tasks import events
from tasks.models import FINISHED_STATUSES, Attempt, Mode, Status, Task
from tasks.rendering.diff import diff_stats
from tasks.verification.hunks import combine, patch_hunks
from tasks.verification.models import Verification
from tasks.verification.ranking import Candidate, rank, rank_reason

V = Verification.Status
Verdict = Verification.Verdict
VERIFIED_STATUSES = frozenset({Status.SUCCEEDED, Status.STOPPED})


class VerificationError(ValueError):
    """A request about re-verification that cannot be carried out; the message is for a person."""


def enqueue(verification_id: int) -> None:
    from tasks.jobs import verify_patch  # the job module imports the worker side

    verify_patch.delay(verification_id)


def _patch_lines(patch: str) -> int:
    _files, added, removed = diff_stats(patch)
    return added + removed


def task_is_best_of_n(task: Task) -> bool:
    """A Code task that ran more than one attempt (combined patches do not count)."""
    return task.mode == Mode.CODE and task.attempt_count > 1


@transaction.atomic
def verifications_start(*, task_id: int) -> list[Verification]:
    """Once every attempt of a best-of-N Code task has ended, give each attempt that has none a
    verification: queued (and enqueued after commit) when it left a patch, else done at once as
    "no patch". Idempotent: attempts that have one keep it. Returns the new rows."""
    task = Task.objects.select_for_update().get(pk=task_id)
    if not task_is_best_of_n(task):
        return []
    attempts = list(task.attempts.all())
    if any(a.status not in FINISHED_STATUSES for a in attempts):
        return []
    have = set(Verification.objects.filter(task=task).values_list("attempt_id", flat=True))
    created: list[Verification] = []
    for attempt in attempts:
        if attempt.pk in have:
            continue
        verification = Verification(task=task, attempt=attempt)
        verification.patch_lines = _patch_lines(attempt.patch)
        if attempt.status in VERIFIED_STATUSES and attempt.patch.strip():
            verification.save()
            transaction.on_commit(partial(enqueue, verification.pk))
        else:
            verification.status = V.DONE
            verification.verdict = Verdict.NO_PATCH
            verification.reason = (
                f"Attempt {attempt.index} {attempt.get_status_display().lower()} without a patch"
                + (f": {attempt.error}" if attempt.error else ".")
            )
            verification.finished_at = timezone.now()
            verification.save()
        created.append(verification)
    if created:
        ranking_refresh(task_id=task.pk)
    return created


def verification_claim(*, verification_id: int) -> bool:
    """QUEUED -> RUNNING; False when another worker has it or it is done."""
    now = timezone.now()
    claimed = Verification.objects.filter(pk=verification_id, status=V.QUEUED).update(
        status=V.RUNNING,
        started_at=now,
        heartbeat_at=now,
        results=[],
        error="",
        runs=F("runs") + 1,
    )
    return bool(claimed)


def verification_beat(verification_id: int) -> None:
    Verification.objects.filter(pk=verification_id, status=V.RUNNING).update(
        heartbeat_at=timezone.now()
    )


def verification_progress(
    *, verification_id: int, commands: list[str], source: str, results: list[dict[str, Any]]
) -> None:
    """What is being run and what ran so far, for the live ranking."""
    Verification.objects.filter(pk=verification_id, status=V.RUNNING).update(
        commands=commands, commands_source=source, results=results
    )


@transaction.atomic
def verification_finish(
    *,
    verification_id: int,
    verdict: str,
    reason: str,
    results: list[dict[str, Any]] | None = None,
    error: str = "",
) -> Verification:
    """Record the verdict (once: a verification already done stays as it is) and re-rank."""
    verification = Verification.objects.select_for_update().get(pk=verification_id)
    if verification.status == V.DONE:
        return verification
    verification.status = V.DONE
    verification.verdict = verdict
    verification.reason = reason
    verification.error = error
    if results is not None:
        verification.results = results
    verification.finished_at = timezone.now()
    verification.save()
    ranking_refresh(task_id=verification.task_id)
    return verification


def verification_stop(*, verification: Verification, by: User) -> Verification:
    """Stop a re-verification a person no longer wants to wait for: a queued one ends at once, a
    running one is marked and its worker stops the checks within seconds (flow.py); either way
    it ends as unverified, saying who stopped it. Raises VerificationError when it has ended."""
    with transaction.atomic():
        row = Verification.objects.select_for_update().select_related("attempt").get(
            pk=verification.pk
        )
        if row.status == V.DONE:
            raise VerificationError(
                f"The verification of attempt {row.attempt.index} has already ended."
            )
        if row.stop_requested_by_id is None:
            row.stop_requested_by = by
            row.save(update_fields=["stop_requested_by"])
        if row.status == V.RUNNING:
            return row
        # Still queued: a worker's conditional claim waits for this lock, then finds it done.
        return verification_finish(
            verification_id=row.pk,
            verdict=Verdict.UNVERIFIED,
            reason=stopped_reason(by.get_username(), ran=0, of=len(row.commands)),
        )


def verification_stopper(verification_id: int) -> str:
    """The name of the person who asked to stop the verification ("" when nobody did)."""
    by = (
        Verification.objects.filter(pk=verification_id, stop_requested_by__isnull=False)
        .values_list("stop_requested_by__username", flat=True)
        .first()
    )
    return by or ""


def stopped_reason(who: str, *, ran: int, of: int) -> str:
    """The verdict's sentence for a verification a person stopped."""
    if ran == 0:
        done = "before any check finished"
    else:
        done = f"after {ran} of {of} check{'s' if of != 1 else ''}"
    return f"Stopped by {who} {done}; the patch was not verified."


def _patch_id(patch: str) -> str:
    """Equal for attempts that made the same change (git's blob ids in the patch make the same
    change the same text)."""
    return hashlib.sha256(patch.strip().encode()).hexdigest() if patch.strip() else ""


def ranking_refresh(*, task_id: int) -> None:
    """Store each finished verification's place among the task's own attempts and why (combined
    patches are verified but not ranked). Pending ones have no place yet."""
    done = Verification.objects.filter(task_id=task_id, status=V.DONE).select_related("attempt")
    rows = [row for row in done if not row.is_combined]
    ordered = rank(
        [Candidate(row.pk, row.attempt.index, row.verdict, row.patch_lines,
                   patch_id=_patch_id(row.attempt.patch)) for row in rows]
    )
    labels = dict(Verification.Verdict.choices)
    for position, candidate in enumerate(ordered, start=1):
        text = rank_reason(ordered, position, labels)
        Verification.objects.filter(pk=candidate.key).update(rank=position, rank_reason=text)


@transaction.atomic
def combined_patch_create(*, task: Task, by: User, hunk_ids: list[str]) -> Verification:
    """A new attempt holding the chosen hunks of the task's attempts as one patch, and its
    queued verification (Create PR waits for it: tasks/pull_requests/services.py). Raises
    VerificationError (overlapping hunks, unknown ids, an unfinished task) with a sentence."""
    from tasks.services import MAX_ATTEMPTS_WITH_FOLLOW_UPS, TaskError, task_access_require
    from tasks.verification.hunks import CombineError

    task = Task.objects.select_for_update().get(pk=task.pk)
    if task.mode != Mode.CODE:
        raise VerificationError("Only a Code task's attempts have hunks to combine.")
    try:
        task_access_require(user=by, task=task)
    except TaskError as exc:
        raise VerificationError(str(exc)) from exc
    attempts = [a for a in task.attempts.all() if a.patch.strip()]
    if any(not a.is_finished for a in task.attempts.all()):
        raise VerificationError("Wait for every attempt to finish before combining hunks.")
    try:
        hunks = {a.pk: patch_hunks(a.pk, a.index, a.patch) for a in attempts}
        patch = combine(hunk_ids, hunks)
    except CombineError as exc:
        raise VerificationError(str(exc)) from exc
    sources = sorted({int(h.split(":")[0]) for h in hunk_ids})
    indexes = [a.index for a in attempts if a.pk in sources]
    last = task.attempts.order_by("-index").values_list("index", flat=True).first() or 0
    if last >= MAX_ATTEMPTS_WITH_FOLLOW_UPS:
        raise VerificationError(f"A task can have at most {MAX_ATTEMPTS_WITH_FOLLOW_UPS} attempts.")
    first = next(a for a in attempts if a.pk == sources[0])
    now = timezone.now()
    combined = Attempt.objects.create(
        task=task,
        index=last + 1,
        requested_by=by,
        status=Status.SUCCEEDED,
        patch=patch,
        summary=(
            f"Combined by {by.get_username()} from {len(hunk_ids)} hunk"
            f"{'s' if len(hunk_ids) != 1 else ''} of attempt"
            f"{'s' if len(indexes) != 1 else ''} {', '.join(map(str, indexes))}."
        ),
        environment_snapshot=first.environment_snapshot,
        started_at=now,
        finished_at=now,
    )
    # One line in its log, so its panel says what it is.
    payload = {"status": Status.SUCCEEDED, "message": combined.summary}
    events.publish(combined.pk, kinds.STATUS, payload)
    verification = Verification.objects.create(
        task=task,
        attempt=combined,
        hunks=list(dict.fromkeys(hunk_ids)),
        patch_lines=_patch_lines(patch),
    )
    transaction.on_commit(partial(enqueue, verification.pk))
    return verification
