"""The team history page while a task runs: its table follows the team socket as the sidebar
does, so the page never shows one task as both "Running" and "Succeeded" (walkthrough, session
8: the sidebar said Succeeded, the table beside it still Running)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tasks import services
from tasks.models import Status
from tests.support.browser import screenshot, sign_in_as
from tests.support.worker_thread import alice_calc_task, as_worker, worker_start
from tests.support.worker_thread import publish_as_worker as publish

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def test_the_history_table_follows_a_running_task_to_its_end(browser_page, live_app,
                                                              transactional_db):
    page = browser_page
    alice, task = alice_calc_task(prompt="Add a sub function", attempts=1)
    attempt = task.attempts.get()
    publish(attempt.pk, "status", {"status": Status.QUEUED, "message": "Queued."})
    sign_in_as(page, alice, live_app)
    page.goto("/history/")
    row_badge = page.locator(f'#history-table tr[data-task-id="{task.pk}"] [data-status]')
    sidebar_badge = page.locator(f'#sidebar a[data-task-id="{task.pk}"] [data-status]')
    expect(row_badge).to_have_text("Queued")

    worker_start(attempt)
    expect(sidebar_badge).to_have_text("Running")
    expect(row_badge).to_have_text("Running")
    expect(row_badge).to_have_class("badge badge-running")

    as_worker(services.attempt_finish, attempt_id=attempt.pk, status=Status.SUCCEEDED,
              summary="Added `sub`.")
    expect(sidebar_badge).to_have_text("Succeeded")
    expect(row_badge).to_have_text("Succeeded")
    screenshot(page, "history-live-finished")
