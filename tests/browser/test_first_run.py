"""In Chromium: an admin who signed in with GitHub and has no repository yet is led to connect
their GitHub repositories first."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from repos.github.credentials import credential_store
from tests.support import factories
from tests.support.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def test_empty_state_leads_to_the_github_catalog(browser_page, transactional_db):
    alice = factories.make_user("alice")
    factories.make_team("Acme", admin=alice)
    credential_store(user=alice, provider="github", login="alice-gh", external_id=42,
                     token="gho_not-used-by-these-pages")
    page = browser_page
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="No repositories yet")).to_be_visible()
    actions = page.locator("#composer-unavailable a")
    expect(actions).to_have_text(["Connect your GitHub repositories", "Register a repository"])
    expect(actions.first).to_have_class("button primary")
    screenshot(page, "home-first-run-github")
    actions.first.click()
    expect(page.get_by_role("heading", name="Connect repositories to Acme")).to_be_visible()
    assert page.js_errors == []
