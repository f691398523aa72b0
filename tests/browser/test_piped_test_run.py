"""The attempt tab's test result for a test command piped into `tail`: exit 0 is tail's, so the
tab says "tests ran", live and after a reload, never "tests passed" over a visible
"FAILED (failures=1)" (walkthrough, session 8, more-itertools). The same for `pytest; echo
done`: the 0 is echo's."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tasks.models import Status
from tests.support.browser import sign_in_as
from tests.support.worker_thread import alice_calc_task, worker_start
from tests.support.worker_thread import publish_as_worker as publish

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

PIPED = "python3 -m unittest tests.test_recipes 2>&1 | tail -4"


def run(attempt_id: int, chunk: str, command: str, text: str, exit_code: int) -> None:
    publish(attempt_id, "command", {"call_id": chunk, "chunk_id": chunk, "command": command,
                                    "cwd": "/workspace"})
    publish(attempt_id, "output", {"chunk_id": chunk, "stream": "stdout", "text": text,
                                   "at": time.time()})
    publish(attempt_id, "command_end", {"call_id": chunk, "chunk_id": chunk,
                                        "exit_code": exit_code, "duration": 0.5,
                                        "truncated": False, "timed_out": False, "error": ""})


def test_a_piped_test_run_exiting_0_reads_tests_ran(browser_page, live_app, transactional_db):
    page = browser_page
    alice, task = alice_calc_task(prompt="Handle a negative n", attempts=1)
    attempt = task.attempts.get()
    publish(attempt.pk, "status", {"status": Status.QUEUED, "message": "Queued."})
    worker_start(attempt)
    sign_in_as(page, alice, live_app)
    page.goto(f"/tasks/{task.pk}/")
    tests = page.locator("#tab-1 [data-tab-tests]")
    expect(tests).to_have_text("no tests")

    run(attempt.pk, "plain", "pytest -q", "2 passed\n", 0)
    expect(tests).to_have_text("tests passed")
    run(attempt.pk, "piped", PIPED, "Ran 176 tests\n\nFAILED (failures=1, skipped=1)\n", 0)
    expect(page.locator("#chunk-piped")).to_contain_text("FAILED (failures=1")
    expect(tests).to_have_text("tests ran")

    page.reload()
    expect(page.locator("#tab-1 [data-tab-tests]")).to_have_text("tests ran")

    tests = page.locator("#tab-1 [data-tab-tests]")
    run(attempt.pk, "again", "pytest -q", "2 passed\n", 0)
    expect(tests).to_have_text("tests passed")
    run(attempt.pk, "then", "pytest -q; echo done", "1 failed, 1 passed\ndone\n", 0)
    expect(tests).to_have_text("tests ran")  # the 0 is echo's
