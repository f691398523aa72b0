"""A Task is what a person asked; each Attempt is one run of the agent; Events are its log."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from codexweb.accounts.models import Team
from repos.models import Repository
from tasks.titles import task_title


# Choices name a label only where it says more than the member's name: Django derives "Queued"
# from QUEUED (the stored choices, hence the migrations, are the same either way).
class Mode(models.TextChoices):
    ASK = "ask"
    CODE = "code"
    # Read-only like Ask: the agent reviews a diff and returns findings (tasks/reviews/).
    REVIEW = "review"


class ModelTier(models.TextChoices):
    STRONG = "strong"
    FAST = "fast"


class AttemptKind(models.TextChoices):
    WORK = "work"
    # Rebase an earlier attempt's change onto the branch's new head and resolve the conflicts
    # (issue 15, item 4; tasks/worker/resolve.py).
    RESOLVE = "resolve", "Resolve conflicts"


class Status(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    STOPPED = "stopped"


FINISHED_STATUSES = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.STOPPED})


class Run(models.Model):
    """What a task and each of its attempts share: a status that moves from QUEUED to one of
    FINISHED_STATUSES (a task's follows its attempts')."""

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES


class Task(Run):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="tasks")
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="tasks")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tasks"
    )
    mode = models.CharField(max_length=6, choices=Mode.choices)
    prompt = models.TextField()
    base_branch = models.CharField(max_length=255)
    # The open pull request the task started from (its head branch is `base_branch`, in this
    # repository): "Push to branch" records the push as that PR's update (issue 15, item 2).
    pull_number = models.PositiveIntegerField(null=True, blank=True)
    model_tier = models.CharField(max_length=10, choices=ModelTier.choices)
    attempt_count = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "-created_at"]),
            models.Index(fields=["team", "status"]),
            # The history page's filters (tests/teams, bench/history.py).
            models.Index(fields=["team", "author", "-created_at"]),
            models.Index(fields=["team", "repository", "-created_at"]),
            models.Index(fields=["team", "mode", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(attempt_count__gte=1, attempt_count__lte=4),
                name="task_attempt_count_1_to_4",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} #{self.pk}: {self.title}"

    @property
    def title(self) -> str:
        return task_title(self.prompt)


class Attempt(Run):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="attempts")
    index = models.PositiveSmallIntegerField()
    # A follow-up continues from another attempt's final tree and conversation.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    follow_up_prompt = models.TextField(blank=True, default="")
    kind = models.CharField(max_length=10, choices=AttemptKind.choices, default=AttemptKind.WORK)
    # The commit the attempt's patch is taken against (recorded by the worker): a push to the
    # task's branch is a fast-forward only while the branch is still there.
    base_commit = models.CharField(max_length=64, blank=True, default="")
    # A follow-up whose person asked, on the follow-up form, to push its result to the parent's
    # open pull request as soon as it succeeds (tasks/pull_requests/services.py).
    update_pull_request = models.BooleanField(default=False)
    # Who started this attempt (the task's author, or who followed up or retried): the worker
    # fetches with their credential, never someone else's (docs/security.md, "Acting person").
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requested_attempts"
    )
    patch = models.TextField(blank=True, default="")
    summary = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    # The final content of the files the summary cites ({path: text}), so the file viewer can
    # show cited lines the patch does not reveal. Capped by the worker.
    cited_files = models.JSONField(default=dict, blank=True)
    # The model conversation at the end, so a follow-up can continue it.
    conversation = models.JSONField(default=list, blank=True)
    # The seq of the newest Event; bumped under a row lock so seqs never repeat.
    last_seq = models.PositiveIntegerField(default=0)
    # The repository environment as it was when this attempt started (no secret values): later
    # changes to the environment or its internet policy never alter a running attempt.
    environment_snapshot = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Stamped every ATTEMPT_HEARTBEAT_SECONDS by the worker running it (tasks/worker/heartbeat.py);
    # housekeeping fails a running attempt whose heartbeat stopped: its worker died.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The worker process that claimed it, "host:pid:starttime" (tasks/sandbox/spec.owner_token):
    # housekeeping on that host ends the attempt as soon as that process is gone, without
    # waiting for the heartbeat to go stale (a killed worker showed "Running" for a minute).
    worker = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["task", "index"]
        constraints = [
            models.UniqueConstraint(fields=["task", "index"], name="attempt_unique_index")
        ]

    def __str__(self) -> str:
        return f"attempt {self.index} of task {self.task_id}"


class Event(models.Model):
    """One step of an attempt's log; `seq` is strictly increasing per attempt."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=32)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["attempt", "seq"]
        constraints = [models.UniqueConstraint(fields=["attempt", "seq"], name="event_unique_seq")]
        # The task page and PR body pick an attempt's events of one kind (summary, commands).
        indexes = [models.Index(fields=["attempt", "kind"], name="event_attempt_kind")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.seq} of attempt {self.attempt_id}"


# The pull-request record and the team webhooks live with their features; imported here so
# the app registry sees them.
from tasks.approvals.models import EgressApproval  # noqa: E402,F401
from tasks.images.models import TaskImage  # noqa: E402,F401
from tasks.notifications.models import TeamWebhook, WebhookDelivery  # noqa: E402,F401
from tasks.pull_requests.models import PullRequestRecord  # noqa: E402,F401
from tasks.reviews.models import ReviewRecord, ReviewTarget  # noqa: E402,F401
from tasks.steering.models import SteerMessage  # noqa: E402,F401
from tasks.verification.models import Verification  # noqa: E402,F401
