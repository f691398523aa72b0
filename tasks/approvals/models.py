"""A person's approval of a host the egress proxy refused (just-in-time approval, issue 14
item 3).

Imported by tasks/models.py so Django sees it in the `tasks` app. The worker following the
attempt takes pending approvals (`taken_at` marks that), adds their hosts to the running
proxy's rules and tells the agent in its next tool result (tasks/worker/egress_follow.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApprovalScope(models.TextChoices):
    ATTEMPT = "attempt", "Allowed once for this attempt"
    REPOSITORY = "repository", "Added to the repository's allowlist"


class EgressApproval(models.Model):
    """`host` may be reached by this attempt's agent from now on; with scope "repository" it
    was also added to the repository's allowlist (for later attempts)."""

    attempt = models.ForeignKey(
        "tasks.Attempt", on_delete=models.CASCADE, related_name="egress_approvals"
    )
    host = models.CharField(max_length=253)
    scope = models.CharField(max_length=10, choices=ApprovalScope.choices)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    taken_at = models.DateTimeField(null=True, blank=True)  # the worker applied it

    class Meta:
        ordering = ["attempt", "id"]
        indexes = [models.Index(fields=["attempt", "taken_at"], name="egress_approval_pending")]

    def __str__(self) -> str:
        return f"{self.host} for attempt {self.attempt_id} ({self.scope})"
