"""One re-verification of one attempt's patch (the attempt's own, or a combined one)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Verification(models.Model):
    """Claimed like an attempt (QUEUED -> RUNNING by a conditional update), with a heartbeat so
    a verification whose worker died is run again once (`runs` counts) or ended with a sentence
    (tasks/verification/recovery.py)."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running", "Verifying"
        DONE = "done"

    class Verdict(models.TextChoices):
        # Best first: the ranking sorts by this order (tasks/verification/ranking.py).
        PASSED = "passed", "All checks pass"
        NO_CHECKS = "no_checks", "Applies; no checks to run"
        CHECKS_FAILED = "checks_failed", "Some checks fail"
        UNVERIFIED = "unverified", "Could not be verified"
        NOT_APPLIED = "not_applied", "The patch does not apply"
        NO_PATCH = "no_patch", "No patch"

    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="verifications")
    attempt = models.OneToOneField(
        "tasks.Attempt", on_delete=models.CASCADE, related_name="verification"
    )
    # For a combined patch: the hunk ids it was made of ("<attempt id>:<file>:<hunk>").
    hunks = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True, default="")
    commands = models.JSONField(default=list, blank=True)  # what is (was) run, in order
    commands_source = models.CharField(max_length=40, blank=True, default="")
    # One {command, exit_code, output_tail, timed_out, duration} per command run so far.
    results = models.JSONField(default=list, blank=True)
    reason = models.TextField(blank=True, default="")  # the verdict and its evidence, a sentence
    error = models.TextField(blank=True, default="")
    rank = models.PositiveSmallIntegerField(null=True, blank=True)  # 1 = best; None: pending
    rank_reason = models.TextField(blank=True, default="")  # why it stands there
    patch_lines = models.PositiveIntegerField(default=0)  # lines added + removed
    runs = models.PositiveSmallIntegerField(default=0)  # how many times a worker claimed it
    # Who asked to stop it while it ran; the worker stops the checks and ends it as unverified.
    stop_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["task", "rank", "attempt__index"]

    def __str__(self) -> str:
        return f"verification of {self.attempt}"

    @property
    def is_combined(self) -> bool:
        return bool(self.hunks)

    @property
    def is_finished(self) -> bool:
        return self.status == self.Status.DONE

    @property
    def rank_place(self) -> str:
        """The place, e.g. "#2 of 3" (the head of `rank_reason`; "#2" without one)."""
        head, said, _ = self.rank_reason.partition(": ")
        if said and head.startswith("#"):
            return head
        return f"#{self.rank}" if self.rank else ""

    @property
    def rank_why(self) -> str:
        """What set the row apart from its neighbour, as a sentence: `rank_reason` without the
        place and the verdict, which the row's head already shows (`rank_place`, the badge); ""
        when nothing is left (a lone attempt). The API keeps the whole sentence."""
        head, said, why = self.rank_reason.partition(": ")
        if not said or not head.startswith("#"):
            return self.rank_reason
        why = why.removeprefix(self.get_verdict_display().lower()).lstrip(",; ")
        if head.endswith(" of 1") or why in ("", "."):
            return ""
        return why[:1].upper() + why[1:]
