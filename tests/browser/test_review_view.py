"""A Review attempt's findings on the task page in Chromium: each next to the diff line it
refers to (the one diff renderer), with its severity badge and its citations' stored verdicts,
the list of findings, the malformed ones, and "Post as PR review"; the same after a reload.

The test process plays the worker (events and rows as tasks/worker and tasks/agent store them).
Screenshot: artifacts/screenshots/review-findings.png.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tasks import services
from tasks.agent.findings import parse_findings
from tasks.events import publish
from tasks.models import Status
from tasks.reviews.models import ReviewRecord, ReviewTarget
from tests.support import factories
from tests.support.browser import screenshot, sign_in_as
from tests.support.summaries import worker_summary
from tests.support.worker_thread import as_worker, worker_start

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

DIFF = """\
diff --git a/app/calc.py b/app/calc.py
--- a/app/calc.py
+++ b/app/calc.py
@@ -1,3 +1,6 @@
 def add(a, b):
     return a + b
+
+def mul(a, b):
+    return a + b
 # end
"""
TREE = {"app/calc.py": "def add(a, b):\n    return a + b\n\ndef mul(a, b):\n    return a + b\n"
                       "# end\n",
        "README.md": "# calc\nAdds and multplies.\n"}
ANSWER = """Not ready: `mul` is wrong 【F:app/calc.py†L5】.

```findings
[{"file": "app/calc.py", "line": 5, "severity": "blocker",
  "explanation": "`mul` adds instead of multiplying 【F:app/calc.py†L4-L5】 【F:app/calc.py†L9】."},
 {"file": "README.md", "line": 2, "severity": "nit",
  "explanation": "Typo: multplies 【F:README.md†L2】."},
 {"file": "app/calc.py", "line": "five", "severity": "major", "explanation": "x"}]
```"""


@pytest.fixture
def review(transactional_db):
    alice = factories.make_user("alice")
    acme = factories.make_team("Acme", admin=alice)
    repo = factories.make_repository(acme, owner="acme", name="calc")
    task = factories.make_task(repo, alice, prompt="Review this change.", mode="review")
    ReviewTarget.objects.create(task=task, kind=ReviewTarget.Kind.PULL, pull_number=7)
    attempt = task.attempts.get()
    ReviewRecord.objects.create(attempt=attempt, diff=DIFF, pull_number=7, base_sha="a" * 40,
                                head_sha="b" * 40)
    publish(attempt.pk, "status", {"status": Status.QUEUED, "message": "Queued."})
    return {"alice": alice, "task": task, "attempt": attempt}


def finish_review(attempt) -> None:
    """What the agent loop and the worker record at the end of a Review attempt."""
    report = parse_findings(ANSWER, read_file=TREE.get, chunks={})
    publish(attempt.pk, "summary", as_worker(worker_summary, attempt, report.summary, TREE))
    publish(attempt.pk, "review", report.to_payload())
    as_worker(services.attempt_finish, attempt_id=attempt.pk, status=Status.SUCCEEDED,
              summary=report.summary)


def check_findings(page) -> None:
    result = page.locator("#attempt-1 [data-result]")
    expect(result.locator("[data-review] h3")).to_have_text("Findings (2)")
    # The blocker sits right under new line 5 of app/calc.py, in the diff itself.
    note = result.locator('tr.d-finding[data-finding-line="5"]')
    expect(note).to_have_count(1)
    expect(note.locator(".severity")).to_have_text("blocker")
    expect(note).to_contain_text("mul adds instead of multiplying")
    expect(note.locator("[data-finding-invalid]")).to_have_text("⚠ 1 invalid citation")
    expect(note.locator(".cite-invalid")).to_have_count(1)
    above = note.evaluate(
        "row => [...row.previousElementSibling.querySelectorAll('td.no')].map(td => "
        "td.textContent.trim())")
    assert above == ["", "5"], above  # the added line 5 (no old number)
    assert note.evaluate("row => row.closest('details').dataset.path") == "app/calc.py"
    # The list: both findings; the nit's line is outside the diff, so it is only listed.
    items = result.locator("[data-finding-list] > li")
    expect(items).to_have_count(2)
    expect(items.nth(1).locator(".severity")).to_have_text("nit")
    expect(items.nth(1).locator("[data-outside-diff]")).to_be_visible()
    expect(result.locator("tr.d-finding")).to_have_count(1)
    malformed = result.locator("[data-malformed-item]")
    expect(malformed).to_have_count(1)
    expect(malformed).to_contain_text("line")
    expect(malformed.locator("pre")).to_contain_text('"five"')
    expect(result.get_by_role("button", name="Post as PR review")).to_be_enabled()
    expect(result.get_by_role("button", name="Create PR")).to_have_count(0)


def test_findings_appear_next_to_their_diff_lines_live_and_after_a_reload(
        browser_page, live_app, review):
    page, attempt = browser_page, review["attempt"]
    sign_in_as(page, review["alice"], live_app)
    page.goto(f"/tasks/{review['task'].pk}/")
    worker_start(attempt)
    expect(page.locator("#attempt-1 [data-attempt-status]")).to_have_text("Running")

    finish_review(attempt)

    expect(page.locator("#attempt-1 [data-attempt-status]")).to_have_text("Succeeded")
    check_findings(page)
    screenshot(page, "review-findings", full_page=True)
    page.reload()  # replay: everything comes back from the stored rows and events
    check_findings(page)
