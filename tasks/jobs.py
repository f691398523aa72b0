"""Celery jobs. Each takes an id, claims its row, and calls services.

Failure model (README, "When things fail"): a job never leaves its attempt open. Whatever it
raises ends the attempt as failed with a message for a person; while it runs, the attempt has a
heartbeat (tasks/worker/heartbeat.py), so an attempt whose worker died is ended by housekeeping. Jobs
are acknowledged late, so a job its worker took but never claimed is delivered again; a job
whose attempt was already claimed (its worker died mid-run) is never run twice: the claim is a
conditional QUEUED -> RUNNING update, and the redelivery only ends the attempt if it was lost.
"""

from __future__ import annotations

import logging

from celery import Task as CeleryTask
from celery import shared_task
from django.conf import settings

from tasks import events, services
from tasks.models import Status
from tasks.resilience import (
    DATABASE_UNAVAILABLE_MESSAGE,
    TRANSIENT_DB_ERRORS,
    DatabaseUnavailable,
    with_db_retry,
)
from tasks.worker import queue_watch

logger = logging.getLogger(__name__)

NO_SANDBOX_MESSAGE = (
    "No sandbox backend configured: set SANDBOX_BACKEND (for example 'docker') so attempts "
    "can run in a container."
)

NO_MODEL_MESSAGE = (
    "No model API configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for a self-hosted "
    "OpenAI-compatible server) so the agent can think."
)

INTERNAL_ERROR_MESSAGE = "The worker hit an internal error; the log above shows how far it got."

CLAIM_RETRY_SECONDS = 30
CLAIM_MAX_RETRIES = 10


@shared_task(name="tasks.run_attempt", acks_late=True, bind=True)
def run_attempt(self: CeleryTask, attempt_id: int) -> None:
    """Drive one attempt from start to finish. Safe to deliver twice: the claim is atomic."""
    try:
        claimed = with_db_retry(
            lambda: services.attempt_claim(attempt_id=attempt_id), what="claim the attempt"
        )
    except DatabaseUnavailable as exc:
        # Nothing ran yet: ask again later rather than leave the attempt queued for good.
        logger.warning("attempt %s not claimed: %s", attempt_id, exc)
        raise self.retry(countdown=CLAIM_RETRY_SECONDS, max_retries=CLAIM_MAX_RETRIES) from exc
    if not claimed:
        # Ended already, or claimed by a worker that died (a late acknowledgement redelivers
        # its job): never run it again, but end it now if its heartbeat stopped.
        lost = services.attempts_end_lost(
            heartbeat_timeout_seconds=settings.ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS,
            attempt_ids=[attempt_id],
        )
        _reap_attempt_sandboxes(lost)
        logger.info(
            "attempt %s is not queued any more; %s",
            attempt_id,
            "its worker was lost, ended it" if lost else "nothing to do",
        )
        return
    from tasks.worker.heartbeat import heartbeat

    with heartbeat(attempt_id):
        try:
            _run_claimed(attempt_id)
        except DatabaseUnavailable as exc:
            logger.error("attempt %s: %s", attempt_id, exc)
            attempt_fail(attempt_id, DATABASE_UNAVAILABLE_MESSAGE)
        except TRANSIENT_DB_ERRORS:
            logger.exception("attempt %s lost its database", attempt_id)
            attempt_fail(attempt_id, DATABASE_UNAVAILABLE_MESSAGE)
        except Exception:
            logger.exception("attempt %s failed unexpectedly", attempt_id)
            attempt_fail(attempt_id, INTERNAL_ERROR_MESSAGE)


def _run_claimed(attempt_id: int) -> None:
    events.publish(attempt_id, "status", {"status": Status.RUNNING, "message": "Worker started."})
    if settings.SANDBOX_BACKEND in ("", "none"):
        attempt_fail(attempt_id, NO_SANDBOX_MESSAGE)
        return
    if not settings.OPENAI_API_KEY and not settings.OPENAI_BASE_URL:
        attempt_fail(attempt_id, NO_MODEL_MESSAGE)
        return
    from tasks.worker.attempt import attempt_run  # imports the agent and the sandbox backend

    attempt_run(attempt_id)


def attempt_fail(attempt_id: int, message: str) -> None:
    """End the attempt as failed, riding out a database that is briefly away (twice as long as
    an event write: this is the word the person reads). If even that cannot be written,
    housekeeping ends it once its heartbeat is stale."""
    try:
        with_db_retry(
            lambda: services.attempt_finish(
                attempt_id=attempt_id, status=Status.FAILED, error=message
            ),
            what="record the end of the attempt",
            total_seconds=2 * settings.DB_RETRY_SECONDS,
        )
    except DatabaseUnavailable:
        logger.error("could not record the end of attempt %s; housekeeping will", attempt_id)


@shared_task(name="tasks.attempts_check_heartbeats")
def attempts_check_heartbeats() -> list[int]:
    """Periodic (every few seconds): fail attempts whose worker stopped beating, and remove
    their containers and egress proxies."""
    lost = services.attempts_end_lost(
        heartbeat_timeout_seconds=settings.ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS
    )
    if lost:
        logger.warning("ended %d attempts whose worker stopped: %s", len(lost), lost)
        _reap_attempt_sandboxes(lost)
    return lost


def _reap_attempt_sandboxes(attempt_ids: list[int]) -> None:
    if not attempt_ids or settings.SANDBOX_BACKEND != "docker":
        return
    from tasks.sandbox.base import SandboxError
    from tasks.sandbox.docker import docker_client
    from tasks.sandbox.reaper import reap_attempt

    try:
        client = docker_client()
    except SandboxError as exc:
        logger.warning("could not remove the sandboxes of lost attempts: %s", exc)
        return
    for attempt_id in attempt_ids:
        reap_attempt(client, attempt_id, runtime_dir=settings.SANDBOX_RUNTIME_DIR)


@shared_task(name="tasks.housekeeping")
def housekeeping() -> None:
    """Periodic (Celery beat): end attempts whose worker died, remove orphaned sandboxes."""
    attempts_check_heartbeats()
    grace = settings.SANDBOX_REAPER_GRACE_SECONDS
    ended = services.attempts_reap_stale(
        older_than_seconds=settings.ATTEMPT_TIMEOUT_SECONDS + grace
    )
    if ended:
        logger.warning("ended %d attempts whose worker was lost: %s", len(ended), ended)
    queue_watch.queued_attempts_recover(lost_after_seconds=settings.QUEUE_LOST_SECONDS)
    if settings.SANDBOX_BACKEND == "docker":
        from tasks.sandbox.docker import docker_client
        from tasks.sandbox.reaper import reap

        reap(
            docker_client(),
            runtime_dir=settings.SANDBOX_RUNTIME_DIR,
            grace_seconds=grace,
            warm_cache_hours=settings.SANDBOX_WARM_CACHE_HOURS,
        )
