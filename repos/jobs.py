"""Celery jobs for GitHub work that is too slow for a request. Each takes an id.

Register with `app.autodiscover_tasks(["tasks", "repos"], related_name="jobs")` in
codexweb/celery.py.
"""

from __future__ import annotations

import logging

from celery import shared_task

from repos.github import GitHubError
from repos.models_github import GitHubCredential
from repos.pulls import pull_request_open
from repos.sync import repositories_sync

logger = logging.getLogger(__name__)


@shared_task(name="repos.sync_repositories", acks_late=True)
def sync_repositories(credential_id: int) -> None:
    """Sync one person's catalog; failures are kept in `credential.sync_error` for the page."""
    credential = GitHubCredential.objects.filter(pk=credential_id).first()
    if credential is None:
        return
    try:
        repositories_sync(credential=credential)
    except GitHubError as exc:
        logger.info("repository sync for %s stopped: %s", credential, exc)


@shared_task(name="repos.open_pull_request", acks_late=True)
def open_pull_request(record_id: int) -> None:
    """Do the git and GitHub work of a reserved PullRequestRecord (idempotent)."""
    pull_request_open(record_id=record_id)
