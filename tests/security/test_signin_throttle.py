"""Issue 17 item 9: local sign-in is throttled per username, counted in the real Redis."""

from __future__ import annotations

import time
import uuid

import pytest

from codexweb.accounts.throttle import signin_failures_key
from codexweb.api.ratelimit import counters_redis
from tests.support import factories

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture
def dave(settings):
    """A local account with a name no other test (or earlier run) counted failures for."""
    settings.SIGNIN_THROTTLE_FAILURES = 10
    user = factories.make_user(f"dave-{uuid.uuid4().hex[:8]}")
    user.set_password(PASSWORD)
    user.save()
    return user


def attempt(client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_eleventh_failure_is_throttled_and_the_window_ends(client, dave, settings):
    settings.SIGNIN_THROTTLE_WINDOW_SECONDS = 4
    for _ in range(10):
        response = attempt(client, dave.username, "guess")
        assert response.status_code == 400
        assert "That username and password do not match an account." in response.content.decode()

    response = attempt(client, dave.username, "guess")
    assert response.status_code == 429
    assert "Too many failed sign-ins for this account" in response.content.decode()
    # Paused means paused: the right password is refused too, without being checked.
    response = attempt(client, dave.username.upper(), PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session

    # Once the window ends (Redis expires the counter), the right password works again.
    for _ in range(100):  # at most 10 s
        if not counters_redis().exists(signin_failures_key(dave.username)):
            break
        time.sleep(0.1)
    response = attempt(client, dave.username, PASSWORD)
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == dave.pk


def test_throttle_is_per_username(client, dave, settings):
    settings.SIGNIN_THROTTLE_WINDOW_SECONDS = 600
    for _ in range(11):
        attempt(client, dave.username, "guess")
    assert attempt(client, dave.username, PASSWORD).status_code == 429

    other = factories.make_user(f"erin-{uuid.uuid4().hex[:8]}")
    other.set_password(PASSWORD)
    other.save()
    assert attempt(client, other.username, PASSWORD).status_code == 302
    counters_redis().delete(signin_failures_key(dave.username))


def test_the_message_says_how_long_to_wait(client, dave, settings):
    settings.SIGNIN_THROTTLE_FAILURES = 1
    settings.SIGNIN_THROTTLE_WINDOW_SECONDS = 600
    attempt(client, dave.username, "guess")
    html = attempt(client, dave.username, "guess").content.decode()
    assert "try again in 10 minutes" in html
    counters_redis().delete(signin_failures_key(dave.username))
