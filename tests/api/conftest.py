"""API test helpers: a token per person, and a client whose every response is checked against
the served OpenAPI description (so the description cannot drift from the code)."""

from __future__ import annotations

import pytest

from codexweb.api.tokens import api_token_create
from tests.support.api_client import Api
from tests.support.cli_runner import world  # noqa: F401
from tests.support.finished_attempts import greeting_webapp
from tests.support.live_app import live_app  # noqa: F401


@pytest.fixture
def webapp(gh, tmp_path):
    """acme/webapp on the GitHub stand-in (the greeting app.py, alice-gh a writer); a test file
    whose scenario needs more (a branch, a pull request) defines its own."""
    return greeting_webapp(gh, tmp_path)


@pytest.fixture
def alice_token(alice) -> str:
    return api_token_create(user=alice, name="alice laptop").secret


@pytest.fixture
def bob_token(bob) -> str:
    return api_token_create(user=bob, name="bob laptop").secret


@pytest.fixture
def carol_token(carol) -> str:
    return api_token_create(user=carol, name="carol laptop").secret


@pytest.fixture
def alice_api(acme, alice_token) -> Api:
    return Api(alice_token)


@pytest.fixture
def bob_api(acme, bob_token) -> Api:
    return Api(bob_token)


@pytest.fixture
def carol_api(globex, carol_token) -> Api:
    return Api(carol_token)


@pytest.fixture
def anonymous_api(db) -> Api:
    return Api(None)
