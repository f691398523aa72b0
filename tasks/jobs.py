"""The Celery jobs (found by autodiscovery under this name; their `name=`s never change, so
jobs already queued in Redis still run). Each is a thin entry into `tasks/worker/`.

Failure model (README, "When things fail"): a job never leaves its attempt open. Whatever it
raises ends the attempt as failed with a message for a person; while it runs, the attempt has a
heartbeat (tasks/worker/heartbeat.py), so an attempt whose worker died is ended by
housekeeping. Jobs are acknowledged late, so a job its worker took but never claimed is
delivered again; a job whose attempt was already claimed (its worker died mid-run) is never run
twice: the claim is a conditional QUEUED -> RUNNING update, and the redelivery only ends the
attempt if it was lost.
"""

from __future__ import annotations

import logging

from celery import Task as CeleryTask
from celery import shared_task

from tasks.resilience import DatabaseUnavailable
from tasks.worker import housekeeping as periodic
from tasks.worker.claim import claim_attempt

logger = logging.getLogger(__name__)

CLAIM_RETRY_SECONDS = 30
CLAIM_MAX_RETRIES = 10


@shared_task(name="tasks.run_attempt", acks_late=True, bind=True)
def run_attempt(self: CeleryTask, attempt_id: int) -> None:
    """Drive one attempt from start to finish. Safe to deliver twice: the claim is atomic."""
    try:
        claimed = claim_attempt(attempt_id)
    except DatabaseUnavailable as exc:
        # Nothing ran yet: ask again later rather than leave the attempt queued for good.
        logger.warning("attempt %s not claimed: %s", attempt_id, exc)
        raise self.retry(countdown=CLAIM_RETRY_SECONDS, max_retries=CLAIM_MAX_RETRIES) from exc
    if not claimed:
        # Ended already, or claimed by a worker that died (a late acknowledgement redelivers
        # its job): never run it again, but end it now if its heartbeat stopped.
        lost = periodic.end_attempt_if_lost(attempt_id)
        logger.info(
            "attempt %s is not queued any more; %s",
            attempt_id,
            "its worker was lost, ended it" if lost else "nothing to do",
        )
        return
    from tasks.worker.attempt import run_claimed_attempt  # imports the agent and the sandbox

    run_claimed_attempt(attempt_id)


@shared_task(name="tasks.attempts_check_heartbeats")
def attempts_check_heartbeats() -> list[int]:
    """Periodic (every few seconds): fail attempts whose worker stopped beating, and remove
    their containers and egress proxies."""
    from tasks.verification.recovery import verifications_recover

    verifications_recover()  # best-of-N re-verifications whose worker died, the same way
    return periodic.end_attempts_without_heartbeat()


@shared_task(name="tasks.housekeeping")
def housekeeping() -> None:
    """Periodic (Celery beat): end attempts whose worker died, remove orphaned sandboxes."""
    periodic.housekeeping()


@shared_task(name="tasks.verify_patch", acks_late=True)
def verify_patch(verification_id: int) -> None:
    """Re-verify one patch of a best-of-N task (tasks/verification/flow.py). Safe to deliver
    twice: the claim is atomic, and a redelivery only recovers a verification whose worker died."""
    from tasks.verification.flow import verification_execute  # imports the sandbox

    verification_execute(verification_id)
