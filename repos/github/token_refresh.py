"""The OAuth refresh exchange: a GitHub App's expiring user token renewed with its refresh token.

A GitHub App with expiring user tokens (the default for new GitHub Apps, and on GHES) signs
people in with a token that lives 8 hours, plus a refresh token that lives 6 months and works
once: https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens
The credential store (repos/github/credentials.py) decides when to call this and keeps the result.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from codexweb import host_trust
from repos.github.client import TIMEOUT_SECONDS, GitHubAuthError, GitHubError, web_base_url
from repos.github.models import Provider

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenGrant:
    """What GitHub's token endpoint answered: the token and, for an expiring one, its renewal."""

    access_token: str
    refresh_token: str = ""
    expires_in: int | None = None  # seconds
    refresh_expires_in: int | None = None

    @classmethod
    def from_response(cls, data: dict[str, Any]) -> TokenGrant:
        """From the OAuth token response (the sign-in's, or a refresh's)."""
        return cls(access_token=str(data.get("access_token") or ""),
                   refresh_token=str(data.get("refresh_token") or ""),
                   expires_in=_seconds(data.get("expires_in")),
                   refresh_expires_in=_seconds(data.get("refresh_token_expires_in")))


def _seconds(value: Any) -> int | None:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


def _client_credentials(provider: str) -> tuple[str, str]:
    if provider == Provider.GHES:
        return (settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_KEY,
                settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_SECRET)
    return settings.SOCIAL_AUTH_GITHUB_KEY, settings.SOCIAL_AUTH_GITHUB_SECRET


def refresh_exchange(provider: str, refresh_token: str) -> TokenGrant:
    """POST /login/oauth/access_token with grant_type=refresh_token.

    Raises GitHubAuthError when GitHub refuses the refresh token (expired, used, revoked: the
    person signs in again) and GitHubError when GitHub cannot be reached or refuses the app."""
    client_id, client_secret = _client_credentials(provider)
    url = f"{web_base_url(provider)}/login/oauth/access_token"
    try:
        response = httpx.post(url, headers={"Accept": "application/json"}, timeout=TIMEOUT_SECONDS,
                              verify=host_trust.ssl_context(),
                              data={"client_id": client_id, "client_secret": client_secret,
                                    "grant_type": "refresh_token",
                                    "refresh_token": refresh_token})
    except httpx.HTTPError as exc:
        raise GitHubError("GitHub could not be reached to renew your sign-in; please try again "
                          "in a minute.") from exc
    try:
        data = response.json() if response.status_code == 200 else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise GitHubError(f"GitHub is having trouble (it answered {response.status_code} when "
                          "renewing your sign-in); try again in a minute.")
    error = str(data.get("error") or "")
    if error in {"bad_refresh_token", "unauthorized"}:
        raise GitHubAuthError(provider)
    grant = TokenGrant.from_response(data)
    if error or not grant.access_token:
        logger.warning("GitHub refused to refresh a token (%s): %s", error or "no token",
                       data.get("error_description", ""))
        raise GitHubError("GitHub refused to renew your sign-in "
                          f"({error or 'no token in its answer'}); the administrator should check "
                          "the GitHub app's client id and secret.")
    return grant
