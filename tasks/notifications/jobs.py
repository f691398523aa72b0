"""The Celery jobs of notifications (found by autodiscovery in codexweb/celery.py; their names
never change, so jobs already queued still run)."""

from __future__ import annotations

from celery import Task as CeleryTask
from celery import shared_task

from tasks.notifications.fanout import attempt_notify
from tasks.notifications.webhooks import delivery_try


@shared_task(name="notifications.notify_attempt", acks_late=True)
def notify_attempt(attempt_id: int, event: str, host: str = "") -> None:
    """E-mail the person, then deliver to each of the team's webhooks in its own job. (`host`
    came later: jobs queued before it still run.)"""
    for delivery_id in attempt_notify(attempt_id, event, host=host):
        deliver_webhook.delay(delivery_id)


@shared_task(name="notifications.deliver_webhook", acks_late=True, bind=True, max_retries=None)
def deliver_webhook(self: CeleryTask, delivery_id: int) -> None:
    """One try; again later (exponential backoff) while the delivery says so. The number of
    tries is bounded by the delivery row (WEBHOOK_MAX_TRIES), not by Celery."""
    outcome = delivery_try(delivery_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
