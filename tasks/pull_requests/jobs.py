"""The Celery job that opens a reserved pull request (too slow for a request).

Found by `app.autodiscover_tasks([..., "tasks.pull_requests"], related_name="jobs")` in
codexweb/celery.py. The job kept its name from when it lived in repos/jobs.py, so jobs already
queued under that name still run.
"""

from __future__ import annotations

from celery import shared_task

from tasks.pull_requests.services import pull_request_open


@shared_task(name="repos.open_pull_request", acks_late=True)
def open_pull_request(record_id: int) -> None:
    """Do the git and GitHub work of a reserved PullRequestRecord (idempotent)."""
    pull_request_open(record_id=record_id)
