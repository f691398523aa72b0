"""The attempt job, run by a real Celery worker over the real Redis broker.

Until a sandbox backend is configured, the job must record its real progress as Events and end
the attempt with the honest "No sandbox backend configured" error, never a made-up result.
"""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker

from codexweb.celery import app as celery_app
from tasks import services
from tasks.models import Attempt, Status, Task
from tasks.worker.claim import NO_SANDBOX_MESSAGE
from tests.support import factories
from tests.support.celery_queue import queue_clear


def wait_until_finished(task: Task, *, timeout: float = 30.0) -> Task:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task.refresh_from_db()
        if task.is_finished:
            return task
        time.sleep(0.1)
    raise AssertionError(f"task {task.pk} still {task.status} after {timeout:.0f}s")


@pytest.fixture
def worker(transactional_db, settings):
    """A real Celery worker thread consuming the attempts queue of the test Redis."""
    settings.SANDBOX_BACKEND = "none"
    queue_clear()
    with start_worker(
        celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=20.0, loglevel="WARNING"
    ) as running:
        yield running
    queue_clear()


def submit_ask(author, repository, prompt: str, attempts: int = 1):
    """Through the service, so the jobs are enqueued exactly as a submitted form enqueues them."""
    return services.task_create(
        author=author,
        repository=repository,
        mode="ask",
        prompt=prompt,
        base_branch="",
        model_tier="fast",
        attempts=attempts,
    )


def test_worker_ends_each_attempt_with_the_honest_no_sandbox_error(worker):
    alice, repository = factories.make_alice_and_webapp()
    task = wait_until_finished(submit_ask(alice, repository, "What does this do?", attempts=2))

    assert task.status == Status.FAILED
    assert task.finished_at is not None
    for attempt in Attempt.objects.filter(task=task).order_by("index"):
        assert attempt.status == Status.FAILED
        assert attempt.error == NO_SANDBOX_MESSAGE
        assert attempt.error.startswith("No sandbox backend configured")
        assert attempt.started_at is not None and attempt.finished_at is not None
        assert attempt.summary == "" and attempt.patch == "", "nothing made up"
        events = [
            (e.seq, e.kind, e.payload["status"], e.payload["message"])
            for e in attempt.events.order_by("seq")
        ]
        assert events == [
            (1, "status", "queued", "Queued."),
            (2, "status", "running", "Worker started."),
            (3, "status", "failed", NO_SANDBOX_MESSAGE),
        ]


def test_a_job_delivered_twice_runs_once(worker):
    from tasks.jobs import run_attempt

    alice, repository = factories.make_alice_and_webapp()
    task = wait_until_finished(submit_ask(alice, repository, "Twice?"))
    attempt = task.attempts.get()
    run_attempt.delay(attempt.pk)  # a redelivery after the attempt ended
    # The solo worker takes jobs in order: once a later task finishes, the redelivery was handled.
    wait_until_finished(submit_ask(alice, repository, "Later"))
    assert attempt.events.count() == 3
    attempt.refresh_from_db()
    assert attempt.status == Status.FAILED


def test_housekeeping_ends_attempts_whose_worker_was_lost(acme_repo, alice, settings):
    """An attempt still 'running' long past its hard limit had its worker die: end it clearly."""
    from datetime import timedelta

    from django.utils import timezone

    from tasks.jobs import housekeeping
    from tasks.models import Status
    from tasks.services import LOST_WORKER_MESSAGE
    from tests.support.factories import make_task

    settings.SANDBOX_BACKEND = "none"
    limit = settings.ATTEMPT_TIMEOUT_SECONDS + settings.SANDBOX_REAPER_GRACE_SECONDS
    lost, alive = make_task(acme_repo, alice, attempts=2).attempts.order_by("index")
    lost.status = alive.status = Status.RUNNING
    lost.started_at = timezone.now() - timedelta(seconds=limit + 60)
    alive.started_at = timezone.now() - timedelta(seconds=limit - 60)
    alive.heartbeat_at = timezone.now()  # its worker is alive (tasks/worker/heartbeat.py)
    lost.save()
    alive.save()

    housekeeping()

    lost.refresh_from_db()
    alive.refresh_from_db()
    assert lost.status == Status.FAILED and lost.error == LOST_WORKER_MESSAGE
    assert alive.status == Status.RUNNING


def test_an_attempt_without_a_model_api_fails_saying_what_to_set(acme_repo, alice, settings):
    from tasks.jobs import run_attempt
    from tasks.models import Status
    from tasks.worker.claim import NO_MODEL_MESSAGE
    from tests.support.factories import make_task

    settings.SANDBOX_BACKEND = "docker"
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    attempt = make_task(acme_repo, alice).attempts.get()

    run_attempt(attempt.pk)

    attempt.refresh_from_db()
    assert attempt.status == Status.FAILED
    assert attempt.error == NO_MODEL_MESSAGE
    assert "OPENAI_API_KEY" in attempt.error
