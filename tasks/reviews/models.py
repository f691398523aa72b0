"""What a Review task reviews (per task) and what each review attempt looked at and posted.

Imported by tasks/models.py so Django sees them in the `tasks` app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ReviewTarget(models.Model):
    """The diff a Review task is about: a branch (against the task's base branch), a pull
    request (its head against its base) or another attempt's own patch."""

    class Kind(models.TextChoices):
        BRANCH = "branch"
        PULL = "pull", "Pull request"
        ATTEMPT = "attempt"

    task = models.OneToOneField(
        "tasks.Task", on_delete=models.CASCADE, related_name="review_target"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    branch = models.CharField(max_length=255, blank=True, default="")
    pull_number = models.PositiveIntegerField(null=True, blank=True)
    source_attempt = models.ForeignKey(
        "tasks.Attempt", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        if self.kind == self.Kind.PULL:
            return f"pull request #{self.pull_number}"
        if self.kind == self.Kind.ATTEMPT:
            source = self.source_attempt
            if source is None:
                return "an attempt that was deleted"
            return f"attempt {source.index} of task #{source.task_id}"
        return f"branch {self.branch}"


class ReviewRecord(models.Model):
    """One review attempt: the diff it was given (computed on the host from the mirror, so the
    page shows exactly what the agent saw) and whether its findings were posted to GitHub."""

    class Event(models.TextChoices):
        """GitHub's review `event`: what the posted review says about the pull request."""

        COMMENT = "COMMENT", "Comment"
        APPROVE = "APPROVE", "Approve"
        REQUEST_CHANGES = "REQUEST_CHANGES", "Request changes"

    class PostState(models.TextChoices):
        NONE = "", "Not posted"
        POSTING = "posting", "Being posted"
        POSTED = "posted"
        FAILED = "failed"

    attempt = models.OneToOneField(
        "tasks.Attempt", on_delete=models.CASCADE, related_name="review"
    )
    base_sha = models.CharField(max_length=64, blank=True, default="")
    head_sha = models.CharField(max_length=64, blank=True, default="")
    diff = models.TextField(blank=True, default="")
    pull_number = models.PositiveIntegerField(null=True, blank=True)
    post_state = models.CharField(
        max_length=8, choices=PostState.choices, blank=True, default=PostState.NONE
    )
    post_event = models.CharField(max_length=16, choices=Event.choices, default=Event.COMMENT)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    review_id = models.BigIntegerField(null=True, blank=True)
    html_url = models.URLField(max_length=1000, blank=True, default="")
    post_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"review of attempt {self.attempt_id}"

    @property
    def web_url(self) -> str:
        """The posted review on GitHub, only if a plain http(s) URL: the address is the
        server's answer (a GitHub Enterprise host), not something to put in a link unchecked."""
        return self.html_url if self.html_url.startswith(("https://", "http://")) else ""
