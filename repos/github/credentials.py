"""People's GitHub tokens: stored encrypted, handed out only for a call from the host.

A token GitHub refuses (401) is marked invalid and never used again until the person signs in
again, which stores a fresh one (`credential_store`).
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from repos.github.client import GitHubAuthError, GitHubClient
from repos.github.models import GitHubCredential, Provider


@transaction.atomic
def credential_store(*, user: User, provider: str, login: str, external_id: int,
                     token: str, scopes: str = "") -> GitHubCredential:
    """Save (or replace) the person's token for `provider`, encrypted; clears `invalid_at`."""
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
    credential.seal(token)
    credential.save()
    return credential


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
    """A REST client for the credential; raises GitHubAuthError if it is known to be dead.

    A 401 from GitHub during any call marks the credential invalid (sign in again).
    """
    if credential.invalid_at is not None:
        raise GitHubAuthError(credential.provider)
    return GitHubClient(credential.reveal(), provider=credential.provider,
                        on_auth_failure=lambda: credential_invalidate(credential))
