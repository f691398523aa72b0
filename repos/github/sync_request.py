"""Asking for a repository sync (after sign-in, or "Refresh from GitHub") and reporting on it.

A request marks the credential (`sync_requested_at`) and enqueues repos.jobs.sync_repositories
after the transaction commits; the job clears the mark when it ends, whatever happened. A mark
older than SYNC_STALE_AFTER is ignored (the worker died), so a person can always ask again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from repos.github.models import GitHubCredential

SYNC_STALE_AFTER = timedelta(minutes=15)
logger = logging.getLogger(__name__)


def _enqueue(credential_id: int) -> None:
    from repos.jobs import sync_repositories  # the job module imports the sync services

    try:
        sync_repositories.delay(credential_id)
    except OperationalError:
        # No broker: signing in must still work; the page offers "Refresh from GitHub" again.
        logger.warning("could not enqueue a repository sync for credential %s", credential_id,
                       exc_info=True)
        repositories_sync_finished(credential_id=credential_id)


def sync_running(credential: GitHubCredential) -> bool:
    """A sync was asked for recently and has not finished."""
    requested = credential.sync_requested_at
    return requested is not None and requested > timezone.now() - SYNC_STALE_AFTER


def repositories_sync_request(*, credential: GitHubCredential) -> bool:
    """Enqueue a sync of the person's catalog after commit. False when one is already under way
    or the token is known to be refused (they must sign in again first); nothing is enqueued then.
    """
    if credential.invalid_at is not None:
        return False
    now = timezone.now()
    claimed = GitHubCredential.objects.filter(pk=credential.pk, invalid_at=None).exclude(
        sync_requested_at__gt=now - SYNC_STALE_AFTER
    ).update(sync_requested_at=now)
    if not claimed:
        return False
    credential.sync_requested_at = now
    transaction.on_commit(partial(_enqueue, credential.pk))
    return True


def repositories_sync_finished(*, credential_id: int) -> None:
    """The job ended (well or not): the credential no longer shows a sync under way."""
    GitHubCredential.objects.filter(pk=credential_id).update(sync_requested_at=None)


@dataclass(frozen=True)
class SyncStatus:
    """What the repositories page says about one credential's catalog."""

    provider: str
    provider_name: str
    login: str
    state: str  # "running", "error", "sign-in", "synced", "never"
    message: str
    synced_at: datetime | None
    repository_count: int

    def as_json(self) -> dict:
        return {
            "provider": self.provider, "provider_name": self.provider_name, "login": self.login,
            "state": self.state, "message": self.message, "repositories": self.repository_count,
            "synced_at": self.synced_at.isoformat() if self.synced_at else None,
        }


def sync_status(credential: GitHubCredential) -> SyncStatus:
    name = credential.get_provider_display()
    if credential.invalid_at is not None:
        state = "sign-in"
        message = (f"Your {name} sign-in has expired or was revoked. Sign in again with {name} "
                   "to refresh your repositories.")
    elif sync_running(credential):
        state, message = "running", f"Fetching your repositories from {name}…"
    elif credential.sync_error:
        state, message = "error", credential.sync_error
    elif credential.synced_at is not None:
        state, message = "synced", ""
    else:
        state, message = "never", f"Your repositories have not been fetched from {name} yet."
    return SyncStatus(
        provider=credential.provider, provider_name=name, login=credential.login, state=state,
        message=message, synced_at=credential.synced_at,
        repository_count=credential.repositories.count(),
    )
