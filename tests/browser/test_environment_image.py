"""An admin picks the slim image, a maintenance script and a PATH prefix; a bad folder is
explained in plain words and nothing is lost."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from repos.models import Environment
from tests.support.browser import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def test_admin_chooses_image_maintenance_and_path_prefix(browser_page, live_app, acme_webapp):
    repo = acme_webapp
    page = browser_page
    sign_in(page, "alice", then=f"/repositories/{repo.pk}/environment/")
    image = page.locator("#image-choice")
    expect(image.get_by_label("Universal", exact=False)).to_be_checked()
    image.get_by_label("Slim", exact=False).check()
    page.get_by_label("Maintenance script").fill("pip install -e .")
    page.get_by_label("PATH prefix").fill("/opt/tools/bin\nnode_modules/.bin")
    page.get_by_role("button", name="Save environment").click()
    error = page.get_by_text("Line 2: PATH prefix 'node_modules/.bin' must be an absolute folder")
    expect(error).to_be_visible()
    # Nothing typed is lost.
    expect(page.get_by_label("Maintenance script")).to_have_value("pip install -e .")
    expect(page.locator("#image-choice").get_by_label("Slim", exact=False)).to_be_checked()
    screenshot(page, "environment-image-error", full_page=True)
    assert Environment.objects.get(repository=repo).image == "universal"

    page.get_by_label("PATH prefix").fill("/opt/tools/bin\n/workspace/node_modules/.bin")
    page.get_by_role("button", name="Save environment").click()
    expect(
        page.get_by_text("Environment saved. Attempts that start from now on use it.")
    ).to_be_visible()
    page.locator("#image-choice").scroll_into_view_if_needed()
    screenshot(page, "environment-image", full_page=True)
    env = Environment.objects.get(repository=repo)
    assert (env.image, env.maintenance_script) == ("slim", "pip install -e .")
    assert env.path_prefix == ["/opt/tools/bin", "/workspace/node_modules/.bin"]
    assert page.js_errors == []
