"""A team's outgoing webhooks and the log of their deliveries.

Imported by tasks/models.py so Django sees them in the `tasks` app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from codexweb import crypto


class TeamWebhook(crypto.Sealed, models.Model):
    """A URL that receives a signed JSON POST when one of the team's attempts needs attention.
    The signing secret is stored encrypted and shown to the admin once, when it is created."""

    sealed_field = "secret_encrypted"

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2000)
    secret_encrypted = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one webhook: what was sent and how each try went."""

    class State(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    webhook = models.ForeignKey(TeamWebhook, on_delete=models.CASCADE, related_name="deliveries")
    attempt = models.ForeignKey(
        "tasks.Attempt", on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    event = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    tries = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A job delivered twice (late acknowledgement) never sends the same event twice.
            models.UniqueConstraint(
                fields=["webhook", "attempt", "event"], name="webhook_delivery_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} of attempt {self.attempt_id} to webhook {self.webhook_id}"
