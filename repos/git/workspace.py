"""A pristine checkout of a repository on the host, for a sandbox to copy in.

Attempts and "run setup now" both start here: the person's token (GitHub repositories only) is
used for the host-side mirror fetch and nothing else; the checkout has no credentials.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User

from repos.access import repository_access
from repos.git.branches import mirror_fetched_at
from repos.git.mirror import GitError, checkout_create, mirror_commit, mirror_update
from repos.git.token_renewal import with_renewed_token
from repos.github.credentials import credential_for, credential_token
from repos.models import Repository


class PrepareError(RuntimeError):
    """The workspace could not be prepared; the message is for the person."""


def workspace_checkout(
    *, repository: Repository, user: User, ref: str, dest: Path, need_push: bool = False
) -> str:
    """Fetch the host mirror as `user` and check `ref` out at `dest` (which must not exist).

    Returns the checked-out commit. Raises PrepareError when `user` may not read (or, with
    `need_push`, push to) the repository or `ref` is unknown; GitError when the fetch fails and
    repos.github.client.GitHubError when GitHub cannot say what the person may do.
    """
    mirror_ready_for(repository=repository, user=user, ref=ref, need_push=need_push)
    return checkout_ref(repository, ref=ref, dest=dest)


def mirror_ready_for(
    *, repository: Repository, user: User, ref: str, need_push: bool = False
) -> None:
    """Check that `user` may read (or push to) the repository, then bring the host mirror up to
    date with their token unless it is fresh and knows `ref`. Raises as workspace_checkout."""
    token, credential = None, None
    if repository.is_on_github:
        access = repository_access(user, repository)
        if not access.can_read or (need_push and not access.can_push):
            raise PrepareError(access.reason)
        credential = credential_for(user, repository.provider)
        token = credential_token(credential) if credential else None
    if not mirror_is_fresh(repository, ref):
        if credential is not None and token:
            with_renewed_token(credential, token,
                               lambda renewed: mirror_update(repository, token=renewed))
        else:
            mirror_update(repository, token=token)


def checkout_ref(repository: Repository, *, ref: str, dest: Path) -> str:
    """Check `ref` out of the mirror at `dest` (which must not exist); its commit. PrepareError
    when the mirror does not know `ref`."""
    try:
        return checkout_create(repository, ref=ref, dest=dest)
    except GitError as exc:
        raise PrepareError(
            f"Branch or commit {ref!r} was not found in {repository.full_name}."
        ) from exc


def mirror_is_fresh(repository: Repository, ref: str) -> bool:
    """Whether the mirror was fetched less than GIT_MIRROR_FRESH_SECONDS ago and already knows
    `ref`: then the attempt checks out without fetching again (best-of-N siblings, a retry and
    a follow-up started together share one fetch instead of queueing on the mirror's lock).
    Access is checked before, as for every checkout."""
    window = settings.GIT_MIRROR_FRESH_SECONDS
    fetched = mirror_fetched_at(repository) if window > 0 else None
    if fetched is None or not 0 <= time.time() - fetched.timestamp() < window:
        return False
    try:
        mirror_commit(repository, ref)
    except GitError:
        return False
    return True
