"""The audit log: who changed what in a team, and when. Rows are only ever appended."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from codexweb.accounts.models import Team


class AuditEntry(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept so the log still says who acted after the account is deleted.
    actor_name = models.CharField(max_length=150, blank=True, default="")
    action = models.CharField(max_length=50)
    # What was acted on, for people ("acme/webapp", "bob", "task #12").
    target = models.CharField(max_length=300, blank=True, default="")
    # Field names, old/new values of non-secret settings; never a secret's value.
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "-created_at"]),
            models.Index(fields=["team", "action", "-created_at"]),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.actor_name or 'system'} {self.action} {self.target}"
