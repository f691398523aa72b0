"""Browser notifications: the sidebar's opt-in button asks for the permission, and when a task
the signed-in person started finishes while the tab is hidden, a notification says so (a
teammate's task does not). The status change arrives over the real team socket."""

from __future__ import annotations

from playwright.sync_api import expect

from tasks import services
from tasks.models import Status
from tests.support import factories
from tests.support.browser import sign_in
from tests.support.worker_thread import as_worker


def _finish(attempt_id: int) -> None:
    services.attempt_claim(attempt_id=attempt_id)
    services.attempt_finish(attempt_id=attempt_id, status=Status.FAILED, error="Tests failed.")


def test_opt_in_then_notified_only_of_my_task_when_hidden(
    browser_page, live_app, acme_webapp, empty_queue
):
    page = browser_page
    alice = acme_webapp.team.memberships.get(role="admin").user
    bob = acme_webapp.team.memberships.get(role="member").user
    mine = factories.make_task(acme_webapp, alice, prompt="Fix the login").attempts.get()
    theirs = factories.make_task(acme_webapp, bob, prompt="Bump the deps").attempts.get()
    page.context.grant_permissions(["notifications"], origin=live_app.url)
    sign_in(page, "alice", then="/")
    button = page.locator("#notify-toggle")
    expect(button).to_have_text("Notify me")
    button.click()
    expect(button).to_have_text("Notifications on")
    expect(button).to_have_attribute("aria-pressed", "true")
    # The tab goes to the background (Playwright's page is always visible, so say it is not).
    page.evaluate("() => Object.defineProperty(document, 'hidden', { get: () => true })")
    as_worker(_finish, theirs.pk)
    as_worker(_finish, mine.pk)
    expect(page.locator(f'a[data-task-id="{mine.task_id}"] [data-status]')).to_have_text("Failed")
    expect(page.locator(f'a[data-task-id="{theirs.task_id}"] [data-status]')).to_have_text("Failed")
    notified = page.evaluate("window.codexwebNotified || []")
    assert notified == [{"id": mine.task_id, "status": "failed"}]
    assert page.js_errors == []


def test_without_opting_in_nothing_is_shown(browser_page, live_app, acme_webapp, empty_queue):
    page = browser_page
    alice = acme_webapp.team.memberships.get(role="admin").user
    mine = factories.make_task(acme_webapp, alice, prompt="Fix the login").attempts.get()
    page.context.grant_permissions(["notifications"], origin=live_app.url)
    sign_in(page, "alice", then="/")
    expect(page.locator("#notify-toggle")).to_have_text("Notify me")
    page.evaluate("() => Object.defineProperty(document, 'hidden', { get: () => true })")
    as_worker(_finish, mine.pk)
    expect(page.locator(f'a[data-task-id="{mine.task_id}"] [data-status]')).to_have_text("Failed")
    assert page.evaluate("window.codexwebNotified || []") == []
