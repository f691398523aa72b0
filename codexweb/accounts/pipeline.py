"""social-auth pipeline steps (listed in settings.SOCIAL_AUTH_PIPELINE)."""

from __future__ import annotations

from typing import Any

from codexweb.accounts.services import personal_team_ensure

TOKEN_KEYS = ("access_token", "refresh_token")


def ensure_team(*, user: Any = None, **_: Any) -> None:
    """Everyone who signs in belongs to at least one team."""
    if user is not None:
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
    from repos.credentials import credential_store
    from repos.sync_request import repositories_sync_request

    credential = credential_store(
        user=user,
        provider=backend.name,
        login=str(response.get("login", "")),
        external_id=int(response["id"]),
        token=str(response["access_token"]),
        scopes=str(response.get("scope", "")),
    )
    # Fetch the repositories they can reach in the background, once this sign-in is saved.
    repositories_sync_request(credential=credential)
    if social is not None and any(key in social.extra_data for key in TOKEN_KEYS):
        for key in TOKEN_KEYS:
            social.extra_data.pop(key, None)
        social.save(update_fields=["extra_data"])
