"""The body of the notify job: e-mail the person, create one delivery per team webhook."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from tasks.models import Attempt
from tasks.notifications.mail import attempt_email_send
from tasks.notifications.models import TeamWebhook, WebhookDelivery
from tasks.notifications.payloads import attempt_payload


def attempt_notify(attempt_id: int, event: str, *, host: str = "") -> list[int]:
    """Send the e-mail (when configured) and return the ids of the new webhook deliveries. A
    second run for the same event creates no second delivery (the job may be delivered twice).
    `host`: what a blocked attempt waits to reach."""
    attempt = (
        Attempt.objects.select_related("task__team", "task__repository", "task__author",
                                       "requested_by")
        .filter(pk=attempt_id)
        .first()
    )
    if attempt is None:
        return []
    attempt_email_send(attempt, event, host=host)
    payload = attempt_payload(attempt, event, host=host)
    created: list[int] = []
    for webhook in TeamWebhook.objects.filter(team_id=attempt.task.team_id):
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    webhook=webhook, attempt=attempt, event=event, payload=payload
                )
        except IntegrityError:
            continue  # already delivered or being delivered
        created.append(delivery.pk)
    return created
