"""Sync the repositories a person can reach on GitHub into their catalog (GitHubRepositoryAccess).

Walks GET /user/repos page by page, following GitHub's Link headers (bounded), with one stored
ETag per page: an unchanged page answers 304, costs no rate limit, and keeps what we have.
Repositories that no longer appear are removed, so lost access is lost here too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from repos.github.client import MAX_PAGES, GitHubAuthError, GitHubError, RepoInfo
from repos.github.credentials import client_for, credential_invalidate
from repos.github.models import GitHubCredential, GitHubRepositoryAccess

logger = logging.getLogger(__name__)
STALE = datetime(2000, 1, 1, tzinfo=UTC)  # "checked long ago": the next access check asks GitHub


@dataclass(frozen=True)
class SyncResult:
    """What one sync did: the repositories the catalog holds now, and how many pages GitHub
    sent anew or answered 304 Not Modified for (those cost no rate limit)."""

    repositories: int
    pages_fetched: int
    pages_unchanged: int


def access_fields(info: RepoInfo) -> dict:
    return {
        "owner": info.owner, "name": info.name, "private": info.private,
        "visibility": info.visibility, "default_branch": info.default_branch,
        "archived": info.archived, "can_push": info.can_push, "can_admin": info.can_admin,
        "pushed_at": info.pushed_at,
        # A listing without `permissions` says nothing about pushing: a stale row makes the
        # access check ask GitHub about this repository (repos/access.py).
        "checked_at": timezone.now() if info.permissions_known else STALE,
    }


def repositories_sync(*, credential: GitHubCredential) -> SyncResult:
    """Bring the person's catalog in line with GitHub.

    Raises GitHubAuthError (token refused: the credential is marked invalid; sign in again),
    GitHubRateLimited (the message says when to retry; nothing already stored is lost) or
    another GitHubError. The error text is also kept in `credential.sync_error`.
    """
    try:
        client = client_for(credential)
        result = _walk(credential, client)
    except GitHubAuthError as exc:
        credential_invalidate(credential)
        _record_error(credential, str(exc))
        raise
    except GitHubError as exc:
        _record_error(credential, str(exc))
        raise
    return result


def _record_error(credential: GitHubCredential, message: str) -> None:
    GitHubCredential.objects.filter(pk=credential.pk).update(sync_error=message)
    credential.sync_error = message


def _walk(credential: GitHubCredential, client) -> SyncResult:
    previous: dict[str, dict] = dict(credential.sync_pages or {})
    pages: dict[str, dict] = {}
    fresh: dict[int, RepoInfo] = {}
    kept_ids: set[int] = set()
    fetched = unchanged = 0
    page: int | None = 1
    for _ in range(MAX_PAGES):
        if page is None or str(page) in pages:  # the last page, or a link back (a loop)
            break
        key = str(page)
        stored = previous.get(key, {})
        result = client.repositories_page(page, etag=stored.get("etag", ""))
        if result.repos is None:  # 304: this page is as we stored it
            unchanged += 1
            pages[key] = stored
            kept_ids.update(stored.get("ids", []))
            page = result.next_page or stored.get("next")
            continue
        fetched += 1
        for info in result.repos:
            fresh[info.external_id] = info
        pages[key] = {"etag": result.etag, "ids": [r.external_id for r in result.repos],
                      "next": result.next_page}
        page = result.next_page
    else:
        logger.warning("repository sync for %s stopped at %d pages", credential, MAX_PAGES)

    with transaction.atomic():
        existing = {
            row.external_id: row
            for row in GitHubRepositoryAccess.objects.select_for_update().filter(
                credential=credential
            )
        }
        to_create, to_update = [], []
        for external_id, info in fresh.items():
            fields = access_fields(info)
            row = existing.get(external_id)
            if row is None:
                to_create.append(GitHubRepositoryAccess(
                    credential=credential, external_id=external_id, **fields))
            else:
                for name, value in fields.items():
                    setattr(row, name, value)
                to_update.append(row)
        GitHubRepositoryAccess.objects.bulk_create(to_create, batch_size=500)
        if to_update:
            GitHubRepositoryAccess.objects.bulk_update(
                to_update, fields=list(access_fields(next(iter(fresh.values())))),
                batch_size=500,
            )
        seen = set(fresh) | kept_ids
        GitHubRepositoryAccess.objects.filter(credential=credential).exclude(
            external_id__in=seen
        ).delete()
        credential.sync_pages = pages
        credential.synced_at = timezone.now()
        credential.sync_error = ""
        credential.save(update_fields=["sync_pages", "synced_at", "sync_error", "updated_at"])
    return SyncResult(repositories=len(seen), pages_fetched=fetched, pages_unchanged=unchanged)
