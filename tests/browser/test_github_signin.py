"""In Chromium: "Sign in with GitHub" is a form POST that the app answers with a redirect to
GitHub's authorize page. Browsers hold that redirect to the page's CSP `form-action`, so the
policy must name GitHub's origin or the button does nothing (session 7: it did nothing)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import LAPTOP, screenshot
from tests.support.github_fixtures import CLIENT_ID, CLIENT_SECRET
from tests.support.live_app import start_daphne, stop_process

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


@pytest.fixture
def app_on_the_double(github_double, transactional_db):
    """A daphne whose GitHub is the double (its own process: the settings come from the
    environment), with the OAuth app registered there and alice signed in at "GitHub"."""
    github_double.state.add_app(CLIENT_ID["github"], CLIENT_SECRET["github"])
    github_double.state.add_user("alice", name="Alice Walker", email="alice@example.test")
    github_double.state.browser_user = "alice"
    app = start_daphne(
        GITHUB_URL=github_double.web_url, GITHUB_API_URL=github_double.api_url,
        GITHUB_CLIENT_ID=CLIENT_ID["github"], GITHUB_CLIENT_SECRET=CLIENT_SECRET["github"],
    )
    yield app
    stop_process(app.process)


def test_sign_in_with_github_button_reaches_github_and_back(chromium, app_on_the_double):
    context = chromium.new_context(base_url=app_on_the_double.url, viewport=LAPTOP)
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    page.goto("/accounts/login/")
    page.get_by_role("button", name="Sign in with GitHub").click()

    expect(page.get_by_role("button", name="Sign out alice")).to_be_visible()
    screenshot(page, "github-signin-landed")
    assert blocked == []
    context.close()
