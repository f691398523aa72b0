"""Celery jobs for repository work that is too slow for a request. Each takes an id.

Opening a pull request is tasks/pull_requests/jobs.py (the record belongs to an attempt).

Registered by `app.autodiscover_tasks([..., "repos", ...], related_name="jobs")` in
codexweb/celery.py.
"""

from __future__ import annotations

import logging
from pathlib import Path

from celery import shared_task
from django.conf import settings

from repos.git.branches import mirror_refresh
from repos.git.mirror import mirror_path
from repos.git.mirror_gc import mirrors_collect, mirrors_remove_unused
from repos.github.client import GitHubError
from repos.github.models import GitHubCredential
from repos.github.organizations import organizations_apply
from repos.github.sync import repositories_sync
from repos.github.sync_request import repositories_sync_finished
from repos.models import Repository
from repos.setup_runs.flow import setup_run_execute

logger = logging.getLogger(__name__)


@shared_task(name="repos.sync_repositories", acks_late=True)
def sync_repositories(credential_id: int) -> None:
    """Sync one person's catalog, then connect new repositories of organizations their teams
    connected; failures are kept in `credential.sync_error` for the page."""
    credential = GitHubCredential.objects.filter(pk=credential_id).first()
    if credential is None:
        return
    try:
        repositories_sync(credential=credential)
        organizations_apply(credential=credential)
    except GitHubError as exc:
        logger.info("repository sync for %s stopped: %s", credential, exc)
    finally:
        repositories_sync_finished(credential_id=credential_id)


@shared_task(name="repos.refresh_mirror", acks_late=True)
def refresh_mirror(repository_id: int, user_id: int) -> None:
    """Fetch the repository's mirror with the person's token, unless it is fresh already."""
    mirror_refresh(repository_id=repository_id, user_id=user_id)


@shared_task(name="repos.run_setup", acks_late=True)
def run_setup(run_id: int) -> None:
    """Run a queued "run setup now" (repos/setup_runs/flow.py); idempotent through its claim."""
    setup_run_execute(run_id=run_id)


@shared_task(name="repos.mirrors_gc", acks_late=True)
def mirrors_gc() -> None:
    """Periodic (Celery beat): drop force-pushed-away commits from a bounded batch of mirrors,
    and delete per-registration mirrors no repository uses any more."""
    root = Path(settings.GIT_MIRROR_ROOT)
    registered = Repository.objects.filter(provider=Repository.Provider.GIT)
    in_use = {mirror_path(repository) for repository in registered.iterator()}
    removed = mirrors_remove_unused(root=root, in_use=in_use, limit=settings.MIRROR_GC_BATCH)
    collected = mirrors_collect(root=root, limit=settings.MIRROR_GC_BATCH)
    if collected or removed:
        logger.info("collected %d mirrors, removed %d unused", len(collected), len(removed))
