"""Connecting a GitHub repository to a team: team admins choose from what GitHub lets them see."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from codexweb.accounts.models import Team
from codexweb.accounts.selectors import is_team_admin
from repos.github import web_base_url
from repos.models import Environment, Repository
from repos.models_github import GitHubRepositoryAccess


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
    fields = {
        "owner": access.owner,
        "name": access.name,
        "default_branch": access.default_branch,
        "visibility": access.visibility
        if access.visibility in Repository.Visibility.values else Repository.Visibility.PRIVATE,
        "clone_url": f"{web_base_url(credential.provider)}/{access.full_name}.git",
    }
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
        existing.save()
        return existing
    repository = Repository.objects.create(
        team=team, provider=credential.provider, external_id=access.external_id, **fields
    )
    Environment.objects.create(repository=repository)
    return repository
