"""May this person use this repository? GitHub decides; we remember its answer briefly.

A person sees and uses only repositories GitHub says they can; Code tasks and pull requests need
push access. The answer comes from their synced catalog when it is younger than
GITHUB_ACCESS_TTL_SECONDS, otherwise from GET /repos/{owner}/{repo}, which refreshes it.

`require_repository_access` is the one check every action on an existing task runs for the person
acting (follow-up, retry, Create PR): their own credential, never the task author's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from codexweb.accounts.selectors import membership_for
from repos.github.client import GitHubAuthError, GitHubError, GitHubNotFound
from repos.github.credentials import client_for, credential_for, credential_invalidate
from repos.github.models import GitHubRepositoryAccess
from repos.github.sync import access_fields
from repos.models import Repository

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Access:
    can_read: bool
    can_push: bool
    reason: str = ""  # why not, in words for the person


NO_ACCOUNT = "Sign in with {name} to use repositories from it."
NOT_VISIBLE = "{name} says you cannot access {repo}."
NO_PUSH = ("{name} says you cannot push to {repo}; Code tasks and pull requests need push access. "
           "Pull requests are opened from a branch of the repository itself (there is no fork "
           "flow): ask its owners for write access.")


def repository_access(user: User, repository: Repository) -> Access:
    """What GitHub lets `user` do with `repository` (plain git repositories: everything).

    Raises GitHubAuthError when the person's token is refused (they must sign in again) and
    other GitHubError subclasses (rate limit, outage) with a message to show.
    """
    if not repository.is_on_github:
        return Access(can_read=True, can_push=True)
    name = repository.get_provider_display()
    credential = credential_for(user, repository.provider)
    if credential is None:
        return Access(False, False, NO_ACCOUNT.format(name=name))
    ttl = timedelta(seconds=settings.GITHUB_ACCESS_TTL_SECONDS)
    rows = GitHubRepositoryAccess.objects.filter(credential=credential)
    row = (rows.filter(external_id=repository.external_id).first()
           if repository.external_id else None) or rows.filter(
        owner__iexact=repository.owner, name__iexact=repository.name).first()
    if row is None or row.checked_at < timezone.now() - ttl:
        try:
            info = client_for(credential).repository(repository.owner, repository.name)
        except GitHubNotFound:
            rows.filter(owner__iexact=repository.owner, name__iexact=repository.name).delete()
            return Access(False, False, NOT_VISIBLE.format(name=name, repo=repository))
        except GitHubAuthError:
            credential_invalidate(credential)
            raise
        row, _ = GitHubRepositoryAccess.objects.update_or_create(
            credential=credential, external_id=info.external_id, defaults=access_fields(info)
        )
    if (row.owner, row.name) != (repository.owner, repository.name):
        _follow_move(repository, row)
    if not row.can_push:
        return Access(True, False, NO_PUSH.format(name=name, repo=repository))
    return Access(True, True)


def _follow_move(repository: Repository, row: GitHubRepositoryAccess) -> None:
    """GitHub knows the repository by another name now (renamed or transferred: it answered 301
    to the old one, or the sync listed the new one under the same id). Keep the new name, so git
    and every later call use it, unless it is not the same repository or the team already has
    one by that name."""
    if repository.external_id not in (None, row.external_id):
        return
    if row.full_name.lower() == repository.full_name.lower():
        return  # the same name in other letters: GitHub answers to both
    taken = Repository.objects.filter(
        team_id=repository.team_id, provider=repository.provider, owner__iexact=row.owner,
        name__iexact=row.name).exclude(pk=repository.pk).exists()
    if taken:
        return
    logger.info("repository %s moved to %s/%s on GitHub", repository, row.owner, row.name)
    Repository.objects.filter(pk=repository.pk).update(owner=row.owner, name=row.name,
                                                       external_id=row.external_id)
    repository.owner, repository.name = row.owner, row.name
    repository.external_id = row.external_id


def task_access_problem(user: User, repository: Repository, *, needs_push: bool) -> str | None:
    """Why `user` may not start a task on `repository` now, in words for them; None if they may.

    Code tasks need push access, Ask tasks read access. A failed check (rate limit, outage) is a
    problem too, so nothing starts unchecked. Raises GitHubAuthError (sign in again).
    """
    try:
        access = repository_access(user, repository)
    except GitHubAuthError:
        raise
    except GitHubError as exc:
        return f"Could not check your access with {repository.get_provider_display()}: {exc}"
    if not access.can_read or (needs_push and not access.can_push):
        return access.reason
    return None


def task_access_check(user: User, repository: Repository, mode: str) -> str | None:
    """The `access_check` for tasks.services.task_create: Code tasks need push access."""
    return task_access_problem(user, repository, needs_push=mode == "code")


class RepositoryAccessDenied(Exception):
    """The person may not act on the repository; the message says why, in words for them."""


NOT_A_MEMBER = "You are not a member of the team that owns {repo}."


def require_repository_access(user: User, repository: Repository, *, write: bool) -> None:
    """Raise RepositoryAccessDenied unless `user` may read (`write`: push to) `repository` now.

    The rule for the person acting, with their own credential: they must belong to the team that
    owns the repository, and for a GitHub repository GitHub must let them read it (push, with
    `write`). Registered-URL repositories have no per-person credential, so team membership is
    the whole rule. A check that cannot be made (rate limit, outage) denies too, so nothing runs
    unchecked. Raises GitHubAuthError when the person's token is refused (sign in again).
    """
    if not user.is_authenticated or membership_for(user, repository.team) is None:
        raise RepositoryAccessDenied(NOT_A_MEMBER.format(repo=repository))
    problem = task_access_problem(user, repository, needs_push=write)
    if problem:
        raise RepositoryAccessDenied(problem)
