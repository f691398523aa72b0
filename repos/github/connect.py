"""Connecting a GitHub repository to a team: team admins choose from what GitHub lets them see."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from codexweb.accounts.models import Team
from codexweb.accounts.selectors import is_team_admin
from codexweb.audit import actions as audit_actions
from codexweb.audit.services import audit_record
from repos.github.client import web_base_url
from repos.github.models import GitHubRepositoryAccess
from repos.models import Environment, Repository


class ConnectError(ValueError):
    """The repository cannot be connected; the message says why."""


@transaction.atomic
def github_repository_connect(*, team: Team, actor: User,
                              access: GitHubRepositoryAccess) -> Repository:
    """Add a repository from the actor's synced catalog to `team` (admins only).

    Idempotent: connecting an already connected repository returns it (details refreshed).
    Raises ConnectError for a non-admin or a catalog row that is not the actor's.
    """
    if not is_team_admin(actor, team):
        raise ConnectError("Only team admins can connect repositories.")
    credential = access.credential
    if credential.user_id != actor.pk or credential.invalid_at is not None:
        raise ConnectError("Sign in with GitHub again, then choose the repository.")
    fields = repository_fields(access, credential.provider)
    existing = Repository.objects.filter(
        team=team, provider=credential.provider, external_id=access.external_id
    ).first() or Repository.objects.filter(
        team=team, provider=credential.provider, owner__iexact=access.owner,
        name__iexact=access.name,
    ).first()
    if existing is not None:
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.external_id = access.external_id
        if existing.disconnected_at is not None:
            existing.disconnected_at = None
            audit_record(team=team, actor=actor, action=audit_actions.REPOSITORY_CONNECTED,
                         target=existing.full_name, changes={"provider": existing.provider})
        existing.save()
        return existing
    repository = Repository.objects.create(
        team=team, provider=credential.provider, external_id=access.external_id, **fields
    )
    Environment.objects.create(repository=repository)
    audit_record(team=team, actor=actor, action=audit_actions.REPOSITORY_CONNECTED,
                 target=repository.full_name, changes={"provider": repository.provider})
    return repository


def repository_fields(access: GitHubRepositoryAccess, provider: str) -> dict[str, str]:
    """The Repository fields a catalog row determines (all but team, provider, external_id)."""
    return {
        "owner": access.owner,
        "name": access.name,
        "default_branch": access.default_branch,
        "visibility": access.visibility
        if access.visibility in Repository.Visibility.values else Repository.Visibility.PRIVATE,
        "clone_url": f"{web_base_url(provider)}/{access.full_name}.git",
    }


@transaction.atomic
def repository_disconnect(*, team: Team, actor: User, repository: Repository) -> int:
    """Take a repository out of `team`'s picker and lists (admins only); its tasks, their
    history and its environment stay, and connecting it again brings it back.

    Returns how many tasks it has. Raises ConnectError for a non-admin or a repository of
    another team. The repository itself, on GitHub or on disk, is not touched.
    """
    if repository.team_id != team.pk or not is_team_admin(actor, team):
        raise ConnectError("Only team admins can disconnect repositories.")
    tasks = repository.tasks.count()
    Repository.objects.filter(pk=repository.pk).update(disconnected_at=timezone.now())
    audit_record(team=team, actor=actor, action=audit_actions.REPOSITORY_DISCONNECTED,
                 target=repository.full_name, changes={"tasks_kept": tasks})
    return tasks
