"""Connecting a whole GitHub organization (or user account) to a team.

The admin's choice is kept as a ConnectedOrganization; its repositories in the catalog of any
admin of the team are connected now and after every sync of such a catalog (repos/jobs.py), so a
repository created on GitHub later shows up without anyone choosing it.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from codexweb.accounts.models import Membership, Team
from codexweb.accounts.selectors import is_team_admin
from codexweb.audit import actions as audit_actions
from codexweb.audit.services import audit_record
from repos.github.connect import ConnectError, repository_fields
from repos.github.models import ConnectedOrganization, GitHubCredential, GitHubRepositoryAccess
from repos.models import Environment, Repository


@transaction.atomic
def organization_connect(*, team: Team, actor: User, credential: GitHubCredential,
                         owner: str) -> tuple[ConnectedOrganization, int]:
    """Connect every repository of `owner` in the actor's catalog, and future ones (admins only).

    Returns the choice and how many repositories were newly connected. Raises ConnectError for
    a non-admin, someone else's or a refused credential, or an owner absent from the catalog.
    """
    if not is_team_admin(actor, team):
        raise ConnectError("Only team admins can connect repositories.")
    if credential.user_id != actor.pk or credential.invalid_at is not None:
        raise ConnectError("Sign in with GitHub again, then choose the organization.")
    rows = credential.repositories.filter(owner__iexact=owner.strip())
    first = rows.first()
    if first is None:
        raise ConnectError(f"None of your repositories on GitHub belong to {owner!r}.")
    link, _ = ConnectedOrganization.objects.get_or_create(
        team=team, provider=credential.provider, owner=first.owner,
        defaults={"connected_by": actor},
    )
    added = _connect_rows(team, credential.provider, rows)
    audit_record(team=team, actor=actor, action=audit_actions.REPOSITORY_CONNECTED,
                 target=f"{first.owner} (organization)",
                 changes={"provider": credential.provider, "repositories_added": added})
    return link, added


@transaction.atomic
def organization_disconnect(*, team: Team, actor: User, link: ConnectedOrganization) -> None:
    """Stop connecting new repositories of the organization (admins only). Repositories already
    connected stay; disconnect them one by one if they should go."""
    if link.team_id != team.pk or not is_team_admin(actor, team):
        raise ConnectError("Only team admins can disconnect organizations.")
    link.delete()
    audit_record(team=team, actor=actor, action=audit_actions.REPOSITORY_DISCONNECTED,
                 target=f"{link.owner} (organization)", changes={"provider": link.provider})


def organizations_apply(*, credential: GitHubCredential) -> int:
    """After a sync: connect new repositories of organizations connected to teams the
    credential's owner administers. Returns how many were connected (idempotent)."""
    if credential.invalid_at is not None:
        return 0
    admin_teams = Membership.objects.filter(
        user_id=credential.user_id, role=Membership.Role.ADMIN
    ).values("team_id")
    added = 0
    links = ConnectedOrganization.objects.filter(
        team_id__in=admin_teams, provider=credential.provider
    ).select_related("team")
    for link in links:
        with transaction.atomic():
            rows = credential.repositories.filter(owner__iexact=link.owner)
            added += _connect_rows(link.team, credential.provider, rows)
    return added


def _connect_rows(team: Team, provider: str, rows) -> int:
    """Create Repository rows (with environments) for catalog rows the team lacks, in bulk.
    Archived repositories are left out: nobody starts tasks on them."""
    connected = Repository.objects.filter(team=team, provider=provider)
    known_ids = set(connected.exclude(external_id=None).values_list("external_id", flat=True))
    known_names = {f"{o}/{n}".lower() for o, n in connected.values_list("owner", "name")}
    new: list[Repository] = []
    row: GitHubRepositoryAccess
    for row in rows.order_by("owner", "name").iterator():
        if row.archived or row.external_id in known_ids or row.full_name.lower() in known_names:
            continue
        new.append(Repository(team=team, provider=provider, external_id=row.external_id,
                              **repository_fields(row, provider)))
    created = Repository.objects.bulk_create(new, batch_size=500)
    Environment.objects.bulk_create(
        [Environment(repository=repository) for repository in created], batch_size=500
    )
    return len(created)
