"""A message a person sends to a running attempt (mid-task steering, issue 14 item 1).

Imported by tasks/models.py so Django sees it in the `tasks` app. The agent takes pending
messages at its next turn boundary (tasks/worker/agent.py); `taken_at` marks that, and the
`steer` event it publishes then shows the message in the log where it arrived.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SteerMessage(models.Model):
    """Text for the agent, or (`stop`) "stop after this step", from a person with access."""

    attempt = models.ForeignKey(
        "tasks.Attempt", on_delete=models.CASCADE, related_name="steer_messages"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField(blank=True, default="")
    stop = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    taken_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["attempt", "id"]
        indexes = [models.Index(fields=["attempt", "taken_at"], name="steer_attempt_pending")]

    def __str__(self) -> str:
        what = "stop" if self.stop else "message"
        return f"{what} #{self.pk} to attempt {self.attempt_id}"
