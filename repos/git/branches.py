"""Branches for the composer, read from the host's mirror; stale mirrors are fetched by a job.

A request never waits for git fetch: it answers with what the mirror has (possibly nothing yet)
and says whether a refresh was started. The job re-checks freshness, so duplicates are cheap.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import transaction
from kombu.exceptions import OperationalError

from repos.git.mirror import GitError, mirror_branches, mirror_path, mirror_update
from repos.github.client import GitHubError
from repos.github.credentials import credential_for, credential_token
from repos.models import Repository

logger = logging.getLogger(__name__)

# At most one refresh per repository enqueued in this window (per cache).
ENQUEUE_WINDOW_SECONDS = 60


@dataclass(frozen=True)
class BranchList:
    branches: list[str]
    fetched_at: datetime | None  # when the mirror was last fetched; None: never
    refreshing: bool  # a fetch was started for this request (or recently)


def mirror_fetched_at(repository: Repository) -> datetime | None:
    """When the mirror was last fetched (git writes FETCH_HEAD on every fetch), or None."""
    try:
        marker = mirror_path(repository) / "FETCH_HEAD"
    except GitError:
        return None
    try:
        return datetime.fromtimestamp(marker.stat().st_mtime, tz=UTC)
    except OSError:
        return None


def _is_fresh(repository: Repository) -> bool:
    fetched = mirror_fetched_at(repository)
    return fetched is not None and (
        time.time() - fetched.timestamp() < settings.MIRROR_MAX_AGE_SECONDS
    )


def _refresh_key(repository_id: int) -> str:
    return f"repos:mirror-refresh:{repository_id}"


def _enqueue(repository_id: int, user_id: int) -> None:
    from repos.jobs import refresh_mirror  # the job module imports this one

    try:
        refresh_mirror.delay(repository_id, user_id)
    except OperationalError:
        # No broker: the branch list stays as the mirror has it; a later request tries again.
        logger.warning("could not enqueue a mirror refresh of repository %s", repository_id,
                       exc_info=True)
        cache.delete(_refresh_key(repository_id))


def branches_for(repository: Repository, *, user: User) -> BranchList:
    """The mirror's branches (default branch first); enqueues a fetch when the mirror is older
    than MIRROR_MAX_AGE_SECONDS. The caller has already authorized `user` for `repository`."""
    try:
        names = mirror_branches(repository)
    except GitError as exc:
        logger.warning("listing branches of %s failed: %s", repository, exc)
        names = []
    refreshing = False
    if not _is_fresh(repository):
        refreshing = True
        if cache.add(_refresh_key(repository.pk), user.pk, timeout=ENQUEUE_WINDOW_SECONDS):
            transaction.on_commit(partial(_enqueue, repository.pk, user.pk))
    return BranchList(branches=names, fetched_at=mirror_fetched_at(repository),
                      refreshing=refreshing)


def mirror_refresh(*, repository_id: int, user_id: int) -> Path | None:
    """Fetch the mirror unless it is fresh. GitHub repositories use the person's token (host
    only). Returns the mirror's path, or None when skipped or when fetching failed (logged)."""
    repository = Repository.objects.filter(pk=repository_id).first()
    user = User.objects.filter(pk=user_id).first()
    if repository is None or user is None or _is_fresh(repository):
        return None
    credential = credential_for(user, repository.provider) if repository.is_on_github else None
    if repository.is_on_github and (credential is None or credential.invalid_at is not None):
        return None
    try:
        # The token is renewed first if it expires soon (GitHub may be unreachable for that).
        token = credential_token(credential) if credential is not None else None
        return mirror_update(repository, token=token)
    except (GitError, GitHubError) as exc:
        logger.warning("refreshing the mirror of %s failed: %s", repository, exc)
        return None
    finally:
        cache.delete(_refresh_key(repository_id))
