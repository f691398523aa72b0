"""The record of a pull request opened from an attempt.

Imported by tasks/models.py so Django sees it in the `tasks` app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PullRequestRecord(models.Model):
    """The pull request opened from an attempt; one per attempt, so a second click finds it.

    Moved from the repos app (it hangs off an Attempt): the table keeps its name, so the move
    (tasks/migrations/0010_h5_pull_request_record.py) touched no row.
    """

    class State(models.TextChoices):
        CREATING = "creating", "Being created"
        OPEN = "open"
        CLOSED = "closed"
        MERGED = "merged"
        FAILED = "failed"
        PUSHED = "pushed", "Pushed to the branch"

    attempt = models.OneToOneField(
        "tasks.Attempt", on_delete=models.CASCADE, related_name="pull_request"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    branch = models.CharField(max_length=255)
    state = models.CharField(max_length=10, choices=State.choices, default=State.CREATING)
    draft = models.BooleanField(default=False)
    number = models.PositiveIntegerField(null=True, blank=True)
    html_url = models.URLField(max_length=1000, blank=True, default="")
    head_sha = models.CharField(max_length=64, blank=True, default="")
    error = models.TextField(blank=True, default="")
    # A follow-up's record that pushes to its parent's open pull request instead of opening one:
    # the record it updates (same branch and number). None: this record opened its own PR.
    updates = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="updated_by"
    )
    # "Push to branch": the attempt's commit went onto the branch its task started from (a
    # fast-forward), not onto a codex/ branch of its own; `number` is that branch's open PR.
    pushed_to_branch = models.BooleanField(default=False)
    # The failure is a conflict with the branch (the patch no longer applies, or the branch
    # moved): the page offers "Resolve with the agent" (tasks/pull_requests/resolve.py).
    resolvable = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "repos_pullrequestrecord"

    def __str__(self) -> str:
        return self.html_url or f"{self.branch} ({self.state})"
