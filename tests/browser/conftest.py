"""Browser tests: the real app in daphne, Debian's Chromium through Playwright."""

from __future__ import annotations

import pytest

from tests.support import factories
from tests.support.browser import browser_page, chromium, phone_page  # noqa: F401
from tests.support.live_app import live_app, live_worker  # noqa: F401


@pytest.fixture
def acme_webapp(transactional_db):
    """acme/webapp of team Acme (alice administers it, bob is a member), committed, so that the
    live app sees it."""
    alice, bob = factories.make_user("alice"), factories.make_user("bob")
    team = factories.make_team("Acme", admin=alice)
    factories.add_member(team, bob)
    return factories.make_repository(team, owner="acme", name="webapp")
