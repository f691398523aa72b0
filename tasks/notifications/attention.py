"""The hook: an attempt needs its person's attention (it finished, or — issue 14 item 3 — it
waits for an approval). Called inside the transaction that records it; the work (e-mail,
webhook deliveries) is enqueued after commit as Celery jobs, never done in the request or the
worker's attempt path. The browser notification needs nothing here: the team socket already
carries the status change (`static/js/notify.js`)."""

from __future__ import annotations

import logging
from functools import partial

from django.conf import settings
from django.db import transaction

from tasks.notifications.payloads import EVENTS

logger = logging.getLogger(__name__)


def attempt_needs_attention(attempt_id: int, event: str, *, host: str = "") -> None:
    """Tell the person who started attempt `attempt_id` (and the team's webhooks) about `event`
    (payloads.EVENTS), once the current transaction commits. `host`: for ATTEMPT_BLOCKED, the
    host the attempt waits to reach (named in the e-mail and the webhook body)."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    if not anyone_to_tell(attempt_id):
        return
    transaction.on_commit(partial(_enqueue, attempt_id, event, host))


def anyone_to_tell(attempt_id: int) -> bool:
    """Whether the notify job would do anything for attempt `attempt_id`: e-mail is on, or
    its team has a webhook. Without either, no job is enqueued (one indexed query instead of a
    Celery round trip, a worker's connection and the job's own reads for every attempt)."""
    from tasks.notifications.models import TeamWebhook

    return settings.NOTIFY_EMAIL or TeamWebhook.objects.filter(
        team__tasks__attempts=attempt_id
    ).exists()


def _enqueue(attempt_id: int, event: str, host: str) -> None:
    from tasks.notifications.jobs import notify_attempt  # the job module imports the services

    try:
        notify_attempt.delay(attempt_id, event, *([host] if host else []))
    except Exception:  # noqa: BLE001 - a broker outage must not undo or break the attempt's end
        logger.exception("could not enqueue the notifications of attempt %s", attempt_id)
