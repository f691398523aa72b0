"""Runs of an environment's setup script on their own ("run setup now")."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from repos.models import Environment


class SetupRun(models.Model):
    """One "run setup now": who asked, how it went, and its log (secrets masked, capped)."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="setup_runs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    branch = models.CharField(max_length=255, blank=True, default="")
    commit = models.CharField(max_length=64, blank=True, default="")
    log = models.TextField(blank=True, default="")  # masked; capped (a note says so)
    log_truncated = models.BooleanField(default=False)
    exit_code = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    warm_hit = models.BooleanField(default=False)  # a current warm image existed: nothing ran
    warm_made = models.BooleanField(default=False)  # this run left a warm image in the cache
    warm_image = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # At most one queued or running run per environment.
            models.UniqueConstraint(
                fields=["environment"],
                condition=Q(status__in=["queued", "running"]),
                name="setup_run_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"setup run {self.pk} of {self.environment}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE
