"""The task page's first moments: what the server drew stays true while the socket replays.

A page loaded after many events shows the attempt's status, tests and tokens as the server drew
them at every moment, while its socket replays the stored log, and shows that log whole, at once,
when the replay is done. A script installed before the page's own ones records every state the
badges and the log take, so a passing glimpse of a stale "Queued" or of a half-built log fails
the test, without sleeping or timing anything.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tasks import services
from tasks.models import Attempt, Event, Status
from tests.support.browser import sign_in_as
from tests.support.worker_thread import (
    alice_calc_task,
    as_worker,
    worker_start,
)
from tests.support.worker_thread import publish_as_worker as publish

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

# Installed before the page's scripts: the badges' texts in the order they were shown, and how
# many entries attempt 1's log had when it first became visible. They are read after every
# socket message the page handles (a paint may fall between any two: Chromium hands messages
# that arrived together over in one go, so an observer of the DOM alone would miss states) and
# after every DOM change.
RECORDER = """
(() => {
  const seen = { tab: [], panel: [], shownWith: null };
  window.__seen = seen;
  const note = (list, node) => {
    const text = node ? node.textContent.trim() : null;
    if (text && list[list.length - 1] !== text) list.push(text);
  };
  const record = () => {
    note(seen.tab, document.querySelector("#tab-1 [data-attempt-status]"));
    note(seen.panel, document.querySelector("#attempt-1 [data-attempt-status]"));
    const timeline = document.querySelector("#attempt-1 [data-timeline]");
    if (timeline && !timeline.hidden && seen.shownWith === null) {
      seen.shownWith = timeline.children.length;
    }
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    set onmessage(handler) {
      super.onmessage = (e) => { handler.call(this, e); record(); };
    }
    get onmessage() { return super.onmessage; }
  };
  new MutationObserver(record)
    .observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
})();
"""
PATCH = "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1,2 @@\n x = 1\n+y = 2\n"
CAUGHT_UP = (
    "() => { const p = document.querySelector('#attempt-1');"
    " return p && !('replaying' in p.dataset) && !p.querySelector('[data-timeline]').hidden; }"
)


@pytest.fixture
def scene(transactional_db):
    alice, task = alice_calc_task(prompt="Add a sub function", attempts=1)
    attempt = task.attempts.get()
    publish(attempt.pk, "status", {"status": Status.QUEUED, "message": "Queued."})
    worker_start(attempt)
    return {"alice": alice, "task": task, "attempt": attempt}


def store_commands(attempt, count: int) -> None:
    """`count` finished commands (the last one a passing test run) and a usage event, stored
    the way the worker leaves them, in one write: the page replays them from the database."""
    seq = Attempt.objects.get(pk=attempt.pk).last_seq
    rows = []

    def add(kind: str, payload: dict) -> None:
        nonlocal seq
        seq += 1
        rows.append(Event(attempt=attempt, seq=seq, kind=kind, payload=payload))

    for n in range(1, count + 1):
        chunk = f"c{n}"
        command = "pytest -q" if n == count else f"grep -n add app/file{n}.py"
        add("command", {"call_id": chunk, "chunk_id": chunk, "command": command, "cwd": "/w"})
        add("output", {"chunk_id": chunk, "stream": "stdout", "text": f"line of {chunk}\n"})
        add("command_end", {"call_id": chunk, "chunk_id": chunk, "exit_code": 0,
                            "duration": 0.1, "truncated": False, "timed_out": False, "error": ""})
        if n == count // 2:
            add("usage", {"input_tokens": 1000, "output_tokens": 10, "cost": 0.001})
    add("usage", {"input_tokens": 12000, "output_tokens": 345, "cost": 0.0421})
    Event.objects.bulk_create(rows)
    Attempt.objects.filter(pk=attempt.pk).update(last_seq=seq)


def test_a_finished_attempt_shows_its_end_and_its_whole_log_from_the_start(
    browser_page, live_app, scene
):
    page = browser_page
    attempt = scene["attempt"]
    store_commands(attempt, 400)  # 1,202 events, then the final status: a replay of moments
    as_worker(services.attempt_finish, attempt_id=attempt.pk, status=Status.SUCCEEDED,
              summary="Added `sub`.", patch=PATCH)
    sign_in_as(page, scene["alice"], live_app)
    page.add_init_script(RECORDER)
    page.goto(f"/tasks/{scene['task'].pk}/", wait_until="domcontentloaded", timeout=60_000)
    page.wait_for_function(CAUGHT_UP, timeout=60_000)
    panel = page.locator("#attempt-1")
    # Three status lines and 400 commands...
    expect(panel.locator("[data-timeline] > li")).to_have_count(403, timeout=60_000)
    expect(panel.locator("#chunk-c400 .exit")).to_contain_text("exit 0")

    seen = page.evaluate("() => window.__seen")
    assert seen["tab"] == ["Succeeded"]
    assert seen["panel"] == ["Succeeded"]
    assert seen["shownWith"] == 403  # ...all there the moment the log appeared
    expect(panel.locator("[data-log-empty]")).to_have_count(0)
    expect(panel.locator("[data-timeline]")).to_contain_text("Succeeded")
    expect(page.locator("#tab-1 [data-tab-tests]")).to_have_text("tests passed")
    expect(panel.locator("[data-tokens]")).to_have_text("12,345")
    expect(page.locator("#task-tokens")).to_have_text("12,345")
    assert page.js_errors == []


def test_a_running_attempt_never_goes_back_on_load_nor_on_reconnect(
    browser_page, live_app, scene
):
    page = browser_page
    attempt = scene["attempt"]
    store_commands(attempt, 150)
    sign_in_as(page, scene["alice"], live_app)
    page.add_init_script(RECORDER)
    page.goto(f"/tasks/{scene['task'].pk}/", wait_until="domcontentloaded", timeout=60_000)
    page.wait_for_function(CAUGHT_UP, timeout=60_000)
    expect(page.locator("#chunk-c150 .exit")).to_contain_text("exit 0", timeout=60_000)
    seen = page.evaluate("() => window.__seen")
    assert seen["tab"] == ["Running"]
    assert seen["shownWith"] == 152  # queued, running, 150 commands
    expect(page.locator("#tab-1 [data-tab-tests]")).to_have_text("tests passed")

    # Live events after the replay still move everything forward.
    publish(attempt.pk, "command", {"call_id": "t2", "chunk_id": "t2", "command": "pytest",
                                    "cwd": "/w"})
    expect(page.locator("#tab-1 [data-tab-tests]")).to_have_text("tests running")
    publish(attempt.pk, "usage", {"input_tokens": 20000, "output_tokens": 1, "cost": 0.05})
    expect(page.locator("#attempt-1 [data-tokens]")).to_have_text("20,001")

    # The socket drops; the attempt ends meanwhile (or just after): the page catches up.
    page.wait_for_function("() => window.codexwebLive.panels[0].opened === 1")
    page.evaluate("() => window.codexwebLive.panels[0].ws.close()")
    as_worker(services.attempt_finish, attempt_id=attempt.pk, status=Status.FAILED,
              error="The tests failed.")
    page.wait_for_function("() => window.codexwebLive.panels[0].opened === 2")
    expect(page.locator("#tab-1 [data-attempt-status]")).to_have_text("Failed")
    expect(page.locator("#attempt-1 [data-attempt-error]")).to_have_text("The tests failed.")
    seen = page.evaluate("() => window.__seen")
    assert seen["tab"] == ["Running", "Failed"]
    assert seen["panel"] == ["Running", "Failed"]
    assert page.js_errors == []
