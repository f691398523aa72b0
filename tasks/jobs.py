"""Celery jobs. Each takes an id, claims its row, and calls services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from tasks import events, queue_watch, services
from tasks.models import Status

logger = logging.getLogger(__name__)

NO_SANDBOX_MESSAGE = (
    "No sandbox backend configured: set SANDBOX_BACKEND (for example 'docker') so attempts "
    "can run in a container."
)

NO_MODEL_MESSAGE = (
    "No model API configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for a self-hosted "
    "OpenAI-compatible server) so the agent can think."
)


@shared_task(name="tasks.run_attempt", acks_late=True)
def run_attempt(attempt_id: int) -> None:
    """Drive one attempt from start to finish. Safe to deliver twice: the claim is atomic."""
    if not services.attempt_claim(attempt_id=attempt_id):
        logger.info("attempt %s is not queued any more; nothing to do", attempt_id)
        return
    events.publish(attempt_id, "status", {"status": Status.RUNNING, "message": "Worker started."})
    if settings.SANDBOX_BACKEND in ("", "none"):
        services.attempt_finish(
            attempt_id=attempt_id, status=Status.FAILED, error=NO_SANDBOX_MESSAGE
        )
        return
    if not settings.OPENAI_API_KEY and not settings.OPENAI_BASE_URL:
        services.attempt_finish(attempt_id=attempt_id, status=Status.FAILED, error=NO_MODEL_MESSAGE)
        return
    from tasks.attempt_flow import attempt_run  # imports the agent and the sandbox backend

    attempt_run(attempt_id)


@shared_task(name="tasks.housekeeping")
def housekeeping() -> None:
    """Periodic (Celery beat): end attempts whose worker died, remove orphaned sandboxes."""
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
