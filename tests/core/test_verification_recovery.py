"""A verification is never left "verifying" (tasks/verification/recovery.py): a stale heartbeat
queues it again once, a second loss ends it with a sentence, and a redelivered job of a
verification another worker is still running does nothing."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tasks.jobs import verify_patch
from tasks.models import Status
from tasks.verification.models import Verification
from tasks.verification.recovery import verifications_recover
from tests.support import factories
from tests.support.celery_queue import queued_jobs


def running_verification(repo, author, *, runs: int, beat_seconds_ago: float) -> Verification:
    task = factories.make_task(repo, author, mode="code", attempts=2)
    attempt = task.attempts.first()
    attempt.status, attempt.patch = Status.SUCCEEDED, "diff --git a/x b/x\n"
    attempt.save()
    return Verification.objects.create(
        task=task, attempt=attempt, status="running", runs=runs,
        heartbeat_at=timezone.now() - timedelta(seconds=beat_seconds_ago),
        results=[{"command": "pytest", "running": True}],
    )


def test_a_stale_verification_is_queued_again_once(
    settings, acme_repo, alice, empty_queue, django_capture_on_commit_callbacks
):
    settings.ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS = 60
    stale = running_verification(acme_repo, alice, runs=1, beat_seconds_ago=120)
    fresh = running_verification(acme_repo, alice, runs=1, beat_seconds_ago=5)

    with django_capture_on_commit_callbacks(execute=True):
        touched = verifications_recover()

    assert touched == [stale.pk]
    stale.refresh_from_db()
    assert (stale.status, stale.results) == ("queued", [])
    assert [j.args for j in queued_jobs()] == [[stale.pk]]
    fresh.refresh_from_db()
    assert fresh.status == "running"


def test_a_verification_lost_twice_ends_unverified_with_a_sentence(settings, acme_repo, alice):
    settings.ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS = 60
    lost = running_verification(acme_repo, alice, runs=2, beat_seconds_ago=120)

    verifications_recover()

    lost.refresh_from_db()
    assert (lost.status, lost.verdict) == ("done", "unverified")
    assert lost.reason.startswith("The worker verifying this patch stopped 2 times")
    assert lost.rank == 1  # ranked (last of one), so the ranking never waits for it


def test_a_redelivered_job_leaves_a_running_verification_alone(
    settings, acme_repo, alice, empty_queue
):
    settings.ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS = 60
    busy = running_verification(acme_repo, alice, runs=1, beat_seconds_ago=5)

    verify_patch(busy.pk)

    busy.refresh_from_db()
    assert (busy.status, busy.runs) == ("running", 1)
    assert queued_jobs() == []
