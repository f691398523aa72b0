"""The sidebar lists a task as soon as it exists, not at the next page load: a teammate's new
task, or one started in another tab (walkthrough, session 10: the open task page's sidebar
never showed the Ask started beside it, while its badges followed the tasks it listed)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support import factories
from tests.support.browser import screenshot, sign_in_as
from tests.support.worker_thread import alice_calc_task, worker_start

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def test_a_teammates_new_task_appears_in_the_open_sidebar(browser_page, live_app,
                                                          transactional_db):
    page = browser_page
    alice, first = alice_calc_task(prompt="Add a sub function", attempts=1)
    bob = factories.make_user("bob")
    factories.add_member(first.team, bob)
    sign_in_as(page, alice, live_app)
    page.goto(f"/tasks/{first.pk}/")
    expect(page.locator("#sidebar a[data-task-id]")).to_have_count(1)

    second = factories.make_task(first.repository, bob, prompt="Where is mul defined?")
    worker_start(second.attempts.get())  # its status changes: the team socket names it

    row = page.locator(f'#sidebar a[data-task-id="{second.pk}"]')
    expect(row).to_contain_text("Where is mul defined?")
    expect(row.locator("[data-status]")).to_have_text("Running")
    # The page's own task keeps its place and its mark in the list.
    expect(page.locator('#sidebar a[aria-current="page"]')).to_have_attribute(
        "data-task-id", str(first.pk))
    screenshot(page, "sidebar-new-task")


def test_a_new_task_the_filter_hides_stays_out(browser_page, live_app, transactional_db):
    """Filtered to one repository, the list stays filtered when another's task starts."""
    page = browser_page
    alice, first = alice_calc_task(prompt="Add a sub function", attempts=1)
    other = factories.make_repository(first.team, owner="acme", name="web")
    sign_in_as(page, alice, live_app)
    page.goto(f"/tasks/{first.pk}/?repo={first.repository_id}")
    expect(page.locator("#sidebar a[data-task-id]")).to_have_count(1)

    elsewhere = factories.make_task(other, alice, prompt="Explain the web build")
    same_repo = factories.make_task(first.repository, alice, prompt="Explain the calc build")
    worker_start(elsewhere.attempts.get())
    worker_start(same_repo.attempts.get())

    expect(page.locator(f'#sidebar a[data-task-id="{same_repo.pk}"]')).to_have_count(1)
    expect(page.locator(f'#sidebar a[data-task-id="{elsewhere.pk}"]')).to_have_count(0)
