"""Personal API tokens: the settings page, hashing, revocation, and rate limiting per token."""

from __future__ import annotations

import hashlib
import re

from django.urls import reverse

from codexweb.api.models import ApiToken
from codexweb.api.ratelimit import rate_limit_hit
from codexweb.api.tokens import api_token_create, api_token_revoke
from tests.support.api_client import Api


def test_token_page_needs_sign_in(client):
    assert client.get(reverse("api_tokens:list")).status_code == 302


def test_token_is_shown_once_and_stored_hashed(alice_client, alice):
    response = alice_client.post(reverse("api_tokens:list"), {"name": "laptop"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = re.search(
        r'id="token-value" type="text" readonly value="(cxw_[^"]+)"', response.content.decode()
    ).group(1)
    token = ApiToken.objects.get(user=alice)
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    again = alice_client.get(reverse("api_tokens:list")).content.decode()
    assert secret not in again and token.prefix in again
    assert Api(secret).get("/me").json()["username"] == "alice"


def test_revoked_token_stops_working(alice_client, alice, acme):
    created = api_token_create(user=alice, name="ci")
    api = Api(created.secret)
    assert api.get("/me").status_code == 200
    alice_client.post(reverse("api_tokens:revoke", args=[created.token.pk]))
    response = api.get("/me")
    assert response.status_code == 401
    assert response.json() == {
        "error": "This API token is not valid or was revoked.",
        "code": "invalid_token",
    }


def test_cannot_revoke_someone_elses_token(bob_client, alice):
    created = api_token_create(user=alice, name="ci")
    assert bob_client.post(reverse("api_tokens:revoke", args=[created.token.pk])).status_code == 404
    assert ApiToken.objects.get(pk=created.token.pk).revoked_at is None


def test_inactive_users_tokens_stop_working(alice, acme):
    created = api_token_create(user=alice, name="ci")
    alice.is_active = False
    alice.save()
    assert Api(created.secret).get("/me").status_code == 401


def test_missing_and_malformed_credentials(anonymous_api):
    response = anonymous_api.get("/me")
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["error"]
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert anonymous_api.get("/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert anonymous_api.get("/me", headers={"Authorization": "Bearer cxw_nope"}).status_code == 401


def test_session_cookies_are_not_enough(alice_client, acme):
    response = alice_client.get("/api/v1/me")
    assert response.status_code == 401


def test_rate_limited_per_token(alice, bob, acme, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    alice_api = Api(api_token_create(user=alice, name="a").secret)
    bob_api = Api(api_token_create(user=bob, name="b").secret)
    codes = [alice_api.get("/me").status_code for _ in range(4)]
    if codes != [200, 200, 200, 429]:  # the minute may have turned between calls: retry once
        codes = [alice_api.get("/me").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = alice_api.get("/me")
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    assert "Too many requests" in limited.json()["error"]
    assert bob_api.get("/me").status_code == 200  # another token has its own budget


def test_rate_limit_counts_in_redis_windows():
    now = 1_000_000 * 60.0
    key = f"test-{now}"
    assert [rate_limit_hit(key, limit=2, now=now).allowed for _ in range(3)] == [True, True, False]
    assert rate_limit_hit(key, limit=2, now=now + 60).allowed  # the next window starts afresh


def test_revoke_is_idempotent(alice):
    created = api_token_create(user=alice, name="x")
    first = api_token_revoke(token=created.token).revoked_at
    assert api_token_revoke(token=created.token).revoked_at == first
