"""The best-of-N ranking and the hunk pick in Chromium (issue 15, item 5).

The test process plays the worker (as tests/browser/test_live_page.py does): it ends the
attempts and records the verifications' progress and verdicts with the services, against the
database the daphne child serves. The page shows the ranking and why (the failing command's
output), refuses overlapping hunks with a sentence, combines compatible ones into a new attempt,
and follows its verification live until Create PR no longer waits for it. Screenshots:
artifacts/screenshots/ranking-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tasks import services
from tasks.attempt_page import NOT_ON_GITHUB
from tasks.models import Status
from tasks.verification import services as verification
from tasks.verification.models import Verification
from tests.support import factories
from tests.support.browser import screenshot, sign_in_as
from tests.support.calc_repo import FIX_DIFF, TESTS
from tests.support.worker_thread import as_worker

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

ADDS = FIX_DIFF
SWAPS = FIX_DIFF.replace("a + b", "b - a") + """diff --git a/test_more.py b/test_more.py
new file mode 100644
--- /dev/null
+++ b/test_more.py
@@ -0,0 +1,2 @@
+from calc import add
+assert add(1, 1) == 2
"""


def verdict(verification_id: int, command_ok: bool) -> None:
    """A worker's verification of one patch: claim, run the check, record the verdict."""
    assert verification.verification_claim(verification_id=verification_id)
    output = "Ran 1 test\n\nOK\n" if command_ok else "FAIL: test_add\nAssertionError: -1 != 5\n"
    verification.verification_finish(
        verification_id=verification_id,
        verdict="passed" if command_ok else "checks_failed",
        reason=f"The check passes: `{TESTS}`." if command_ok
        else f"`{TESTS}` failed with exit code 1.",
        results=[{"command": TESTS, "exit_code": 0 if command_ok else 1, "timed_out": False,
                  "output_tail": output, "duration": 0.4, "error": ""}],
    )


@pytest.fixture
def ranked(transactional_db, empty_queue):
    alice = factories.make_user("alice")
    acme = factories.make_team("Acme", admin=alice)
    repo = factories.make_repository(acme, owner="acme", name="calc")
    task = factories.make_task(repo, alice, prompt="Make add add", mode="code", attempts=2)
    first, second = task.attempts.order_by("index")
    for attempt, patch in ((first, ADDS), (second, SWAPS)):
        as_worker(services.attempt_finish, attempt_id=attempt.pk, status=Status.SUCCEEDED,
                  patch=patch, summary="Changed `add`.")
    # The last attempt to end queued both verifications (after commit); the worker runs them.
    rows = Verification.objects.filter(task=task).order_by("attempt__index")
    assert [v.status for v in rows] == ["queued", "queued"]
    as_worker(verdict, rows[0].pk, True)
    as_worker(verdict, rows[1].pk, False)
    return {"alice": alice, "task": task, "first": first, "second": second}


def pick(page, attempt_index: int, hunk_id: str) -> None:
    page.locator(f"#tab-{attempt_index}").click()
    page.locator(f'input[data-hunk-pick][value="{hunk_id}"]').check()


def test_the_ranking_says_why_and_picked_hunks_become_a_verified_patch(
    browser_page, live_app, ranked
):
    page, task = browser_page, ranked["task"]
    first, second = ranked["first"], ranked["second"]
    sign_in_as(page, ranked["alice"], live_app)
    page.goto(f"/tasks/{task.pk}/", timeout=60_000)  # a loaded 2-core machine

    rows = page.locator("#ranking [data-ranking-row]")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("[data-rank-place]")).to_have_text("#1 of 2")
    expect(rows.nth(0)).to_contain_text("Attempt 1")
    expect(rows.nth(0).locator("[data-rank-reason]")).to_have_text(
        "Ahead of attempt 2 (some checks fail).")
    expect(rows.nth(1)).to_contain_text("Some checks fail")
    expect(rows.nth(1)).to_contain_text(f"`{TESTS}` failed with exit code 1.")
    rows.nth(1).locator("[data-failed-output] summary").click()
    expect(rows.nth(1).locator("[data-failed-output] pre")).to_contain_text(
        "AssertionError: -1 != 5"
    )
    screenshot(page, "ranking-verdicts")

    # The same line from both attempts: refused, saying which hunks overlap.
    pick(page, 1, f"{first.pk}:0:0")
    pick(page, 2, f"{second.pk}:0:0")
    page.locator("[data-combine-submit]").click()
    expect(page.locator(".messages")).to_contain_text(
        f"Hunk {first.pk}:0:0 (attempt 1, calc.py lines 1–2) and hunk {second.pk}:0:0 "
        "(attempt 2, lines 1–2) overlap"
    )
    assert Verification.objects.filter(task=task).count() == 2

    # attempt 1's fix and attempt 2's new test file: one patch, verified before Create PR.
    pick(page, 1, f"{first.pk}:0:0")
    pick(page, 2, f"{second.pk}:1:0")
    page.locator("[data-combine-submit]").click()
    expect(page.locator(".messages")).to_contain_text(
        "Combined as attempt 3; it is being verified before Create PR is enabled."
    )
    combined = Verification.objects.get(task=task, attempt__index=3)
    assert "+    return a + b" in combined.attempt.patch
    assert "+assert add(1, 1) == 2" in combined.attempt.patch
    assert "b - a" not in combined.attempt.patch
    row = page.locator("#ranking .combined-list [data-ranking-row]")
    expect(row.locator("[data-verifying]")).to_have_text("Waiting to verify…")
    expect(row.locator("[data-pr-reason]")).to_contain_text(
        "The combined patch is still being verified"
    )
    expect(row.get_by_role("button", name="Create PR")).to_be_disabled()

    # The worker takes it: the page follows without a reload.
    as_worker(verification.verification_claim, verification_id=combined.pk)
    as_worker(verification.verification_progress, verification_id=combined.pk,
              commands=[TESTS], source="AGENTS.md",
              results=[{"command": TESTS, "running": True}])
    expect(row).to_contain_text(f"running {TESTS}")
    screenshot(page, "ranking-verifying")
    as_worker(verification.verification_finish, verification_id=combined.pk, verdict="passed",
              reason=f"The check passes: `{TESTS}`.",
              results=[{"command": TESTS, "exit_code": 0, "timed_out": False,
                        "output_tail": "OK\n", "duration": 0.3, "error": ""}])
    expect(row.locator("[data-verdict-text]")).to_have_text("All checks pass")
    # No longer waiting for verification: what is left is this repository not being on GitHub.
    expect(row.locator("[data-pr-reason]")).to_have_text(NOT_ON_GITHUB)
    screenshot(page, "ranking-combined-verified")


def test_combine_is_withdrawn_live_when_no_attempt_left_a_patch(
    browser_page, live_app, transactional_db, empty_queue
):
    """The page is open while the attempts run (Combine offered, the ranking to come); both end
    without a patch: the ranking swapped in says so, and Combine goes away without a reload."""
    alice = factories.make_user("alice")
    repo = factories.make_repository(factories.make_team("Acme", admin=alice), owner="acme",
                                      name="calc")
    task = factories.make_task(repo, alice, prompt="Make add add", mode="code", attempts=2)
    page = browser_page
    sign_in_as(page, alice, live_app)
    page.goto(f"{live_app.url}/tasks/{task.pk}/")
    combine = page.locator("[data-combine-submit]")
    expect(combine).to_be_visible()

    for attempt in task.attempts.all():
        as_worker(services.attempt_finish, attempt_id=attempt.pk, status=Status.FAILED,
                  error="The worker running this attempt stopped.")

    expect(page.locator("[data-nothing-to-combine]")).to_be_visible(timeout=20_000)
    expect(combine).to_be_hidden()
    screenshot(page, "ranking-nothing-to-combine")
