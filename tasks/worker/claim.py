"""Step 1 of an attempt on a worker: take it from the queue (once), and end it as failed with
a sentence for a person when anything goes wrong later."""

from __future__ import annotations

import logging

from django.conf import settings

from tasks import services
from tasks.models import Status
from tasks.resilience import DatabaseUnavailable, with_db_retry

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


def claim_attempt(attempt_id: int) -> bool:
    """Move a queued attempt to running (a conditional update: only one worker wins). False
    when it ended already or another worker claimed it. DatabaseUnavailable when the database
    stays away (nothing ran yet: the job asks again later)."""
    from tasks.sandbox.spec import owner_token

    worker = owner_token()
    return with_db_retry(
        lambda: services.attempt_claim(attempt_id=attempt_id, worker=worker),
        what="claim the attempt",
    )


def missing_configuration() -> str:
    """Why no attempt can run on this installation ("" when it can)."""
    if settings.SANDBOX_BACKEND in ("", "none"):
        return NO_SANDBOX_MESSAGE
    if not settings.OPENAI_API_KEY and not settings.OPENAI_BASE_URL:
        return NO_MODEL_MESSAGE
    return ""


def fail_attempt(attempt_id: int, message: str) -> None:
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
