"""social-auth pipeline steps (listed in settings.SOCIAL_AUTH_PIPELINE)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from codexweb.accounts.services import personal_team_ensure

TOKEN_KEYS = ("access_token", "refresh_token")
logger = logging.getLogger("codexweb.accounts.signin")


def enforce_signin_policy(*, backend: Any, strategy: Any, response: dict | None = None,
                          user: Any = None, **_: Any) -> dict[str, Any]:
    """Stop a sign-in the operator's SIGNIN_POLICY does not admit, before any account exists.

    Raises SignInRefused (the middleware shows the refusal page). Returns the invitations that
    admitted a new person, for `ensure_team` to accept.
    """
    from codexweb.accounts.signin_policy import (
        Admission,
        Newcomer,
        SignInRefused,
        invite_token_from_next,
        signin_admission,
    )

    request_user = getattr(strategy.request, "user", None)
    if request_user is not None and request_user.is_authenticated:
        return {}  # connecting GitHub to an account that is already signed in
    response = response or {}
    newcomer = Newcomer(
        login=str(response.get("login", "")),
        verified_emails=[str(e.get("email", "")) for e in response.get("emails") or []
                         if isinstance(e, dict) and e.get("verified")],
        link_token=invite_token_from_next(str(strategy.session_get("next") or "")),
    )

    def organizations() -> list[str]:
        from repos.github.client import GitHubClient

        return GitHubClient(str(response.get("access_token", "")),
                            provider=backend.name).organizations()

    decision = signin_admission(policy=settings.SIGNIN_POLICY, newcomer=newcomer,
                                existing=user is not None, organizations=organizations)
    if not isinstance(decision, Admission):
        logger.warning("sign-in refused (%s policy): %s login=%s", settings.SIGNIN_POLICY,
                       backend.name, newcomer.login)
        raise SignInRefused(backend, decision)
    return {"signin_invites": decision.invites, "signin_own_team": decision.own_team}


def ensure_team(*, user: Any = None, signin_invites: list[int] | None = None,
                signin_own_team: bool = True, **_: Any) -> None:
    """Put the person in a team: the teams whose invitations admitted them (accepted now), else a
    team of their own when the policy gives one (`enforce_signin_policy`); otherwise they sign in
    to no team and see their open invitations."""
    if user is None:
        return
    if signin_invites:
        from codexweb.accounts.invites import InviteError, invite_accept
        from codexweb.accounts.models import Invite

        for invite in Invite.objects.filter(pk__in=signin_invites):
            try:
                invite_accept(invite=invite, user=user)
            except InviteError:
                continue  # used meanwhile, or already a member: the team page says so
    if signin_own_team:
        personal_team_ensure(user=user)


def store_github_token(*, backend: Any, user: Any = None, response: dict | None = None,
                       social: Any = None, **_: Any) -> None:
    """Keep the OAuth token only encrypted (repos.GitHubCredential), never in clear text.

    social-auth's `load_extra_data` copies the token into `UserSocialAuth.extra_data`, a plain
    JSON column; this step moves it into the encrypted credential and removes it from there.
    Then a sync of the person's repositories is enqueued (after commit).
    """
    if user is None or not response or not response.get("access_token"):
        return
    from repos.github.credentials import credential_store
    from repos.github.sync_request import repositories_sync_request
    from repos.github.token_refresh import TokenGrant

    credential = credential_store(
        user=user,
        provider=backend.name,
        login=str(response.get("login", "")),
        external_id=int(response["id"]),
        token=str(response["access_token"]),
        scopes=str(response.get("scope", "")),
        grant=TokenGrant.from_response(response),  # a GitHub App's token expires: its refresh
    )
    # Fetch the repositories they can reach in the background, once this sign-in is saved.
    repositories_sync_request(credential=credential)
    if social is not None and any(key in social.extra_data for key in TOKEN_KEYS):
        for key in TOKEN_KEYS:
            social.extra_data.pop(key, None)
        social.save(update_fields=["extra_data"])
