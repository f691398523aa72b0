"""Queued attempts whose job is no longer in the broker: enqueue once more, then fail clearly.

Redis holds the queue. A Redis restarted without its data (the embedded one keeps an
append-only file, an external one may not) loses the jobs waiting there, and the attempt would
say "queued" forever. Housekeeping calls `queued_attempts_recover`: an attempt queued longer than
QUEUE_LOST_SECONDS whose job is neither waiting in the queue nor reserved by a worker (kombu's
`unacked` hash) is enqueued again, once, with an event saying so; lost again, it is failed with
a message a person understands. A duplicate job is harmless: the job claims its attempt with a
conditional update (QUEUED -> RUNNING), so the second one finds nothing to do.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tasks import event_kinds as kinds
from tasks import events
from tasks.models import Attempt, Event, Status

logger = logging.getLogger(__name__)

RUN_ATTEMPT = "tasks.run_attempt"
# kombu's Redis transport: one list per priority step ("attempts", "attempts\x06\x163", ...)
# and the hash of messages delivered to a worker but not acknowledged yet.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)
UNACKED = "unacked"

REQUEUED_MESSAGE = (
    "The job for this attempt was lost from the queue (Redis restarted without its data?); "
    "it has been queued again."
)
LOST_JOB_MESSAGE = (
    "The job for this attempt was lost from the queue twice, so it never started. "
    "Check that Redis keeps its data across restarts, then start the task again."
)


@dataclass
class QueueWatchResult:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def _attempt_id_of(message: dict[str, Any]) -> int | None:
    if message.get("headers", {}).get("task") != RUN_ATTEMPT:
        return None
    body = message.get("body", "")
    if message.get("properties", {}).get("body_encoding") == "base64":
        body = base64.b64decode(body)
    args = json.loads(body)[0]
    return int(args[0]) if args else None


def broker_attempt_ids(client: redis.Redis, queue: str) -> set[int]:
    """Ids of the attempts with a run_attempt job waiting in `queue` or reserved by a worker."""
    raw: list[Any] = []
    for key in [queue, *(f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS)]:
        raw.extend(json.loads(item) for item in client.lrange(key, 0, -1))
    raw.extend(json.loads(value)[0] for value in client.hvals(UNACKED))
    found = set()
    for message in raw:
        try:
            attempt_id = _attempt_id_of(message)
        except (ValueError, TypeError, IndexError, KeyError):
            continue  # not ours, or not a job at all
        if attempt_id is not None:
            found.add(attempt_id)
    return found


def _requeued_at(attempt_id: int) -> Any:
    return (
        Event.objects.filter(attempt_id=attempt_id, kind=kinds.STATUS, payload__requeued=True)
        .order_by("-seq")
        .values_list("created_at", flat=True)
        .first()
    )


def queued_attempts_recover(*, lost_after_seconds: int) -> QueueWatchResult:
    """Enqueue again (once) each attempt queued longer than `lost_after_seconds` whose job the
    broker no longer has; fail the ones lost again. Does nothing when Redis does not answer."""
    from tasks.services import _enqueue_attempt, attempt_finish

    result = QueueWatchResult()
    cutoff = timezone.now() - timedelta(seconds=lost_after_seconds)
    waiting = set(
        Attempt.objects.filter(status=Status.QUEUED, created_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    broker_url = settings.CELERY_BROKER_URL
    if not waiting or not broker_url.startswith(("redis://", "rediss://", "unix://")):
        return result
    try:
        present = broker_attempt_ids(
            redis.Redis.from_url(broker_url, socket_timeout=10), settings.CELERY_TASK_DEFAULT_QUEUE
        )
    except redis.RedisError:
        logger.warning("cannot read the job queue in Redis; lost jobs are looked for next time")
        return result
    for attempt_id in sorted(waiting - present):
        requeued_at = _requeued_at(attempt_id)
        if requeued_at is None:
            with transaction.atomic():
                if not Attempt.objects.filter(pk=attempt_id, status=Status.QUEUED).exists():
                    continue  # claimed meanwhile
                events.publish(
                    attempt_id,
                    kinds.STATUS,
                    {"status": Status.QUEUED, "message": REQUEUED_MESSAGE, "requeued": True},
                )
                transaction.on_commit(partial(_enqueue_attempt, attempt_id))
            result.requeued.append(attempt_id)
        elif requeued_at < cutoff:
            attempt_finish(attempt_id=attempt_id, status=Status.FAILED, error=LOST_JOB_MESSAGE)
            result.failed.append(attempt_id)
    if result.requeued or result.failed:
        logger.warning(
            "jobs lost from the queue: enqueued again %s, failed %s", result.requeued, result.failed
        )
    return result
