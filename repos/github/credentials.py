"""People's GitHub tokens: stored encrypted, handed out only for a call from the host.

A token GitHub refuses (401) is marked invalid and never used again until the person signs in
again, which stores a fresh one (`credential_store`). A GitHub App's expiring token is renewed
with its refresh token shortly before it expires (`credential_token`), so an 8-hour token never
turns into a sign-in prompt while the refresh token lives; and once more when GitHub refuses one
we believed valid (revoked early, a skewed clock, renewed by another app), the call then made
again with the new token (`credential_renew_refused`).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from codexweb import crypto
from repos.github.client import GitHubAuthError, GitHubClient
from repos.github.models import GitHubCredential, Provider
from repos.github.token_refresh import TokenGrant, refresh_exchange

# Renew a token this long before it expires, so a call (or a push) started now still finds it
# valid; a refresh token that expires within it is not worth trying.
REFRESH_MARGIN = timedelta(minutes=5)


@transaction.atomic
def credential_store(*, user: User, provider: str, login: str, external_id: int,
                     token: str, scopes: str = "",
                     grant: TokenGrant | None = None) -> GitHubCredential:
    """Save (or replace) the person's token for `provider`, encrypted; clears `invalid_at`.
    `grant` carries an expiring token's lifetime and refresh token (a GitHub App's sign-in)."""
    if provider not in Provider.values:
        raise ValueError(f"unknown GitHub provider {provider!r}")
    credential, _ = GitHubCredential.objects.select_for_update().get_or_create(
        user=user, provider=provider,
        defaults={"login": login, "external_id": external_id, "token_encrypted": ""},
    )
    if credential.external_id != external_id:
        # Another GitHub account: what we synced for the old one no longer applies.
        credential.repositories.all().delete()
        credential.sync_pages = {}
        credential.synced_at = None
    credential.login = login
    credential.external_id = external_id
    credential.scopes = scopes
    credential.invalid_at = None
    _seal_grant(credential, grant or TokenGrant(access_token=token))
    credential.save()
    return credential


def _seal_grant(credential: GitHubCredential, grant: TokenGrant) -> None:
    """Put the token (and its renewal, if it expires) on the credential, encrypted."""
    now = timezone.now()
    credential.seal(grant.access_token)
    expiring = grant.expires_in is not None
    credential.expires_at = (now + timedelta(seconds=grant.expires_in)
                             if grant.expires_in is not None else None)
    credential.refresh_encrypted = (crypto.encrypt(grant.refresh_token)
                                    if expiring and grant.refresh_token else "")
    credential.refresh_expires_at = (
        now + timedelta(seconds=grant.refresh_expires_in)
        if credential.refresh_encrypted and grant.refresh_expires_in else None)


def _needs_renewal(credential: GitHubCredential) -> bool:
    return (credential.expires_at is not None
            and credential.expires_at <= timezone.now() + REFRESH_MARGIN)


def credential_token(credential: GitHubCredential) -> str:
    """The credential's token for one call from the host, renewed first when it expires soon.

    Raises GitHubAuthError when the credential is known dead or its renewal is refused (it is
    then marked invalid: sign in again), GitHubError when GitHub cannot be reached to renew it.
    Refresh tokens work once, so concurrent renewals are serialised on the credential's row; a
    renewal refused because another process renewed meanwhile uses that process's token."""
    if credential.invalid_at is not None:
        raise GitHubAuthError(credential.provider)
    if _needs_renewal(credential):
        with transaction.atomic():
            fresh = GitHubCredential.objects.select_for_update().get(pk=credential.pk)
            if fresh.invalid_at is None and _needs_renewal(fresh):
                _renew(fresh)
        for name in ("token_encrypted", "expires_at", "refresh_encrypted",
                     "refresh_expires_at", "invalid_at"):
            setattr(credential, name, getattr(fresh, name))
        if credential.invalid_at is not None:
            raise GitHubAuthError(credential.provider)
    return credential.reveal()


def credential_renew_refused(credential: GitHubCredential, refused: str) -> str | None:
    """A token to make a call GitHub refused (401) with `refused` once more: the one another
    process stored meanwhile, or one renewed now with the refresh token. None when there is no
    way to a new token (no refresh token, or GitHub refused it: the credential is then invalid);
    GitHubError when GitHub cannot be reached to renew."""
    with transaction.atomic():
        fresh = GitHubCredential.objects.select_for_update().get(pk=credential.pk)
        if fresh.invalid_at is None and fresh.refresh_encrypted and fresh.reveal() == refused:
            _renew(fresh)
    for name in ("token_encrypted", "expires_at", "refresh_encrypted", "refresh_expires_at",
                 "invalid_at"):
        setattr(credential, name, getattr(fresh, name))
    if credential.invalid_at is not None:
        return None
    token = credential.reveal()
    return token if token != refused else None


def _renew(credential: GitHubCredential) -> None:
    """Exchange the refresh token and store the new pair (or mark the credential invalid)."""
    refresh = crypto.decrypt(credential.refresh_encrypted) if credential.refresh_encrypted else ""
    lapsed = (credential.refresh_expires_at is not None
              and credential.refresh_expires_at <= timezone.now())
    try:
        if not refresh or lapsed:
            raise GitHubAuthError(credential.provider)
        grant = refresh_exchange(credential.provider, refresh)
    except GitHubAuthError:
        current = GitHubCredential.objects.filter(pk=credential.pk).values_list(
            "refresh_encrypted", flat=True).first()
        if refresh and current and current != credential.refresh_encrypted:
            credential.refresh_from_db()  # renewed by another process meanwhile (SQLite)
            return
        credential.invalid_at = timezone.now()
        credential.save(update_fields=["invalid_at", "updated_at"])
        return
    _seal_grant(credential, grant)
    credential.save(update_fields=["token_encrypted", "expires_at", "refresh_encrypted",
                                   "refresh_expires_at", "updated_at"])


def credential_for(user: User | AnonymousUser,
                   provider: str) -> GitHubCredential | None:
    """The person's credential for `provider`, or None when they never signed in with it."""
    if not user.is_authenticated:
        return None
    return GitHubCredential.objects.filter(user=user, provider=provider).first()


def credential_invalidate(credential: GitHubCredential) -> None:
    """GitHub refused this token: remember it, so the person is asked to sign in again."""
    GitHubCredential.objects.filter(pk=credential.pk).update(invalid_at=timezone.now())
    credential.invalid_at = timezone.now()


def client_for(credential: GitHubCredential) -> GitHubClient:
    """A REST client for the credential (its token renewed first if it expires soon); raises
    what `credential_token` raises.

    A 401 from GitHub during a call renews the token once if it can and makes the call again;
    a 401 after that, or with no way to renew, marks the credential invalid (sign in again).
    """
    return GitHubClient(credential_token(credential), provider=credential.provider,
                        renew_token=lambda refused: credential_renew_refused(credential, refused),
                        on_auth_failure=lambda: credential_invalidate(credential))
