"""A setup run's page follows the run: new log text appears as it is written (as text, never
HTML), and the status flips when the run ends; then the page stops asking."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from repos.models import SetupRun
from tests.support.browser import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


@pytest.fixture
def running_run(acme_webapp):
    repo = acme_webapp
    run = SetupRun.objects.create(
        environment=repo.environment,
        requested_by=repo.team.memberships.get(role="admin").user,
        status="running",
        log="[Fetching acme/webapp and checking out main.]\n",
    )
    return repo, run


def test_the_run_page_streams_the_log_until_the_run_ends(browser_page, live_app, running_run):
    repo, run = running_run
    page = browser_page
    # A member may watch.
    sign_in(page, "bob", then=f"/repositories/{repo.pk}/environment/setup/runs/{run.pk}/")
    log = page.locator("#setup-run-log")
    expect(log).to_contain_text("Fetching acme/webapp")
    expect(page.locator("#setup-run-status")).to_have_text("Running")

    # The commit is known once the checkout is done, after the page was loaded.
    expect(page.locator("#setup-run-commit")).to_be_hidden()
    SetupRun.objects.filter(pk=run.pk).update(commit="083dfcc3b7598aec18d468e60f9b9d00ca2a20bd")
    expect(page.locator("#setup-run-commit")).to_have_text(" at 083dfcc3b759")

    SetupRun.objects.filter(pk=run.pk).update(
        log=run.log + "\x1b[1mCollecting\x1b[0m <b>deps</b> token=***\n"
    )
    expect(log).to_contain_text("Collecting <b>deps</b> token=***")
    assert page.locator("#setup-run-log b").count() == 0  # text, not markup

    SetupRun.objects.filter(pk=run.pk).update(
        status="failed", error="The setup script failed with exit code 3."
    )
    expect(page.locator("#setup-run-status")).to_have_text("Failed")
    expect(page.get_by_role("alert")).to_have_text("The setup script failed with exit code 3.")
    screenshot(page, "setup-run-failed")
    assert page.js_errors == []
