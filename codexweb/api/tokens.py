"""Personal API tokens: create (shown once), revoke, authenticate.

A token is `cxw_` + 43 url-safe characters (256 random bits). Only its sha256 is stored, so a
database leak gives no usable token; comparing hashes via a unique index needs no timing-safe
compare because the attacker does not control the stored hash.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from codexweb.api.models import ApiToken

TOKEN_PREFIX = "cxw_"  # noqa: S105 - a public marker, not a secret
MAX_ACTIVE_TOKENS = 50
_LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(ValueError):
    """A token cannot be created or revoked; the message is for the person."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the clear token: shown once, never stored


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str) -> NewToken:
    name = name.strip()
    if not name:
        raise TokenError("Name the token after where you will use it (e.g. 'laptop CLI').")
    if len(name) > 100:
        raise TokenError("Token names are 100 characters at most.")
    if ApiToken.objects.filter(user=user, revoked_at=None).count() >= MAX_ACTIVE_TOKENS:
        raise TokenError(f"You have {MAX_ACTIVE_TOKENS} active tokens; revoke one first.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        token_hash=token_digest(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
    )
    return NewToken(token=token, secret=secret)


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke a token; it stops working at once. Revoking twice is harmless."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The active token for this clear value, or None. Marks it used (at most once a minute)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=token_digest(raw), revoked_at=None, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
