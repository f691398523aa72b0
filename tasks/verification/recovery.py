"""Verifications whose worker died (heartbeat stale) or whose job Redis lost (queued too long):
run again once in a fresh sandbox, then ended with a sentence. Never left running."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tasks.verification import services
from tasks.verification.models import Verification

logger = logging.getLogger(__name__)

V = Verification.Status
MAX_RUNS = 2
LOST_TWICE = (
    "The worker verifying this patch stopped {runs} times (it crashed or was restarted) before "
    "the checks ended; the patch was not verified."
)


def verifications_recover(*, ids: list[int] | None = None) -> list[int]:
    """Requeue (or end, after MAX_RUNS) running verifications whose heartbeat is older than
    ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS, and enqueue once more those never taken after
    QUEUE_LOST_SECONDS. Returns the ids it touched."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS)
    rows = Verification.objects.filter(
        Q(status=V.RUNNING, heartbeat_at__lt=stale) | Q(status=V.RUNNING, heartbeat_at=None)
    )
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    touched: list[int] = []
    for verification_id, runs in rows.values_list("pk", "runs"):
        _reap(verification_id)
        if runs >= MAX_RUNS:
            services.verification_finish(
                verification_id=verification_id,
                verdict=Verification.Verdict.UNVERIFIED,
                reason=LOST_TWICE.format(runs=runs),
            )
        else:
            with transaction.atomic():
                moved = Verification.objects.filter(
                    pk=verification_id, status=V.RUNNING, runs=runs
                ).update(status=V.QUEUED, heartbeat_at=now, results=[])
                if moved:
                    transaction.on_commit(partial(services.enqueue, verification_id))
        logger.warning("verification %s lost its worker (run %s)", verification_id, runs)
        touched.append(verification_id)
    lost = now - timedelta(seconds=settings.QUEUE_LOST_SECONDS)
    # Queued long and never claimed nor requeued: its job may have been lost with Redis's data.
    # Enqueued once more (a duplicate is harmless: the claim is conditional), never again.
    waiting = Verification.objects.filter(
        status=V.QUEUED, runs=0, heartbeat_at=None, created_at__lt=lost
    )
    if ids is not None:
        waiting = waiting.filter(pk__in=ids)
    for verification_id in waiting.values_list("pk", flat=True):
        Verification.objects.filter(pk=verification_id, status=V.QUEUED).update(heartbeat_at=now)
        services.enqueue(verification_id)
        touched.append(verification_id)
    return touched


def _reap(verification_id: int) -> None:
    """Remove the container and egress proxy a dead worker left for this verification."""
    if settings.SANDBOX_BACKEND != "docker":
        return
    from tasks.sandbox.base import SandboxError, SandboxOwner
    from tasks.sandbox.engine import docker_client
    from tasks.sandbox.reaper import reap_owner

    try:
        reap_owner(
            docker_client(),
            SandboxOwner.verification(verification_id),
            runtime_dir=settings.SANDBOX_RUNTIME_DIR,
        )
    except SandboxError as exc:
        logger.warning("could not remove verification %s's sandbox: %s", verification_id, exc)
