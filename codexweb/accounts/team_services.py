"""Writes for a team's members and named domain lists; every change is audited.

The last admin of a team can be neither demoted nor removed, so a team always has someone who
can manage it. Checks and writes happen under a row lock on the team's memberships.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from codexweb.accounts.models import DomainList, Membership, Team
from codexweb.audit import actions
from codexweb.audit.services import audit_record
from repos.domains import parse_domains


class TeamError(ValueError):
    """A team change that cannot be made; the message is for the person."""


def _admins_locked(team: Team) -> list[int]:
    rows = Membership.objects.select_for_update().filter(team=team, role=Membership.Role.ADMIN)
    return [m.pk for m in rows]


@transaction.atomic
def membership_role_change(*, membership: Membership, role: str, actor: User) -> Membership:
    """Give a member another role. Raises TeamError for the team's last admin."""
    if role not in Membership.Role.values:
        raise TeamError(f"Unknown role {role!r}.")
    admins = _admins_locked(membership.team)
    membership.refresh_from_db()
    if membership.role == role:
        return membership
    if membership.role == Membership.Role.ADMIN and admins == [membership.pk]:
        raise TeamError("This is the team's last admin; make someone else an admin first.")
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        team=membership.team,
        actor=actor,
        action=actions.MEMBER_ROLE_CHANGED,
        target=membership.user.get_username(),
        changes={"role": [old, role]},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User) -> None:
    """Remove a person from the team (or let them leave). Raises TeamError for the last admin."""
    admins = _admins_locked(membership.team)
    if membership.pk in admins and len(admins) == 1:
        raise TeamError("The last admin cannot be removed; make someone else an admin first.")
    team, username, role = membership.team, membership.user.get_username(), membership.role
    membership.delete()
    audit_record(
        team=team, actor=actor, action=actions.MEMBER_REMOVED, target=username,
        changes={"role": role},
    )


@transaction.atomic
def domain_list_save(
    *,
    team: Team,
    actor: User,
    name: str,
    domains: str | list[str],
    domain_list: DomainList | None = None,
) -> DomainList:
    """Create or update a named list. Raises TeamError (bad name) or DomainError (bad domain)."""
    name = name.strip()
    if not name:
        raise TeamError("Give the list a name.")
    clean = parse_domains(domains)
    clash = DomainList.objects.filter(team=team, name__iexact=name)
    if domain_list is not None:
        clash = clash.exclude(pk=domain_list.pk)
    if clash.exists():
        raise TeamError(f"The team already has a list named {name!r}.")
    if domain_list is None:
        domain_list = DomainList.objects.create(team=team, name=name, domains=clean)
        audit_record(
            team=team, actor=actor, action=actions.DOMAIN_LIST_CREATED, target=name,
            changes={"domains": clean},
        )
        return domain_list
    before = list(domain_list.domains)
    changes: dict[str, object] = {}
    if domain_list.name != name:
        changes["name"] = [domain_list.name, name]
    added = [d for d in clean if d not in before]
    removed = [d for d in before if d not in clean]
    if added:
        changes["domains_added"] = added
    if removed:
        changes["domains_removed"] = removed
    domain_list.name, domain_list.domains = name, clean
    domain_list.save(update_fields=["name", "domains", "updated_at"])
    if changes:
        audit_record(
            team=team, actor=actor, action=actions.DOMAIN_LIST_UPDATED, target=name, changes=changes
        )
    return domain_list


@transaction.atomic
def domain_list_delete(*, domain_list: DomainList, actor: User) -> None:
    used_by = sorted(
        {str(e.repository) for e in domain_list.environments.select_related("repository")}
        | {str(e.repository) for e in domain_list.setup_environments.select_related("repository")}
    )
    team, name = domain_list.team, domain_list.name
    domain_list.delete()
    audit_record(
        team=team, actor=actor, action=actions.DOMAIN_LIST_DELETED, target=name,
        changes={"was_used_by": used_by},
    )
