"""Reading a team's webhooks and their delivery log."""

from __future__ import annotations

from django.db.models import QuerySet

from codexweb.accounts.models import Team
from tasks.notifications.models import TeamWebhook, WebhookDelivery

DELIVERY_LOG_SIZE = 50


def team_webhooks(team: Team) -> QuerySet[TeamWebhook]:
    return TeamWebhook.objects.filter(team=team).select_related("created_by")


def webhook_delivery_log(webhook: TeamWebhook) -> QuerySet[WebhookDelivery]:
    """Every delivery of the webhook, newest first (the API pages through it)."""
    return webhook.deliveries.select_related("attempt").order_by("-created_at", "-id")


def webhook_deliveries(webhook: TeamWebhook) -> QuerySet[WebhookDelivery]:
    """The newest deliveries, newest first (the page shows this many)."""
    return webhook_delivery_log(webhook)[:DELIVERY_LOG_SIZE]
