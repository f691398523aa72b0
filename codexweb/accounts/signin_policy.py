"""Who may sign in with GitHub: the operator's decision (SIGNIN_POLICY), not "anyone on GitHub".

- `invite-only` (default): a person new to this install needs an open invitation that names their
  GitHub login or a verified e-mail address of theirs, or the invitation link they came through.
  People who already have an account sign in as before, but someone removed from every team gets
  no new team of their own. The first account of an empty install is admitted (like the first-run
  setup page, which is open until an account exists) and gets a team.
- `orgs`: every GitHub sign-in needs membership in one of SIGNIN_GITHUB_ALLOWED_ORGS, asked of
  GitHub with the person's own token (GET /user/orgs, needs the `read:org` scope we request).
- `open`: anyone with an account on the configured GitHub.

Local accounts are made by administrators, so they are not subject to this policy. Connecting
GitHub to an account that is already signed in is not a sign-in either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from social_core.exceptions import AuthPolicyError

from codexweb.accounts.invites import invite_by_token, invite_is_open
from codexweb.accounts.models import Invite

INVITE_ONLY = "invite-only"
ORGS = "orgs"
OPEN = "open"

NOT_INVITED = (
    "This codexweb admits people by invitation only, and there is no open invitation for the "
    "GitHub account {login}. Ask a team admin to invite {login} (Team → Invite), then sign in "
    "again, or open the invitation link they sent you."
)
NOT_IN_ORGS = (
    "This codexweb admits members of {orgs} only, and GitHub does not list {login} as a member "
    "of any of them. If you are a member, make sure you granted this app access to the "
    "organization when GitHub asked (or ask an organization owner to approve it), then sign in "
    "again."
)
ORGS_UNCHECKED = (
    "GitHub could not tell us which organizations {login} belongs to ({detail}), so the sign-in "
    "was stopped. Please try again in a few minutes."
)

_INVITE_PATH = re.compile(r"^/accounts/invite/(?P<token>[A-Za-z0-9_-]{1,100})/?$")


class SignInRefused(AuthPolicyError):
    """The policy refuses this sign-in; `reason` is the sentence the refusal page shows."""

    def __init__(self, backend: Any, reason: str) -> None:
        super().__init__(backend, code="authentication_disallowed", stage="pipeline")
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class Admission:
    """A sign-in the policy allows. `invites`: the invitations that admitted a new person (they
    join those teams). `own_team`: whether someone in no team gets a team of their own (and with
    it a model budget and containers); under invite-only only the install's first account does."""

    invites: list[int] = field(default_factory=list)
    own_team: bool = True


@dataclass(frozen=True)
class Newcomer:
    """What GitHub told us about a person signing in, and the invitation link they followed."""

    login: str
    verified_emails: list[str]
    link_token: str = ""


def invites_admitting(newcomer: Newcomer) -> list[Invite]:
    """Open invitations that name this person (GitHub login, verified e-mail) or whose link they
    followed to the sign-in page."""
    named = Q(kind=Invite.Kind.GITHUB, invitee=newcomer.login.lower())
    emails = [e.lower() for e in newcomer.verified_emails if e]
    if emails:
        named |= Q(kind=Invite.Kind.EMAIL, invitee__in=emails)
    found = list(
        Invite.objects.filter(
            named, accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
        ).order_by("created_at")
    )
    linked = invite_by_token(newcomer.link_token) if newcomer.link_token else None
    if linked is not None and invite_is_open(linked) and linked not in found:
        found.append(linked)
    return found


def signin_admission(
    *, policy: str, newcomer: Newcomer, existing: bool, organizations: Any
) -> Admission | str:
    """The policy's decision: an Admission, or the sentence saying why not.

    `existing`: the person already has an account here. `organizations()` returns the logins of
    their GitHub organizations (called only for the `orgs` policy; may raise GitHubError).
    """
    if policy == OPEN:
        return Admission()
    if policy == ORGS:
        from repos.github.client import GitHubError

        allowed = set(settings.SIGNIN_GITHUB_ALLOWED_ORGS)
        try:
            theirs = {org.lower() for org in organizations()}
        except GitHubError as exc:
            return ORGS_UNCHECKED.format(login=newcomer.login, detail=str(exc).rstrip("."))
        if theirs & allowed:
            return Admission()
        return NOT_IN_ORGS.format(login=newcomer.login, orgs=", ".join(sorted(allowed)))
    if existing:
        return Admission(own_team=False)
    if not get_user_model().objects.exists():
        return Admission()
    invites = invites_admitting(newcomer)
    if invites:
        return Admission(invites=[invite.pk for invite in invites], own_team=False)
    return NOT_INVITED.format(login=newcomer.login)


def invite_token_from_next(next_url: str) -> str:
    """The invitation token when the sign-in started from an invitation link, else ''."""
    match = _INVITE_PATH.match(next_url.split("?", 1)[0]) if next_url else None
    return match.group("token") if match else ""
