"""A job lost from the queue (Redis restarted without its data) is found by housekeeping: the
attempt is enqueued again once, and failed with a clear message if it is lost again. Jobs still
waiting, or reserved by a worker, are left alone. Real Redis broker, real database."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from tasks import event_kinds as kinds
from tasks.jobs import run_attempt
from tasks.models import Attempt, Event, Status
from tasks.worker.queue_watch import LOST_JOB_MESSAGE, REQUEUED_MESSAGE, queued_attempts_recover
from tests.support import factories
from tests.support.celery_queue import queue_clear, queued_jobs

LOST_AFTER = 120


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue_clear()
    client.delete("unacked")
    yield client
    queue_clear()
    client.delete("unacked")


def queued_attempt(repo, author, *, age_seconds: int) -> Attempt:
    task = factories.make_task(repo, author)
    attempt = task.attempts.get()
    Attempt.objects.filter(pk=attempt.pk).update(
        created_at=timezone.now() - timedelta(seconds=age_seconds)
    )
    return attempt


def jobs_for() -> list[int]:
    return [job.args[0] for job in queued_jobs() if job.task == "tasks.run_attempt"]


def test_a_lost_job_is_enqueued_again_once_then_the_attempt_fails(
    broker, acme_repo, alice, django_capture_on_commit_callbacks
):
    lost = queued_attempt(acme_repo, alice, age_seconds=300)
    waiting = queued_attempt(acme_repo, alice, age_seconds=300)
    reserved = queued_attempt(acme_repo, alice, age_seconds=300)
    young = queued_attempt(acme_repo, alice, age_seconds=5)
    run_attempt.delay(reserved.pk)
    # A worker took `reserved`'s job: kombu moved it from the list to the `unacked` hash.
    message = json.loads(broker.rpop(settings.CELERY_TASK_DEFAULT_QUEUE))
    broker.hset("unacked", "tag-1", json.dumps([message, "", settings.CELERY_TASK_DEFAULT_QUEUE]))
    run_attempt.delay(waiting.pk)
    assert jobs_for() == [waiting.pk]

    with django_capture_on_commit_callbacks(execute=True):
        result = queued_attempts_recover(lost_after_seconds=LOST_AFTER)

    assert result.requeued == [lost.pk] and result.failed == []
    assert sorted(jobs_for()) == sorted([waiting.pk, lost.pk])
    note = Event.objects.filter(attempt=lost, kind=kinds.STATUS).latest("seq").payload
    assert note["message"] == REQUEUED_MESSAGE and note["status"] == Status.QUEUED
    # Right after, nothing more happens: the new job has its chance.
    queue_clear()  # ...and is lost again
    assert queued_attempts_recover(lost_after_seconds=LOST_AFTER).failed == []

    Event.objects.filter(attempt=lost, payload__requeued=True).update(
        created_at=timezone.now() - timedelta(seconds=300)
    )
    result = queued_attempts_recover(lost_after_seconds=LOST_AFTER)

    assert result.failed == [lost.pk]
    lost.refresh_from_db()
    assert lost.status == Status.FAILED and lost.error == LOST_JOB_MESSAGE
    assert lost.task.status == Status.FAILED
    # The others were never touched: a reserved job, and a young attempt whose job may be on
    # its way, count as present.
    for other in (reserved, young):
        other.refresh_from_db()
        assert other.status == Status.QUEUED
        assert not Event.objects.filter(attempt=other, payload__requeued=True).exists()


def test_a_duplicate_job_never_runs_an_attempt_twice(acme_repo, alice):
    """Enqueueing again is safe because the job claims its attempt with a conditional update."""
    attempt = queued_attempt(acme_repo, alice, age_seconds=300)
    Attempt.objects.filter(pk=attempt.pk).update(status=Status.RUNNING)
    before = Event.objects.filter(attempt=attempt).count()

    run_attempt(attempt.pk)  # the duplicate arrives while the first one runs

    assert Event.objects.filter(attempt=attempt).count() == before
    attempt.refresh_from_db()
    assert attempt.status == Status.RUNNING


def test_when_redis_does_not_answer_nothing_is_decided(acme_repo, alice, settings):
    lost = queued_attempt(acme_repo, alice, age_seconds=300)
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    result = queued_attempts_recover(lost_after_seconds=LOST_AFTER)

    assert result.requeued == [] and result.failed == []
    lost.refresh_from_db()
    assert lost.status == Status.QUEUED
