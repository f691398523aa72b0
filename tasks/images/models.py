"""An image a person attached to a task's prompt or to a follow-up.

Imported by tasks/models.py so Django sees it in the `tasks` app. The bytes live in the database
with the task: the database is the state every web and worker host shares (DESIGN.md), so a worker
on another host reads them as the web host stored them, and a backup holds both together.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TaskImage(models.Model):
    """One decoded image: `attempt` is the follow-up it came with, empty for the task's prompt."""

    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, related_name="task_images"
    )
    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="images")
    attempt = models.ForeignKey(
        "tasks.Attempt", null=True, blank=True, on_delete=models.CASCADE, related_name="images"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The name the person's file had, cleaned (tasks/images/names.py); shown, never trusted.
    name = models.CharField(max_length=120)
    # Decided by decoding the bytes (tasks/images/decode.py), never by name or browser.
    media_type = models.CharField(max_length=20)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    data = models.BinaryField()
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task", "attempt", "position", "id"]
        indexes = [models.Index(fields=["task", "attempt"], name="taskimage_task_attempt")]

    def __str__(self) -> str:
        return f"image {self.name} of task {self.task_id}"
