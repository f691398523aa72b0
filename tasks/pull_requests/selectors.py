"""Reading pull-request records (the pages and the API poll the same record)."""

from __future__ import annotations

from tasks.pull_requests.models import PullRequestRecord


def pull_request_for_attempt(attempt_id: int) -> PullRequestRecord | None:
    """The attempt's pull-request record, if Create PR was ever pressed for it."""
    return PullRequestRecord.objects.filter(attempt_id=attempt_id).first()
