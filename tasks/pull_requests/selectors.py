"""Reading pull-request records (the pages and the API poll the same record)."""

from __future__ import annotations

from tasks.models import Attempt
from tasks.pull_requests.models import PullRequestRecord


def pull_request_for_attempt(attempt_id: int) -> PullRequestRecord | None:
    """The attempt's pull-request record, if Create PR was ever pressed for it."""
    return PullRequestRecord.objects.filter(attempt_id=attempt_id).first()


def open_parent_pull_request(attempt: Attempt) -> PullRequestRecord | None:
    """The open pull request a follow-up would update: its parent attempt's record when that
    is open on GitHub (as last seen), else None (the attempt opens a PR of its own)."""
    if attempt.parent_id is None:
        return None
    return PullRequestRecord.objects.filter(
        attempt_id=attempt.parent_id, state=PullRequestRecord.State.OPEN, number__isnull=False,
    ).exclude(head_sha="").first()


def pushed_parent_record(attempt: Attempt) -> PullRequestRecord | None:
    """The record of the parent's "Push to branch", when the parent's commit went onto the
    task's branch: a follow-up then starts from the parent's base commit (its patch stays the
    whole change) and its own push goes on top of that commit."""
    if attempt.parent_id is None:
        return None
    return PullRequestRecord.objects.filter(
        attempt_id=attempt.parent_id, pushed_to_branch=True).exclude(head_sha="").first()
