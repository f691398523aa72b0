"""Invitations: by GitHub login, by e-mail, or a one-time link. All expire; each is used once.

The link token is random (256 bits) and stored only as its sha256, so the database never holds a
usable link. `invite_create` returns the clear token once, for the admin to copy.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from codexweb.accounts.models import Invite, Membership, Team
from codexweb.audit import actions
from codexweb.audit.services import audit_record

_GITHUB_LOGIN_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


class InviteError(ValueError):
    """The invitation cannot be created or used; the message is for the person."""


@dataclass(frozen=True)
class NewInvite:
    invite: Invite
    token: str  # shown once; only its hash is stored


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_lifetime() -> timedelta:
    return timedelta(hours=getattr(settings, "INVITE_EXPIRY_HOURS", 72))


def _clean_invitee(kind: str, invitee: str) -> str:
    invitee = invitee.strip()
    if kind == Invite.Kind.LINK:
        return ""
    if kind == Invite.Kind.EMAIL:
        try:
            validate_email(invitee)
        except ValidationError as exc:
            raise InviteError(f"{invitee!r} is not an e-mail address.") from exc
        return invitee.lower()
    if kind == Invite.Kind.GITHUB:
        login = invitee.removeprefix("@").lower()
        if not login or len(login) > 39 or not set(login) <= _GITHUB_LOGIN_CHARS or login[0] == "-":
            raise InviteError(f"{invitee!r} is not a GitHub login.")
        return login
    raise InviteError(f"Unknown kind of invitation {kind!r}.")


@transaction.atomic
def invite_create(
    *, team: Team, actor: User, kind: str, invitee: str = "", role: str = "member"
) -> NewInvite:
    if role not in Membership.Role.values:
        raise InviteError(f"Unknown role {role!r}.")
    clean = _clean_invitee(kind, invitee)
    if clean and _matching_members(team, kind, clean).exists():
        raise InviteError(f"{clean} is already a member of {team.name}.")
    token = secrets.token_urlsafe(32)
    invite = Invite.objects.create(
        team=team,
        kind=kind,
        invitee=clean,
        role=role,
        token_hash=token_hash(token),
        created_by=actor,
        expires_at=timezone.now() + invite_lifetime(),
    )
    audit_record(
        team=team,
        actor=actor,
        action=actions.MEMBER_INVITED,
        target=clean or "one-time link",
        changes={"kind": kind, "role": role, "expires_at": invite.expires_at.isoformat()},
    )
    return NewInvite(invite=invite, token=token)


def _matching_members(team: Team, kind: str, invitee: str) -> QuerySet[Membership]:
    members = Membership.objects.filter(team=team)
    if kind == Invite.Kind.EMAIL:
        return members.filter(user__email__iexact=invitee)
    return members.filter(
        Q(user__username__iexact=invitee) | Q(user__social_auth__extra_data__login__iexact=invitee)
    )


def _github_logins(user: User) -> set[str]:
    logins = {user.get_username().lower()}
    for social in user.social_auth.all():
        login = (social.extra_data or {}).get("login")
        if login:
            logins.add(str(login).lower())
    return logins


def user_matches_invite(user: User, invite: Invite) -> bool:
    """Whether this person is the one a github/email invite names (link invites: anyone)."""
    if invite.kind == Invite.Kind.LINK:
        return True
    if invite.kind == Invite.Kind.EMAIL:
        return bool(user.email) and user.email.lower() == invite.invitee
    return invite.invitee in _github_logins(user)


def invite_is_open(invite: Invite) -> bool:
    return (
        invite.accepted_at is None
        and invite.revoked_at is None
        and invite.expires_at > timezone.now()
    )


def invite_by_token(token: str) -> Invite | None:
    if not token or len(token) > 100:
        return None
    return Invite.objects.select_related("team").filter(token_hash=token_hash(token)).first()


@transaction.atomic
def invite_accept(*, invite: Invite, user: User) -> Membership:
    """Join the team. Raises InviteError when used, revoked, expired or meant for someone else."""
    invite = Invite.objects.select_for_update().select_related("team").get(pk=invite.pk)
    if invite.accepted_at is not None:
        raise InviteError("This invitation has already been used.")
    if invite.revoked_at is not None:
        raise InviteError("This invitation was withdrawn.")
    if invite.expires_at <= timezone.now():
        raise InviteError("This invitation has expired; ask a team admin for a new one.")
    if not user_matches_invite(user, invite):
        raise InviteError(f"This invitation is for {invite.invitee}, not for you.")
    if Membership.objects.filter(team=invite.team, user=user).exists():
        raise InviteError(f"You are already a member of {invite.team.name}.")
    membership = Membership.objects.create(team=invite.team, user=user, role=invite.role)
    invite.accepted_at, invite.accepted_by = timezone.now(), user
    invite.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(
        team=invite.team,
        actor=user,
        action=actions.MEMBER_JOINED,
        target=user.get_username(),
        changes={"role": invite.role, "invite": invite.get_kind_display()},
    )
    return membership


@transaction.atomic
def invite_revoke(*, invite: Invite, actor: User) -> None:
    if not invite_is_open(invite):
        raise InviteError("Only open invitations can be withdrawn.")
    invite.revoked_at = timezone.now()
    invite.save(update_fields=["revoked_at"])
    audit_record(
        team=invite.team,
        actor=actor,
        action=actions.INVITE_REVOKED,
        target=invite.invitee or "one-time link",
        changes={"kind": invite.kind},
    )


def open_invites(team: Team) -> QuerySet[Invite]:
    return Invite.objects.filter(
        team=team, accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
    ).select_related("created_by")


def invites_for_user(user: User) -> list[Invite]:
    """Open github/email invitations that name this person (shown on their team page)."""
    named = Q(kind=Invite.Kind.GITHUB, invitee__in=_github_logins(user))
    if user.email:
        named |= Q(kind=Invite.Kind.EMAIL, invitee=user.email.lower())
    return list(
        Invite.objects.filter(
            named, accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
        )
        .exclude(team__memberships__user=user)
        .select_related("team")
    )
