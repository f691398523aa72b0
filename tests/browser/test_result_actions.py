"""A succeeded Code attempt's actions under its diff in Chromium: the patch, Create PR (here
disabled, with its reason) and "Review this diff" line up as one row of controls, the reason
under its own button. Screenshot: artifacts/screenshots/result-actions.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support import factories
from tests.support.browser import screenshot, sign_in_as
from tests.support.calc_repo import FIX_DIFF

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]



def test_review_this_diff_sits_in_the_row_of_actions_not_beside_a_wrapped_reason(
    browser_page, live_app, alice, acme_repo
):
    page = browser_page
    attempt = factories.make_succeeded_attempt(acme_repo, alice, patch=FIX_DIFF)
    sign_in_as(page, alice, live_app)
    page.goto(f"/tasks/{attempt.task_id}/")
    actions = page.locator(".result-actions")
    reason = actions.locator("[data-pr-reason]")
    expect(reason).to_contain_text("not on GitHub")
    review = actions.get_by_role("button", name="Review this diff")
    create = actions.get_by_role("button", name="Create PR")
    expect(review).to_be_visible()
    actions.scroll_into_view_if_needed()
    screenshot(page, "result-actions")
    create_box, review_box, reason_box = (
        create.bounding_box(), review.bounding_box(), reason.bounding_box()
    )
    # The buttons share a row, side by side; Create PR's reason hangs below it, not between.
    assert abs(create_box["y"] - review_box["y"]) < 2, (create_box, review_box)
    assert 0 <= create_box["x"] - (review_box["x"] + review_box["width"]) < 32, (create_box,
                                                                                review_box)
    assert reason_box["y"] >= create_box["y"] + create_box["height"] - 1, (create_box, reason_box)
    assert page.js_errors == []


def test_the_creating_message_goes_once_that_attempts_pull_request_is_open(
    browser_page, live_app, alice, acme_repo
):
    from tasks.pull_requests.models import PullRequestRecord

    page = browser_page
    attempt = factories.make_succeeded_attempt(acme_repo, alice, patch=FIX_DIFF)
    other = factories.make_succeeded_attempt(acme_repo, alice, patch=FIX_DIFF)
    record = PullRequestRecord.objects.create(
        attempt=attempt, requested_by=alice, branch="codex/add-calc", state="creating"
    )
    sign_in_as(page, alice, live_app)
    page.goto(f"/tasks/{attempt.task_id}/")
    expect(page.locator("[data-pr-creating]")).to_have_count(1)
    # The flash messages the Create PR redirect shows (views_live.pr_progress_tag marks each
    # with its attempt): this attempt's, and another attempt's still creating elsewhere.
    page.evaluate(
        """([mine, theirs]) => {
          const box = document.createElement("div");
          box.className = "messages";
          for (const id of [mine, theirs]) {
            const p = document.createElement("p");
            p.className = "message message-pr-progress-" + id + " success";
            p.textContent = "Creating the pull request…";
            box.appendChild(p);
          }
          document.querySelector("main").prepend(box);
        }""",
        [attempt.pk, other.pk],
    )
    record.state = "open"
    record.number = 7
    record.html_url = "https://github.example/acme/app/pull/7"
    record.save()
    expect(page.locator("[data-pr-creating]")).to_have_count(0, timeout=15_000)
    expect(page.locator(f".message-pr-progress-{attempt.pk}")).to_have_count(0)
    # Only the message of the attempt whose pull request is open goes.
    expect(page.locator(f".message-pr-progress-{other.pk}")).to_have_count(1)
    assert page.js_errors == []
