"""Redeliver: a team admin queues one more try of a failed webhook delivery (the page's button,
the API and the CLI all call `delivery_redeliver`).

The try is the same delivery — same stored body, same `X-Codexweb-Delivery` id, so a receiver
can tell a redelivery from a new event — made by the same job (`jobs.deliver_webhook`), which
checks the address again and records the answer in the log. Its tries keep counting: one that
used up WEBHOOK_MAX_TRIES gets this one try; one that stopped earlier (a 4xx, a refused address)
is retried with backoff as before while tries remain.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from codexweb.audit import actions as audit_actions
from tasks.notifications.jobs import deliver_webhook
from tasks.notifications.models import WebhookDelivery
from tasks.notifications.webhooks import webhook_audit


class RedeliverRefused(ValueError):
    """The delivery cannot be redelivered now; the message says why, for a person."""


_REFUSALS: dict[str, str] = {
    WebhookDelivery.State.DELIVERED: "This delivery succeeded already; only a failed delivery "
    "can be redelivered.",
    WebhookDelivery.State.PENDING: "This delivery is still being tried; it can be redelivered "
    "once it has failed.",
}


def delivery_redeliver(*, delivery: WebhookDelivery, actor: User) -> WebhookDelivery:
    """Make a failed delivery pending again and queue its try after commit (audited). Raises
    RedeliverRefused when it is not failed; two clicks at once queue one try."""
    with transaction.atomic():
        claimed = WebhookDelivery.objects.filter(
            pk=delivery.pk, state=WebhookDelivery.State.FAILED
        ).update(state=WebhookDelivery.State.PENDING, updated_at=timezone.now())
        delivery.refresh_from_db()
        if not claimed:
            raise RedeliverRefused(
                _REFUSALS.get(delivery.state, "This delivery cannot be redelivered.")
            )
        webhook = delivery.webhook
        webhook_audit(webhook, actor=actor, action=audit_actions.WEBHOOK_REDELIVERED,
                      delivery=delivery.pk, event=delivery.event)
        delivery_id = delivery.pk
        transaction.on_commit(lambda: deliver_webhook.delay(delivery_id))
    return delivery
