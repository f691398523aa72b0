"""The live task page in Chromium, fed the way the worker feeds it.

The test process plays the worker: it appends events with `tasks.events.publish` and ends
attempts with the services, against the same PostgreSQL and Redis the daphne child serves from.
Screenshots go to artifacts/screenshots/live-*.png.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import expect

from tasks import events, services
from tasks.models import Attempt, Status
from tasks.steering.services import steer_take
from tests.support.browser import screenshot, sign_in_as
from tests.support.summaries import worker_summary
from tests.support.worker_thread import (
    alice_calc_task,
    as_worker,
    worker_start,
)
from tests.support.worker_thread import publish_as_worker as publish

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

PATCH = """\
diff --git a/app/calc.py b/app/calc.py
--- a/app/calc.py
+++ b/app/calc.py
@@ -1,3 +1,6 @@
 def add(a, b):
     return a + b
+
+def sub(a, b):
+    return a - b
 # end
diff --git a/tests/test_calc.py b/tests/test_calc.py
new file mode 100644
--- /dev/null
+++ b/tests/test_calc.py
@@ -0,0 +1,5 @@
+from app.calc import add, sub
+
+
+def test_sub():
+    assert sub(3, 1) == 2
"""

SUMMARY = """\
Added `sub` next to `add` 【F:app/calc.py†L4-L5】 with a test 【F:tests/test_calc.py†L4-L5】.

- The suite passes: 【T:run2†L2-L3】
- A wrong reference: 【T:nochunk†L1】
"""


@pytest.fixture
def scene(transactional_db):
    alice, task = alice_calc_task(prompt="Add a sub function with a test", attempts=2)
    attempts = list(task.attempts.order_by("index"))
    for attempt in attempts:  # as services.task_create does (without enqueueing a job)
        publish(attempt.pk, "status", {"status": Status.QUEUED, "message": "Queued."})
    return {"alice": alice, "task": task, "attempts": attempts}


def run_command(
    attempt_id: int, chunk: str, command: str, lines: list[str], exit_code: int
) -> None:
    publish(
        attempt_id,
        "command",
        {"call_id": chunk, "chunk_id": chunk, "command": command, "cwd": "/workspace"},
    )
    for line in lines:
        publish(
            attempt_id,
            "output",
            {"chunk_id": chunk, "stream": "stdout", "text": line + "\n", "at": time.time()},
        )
    publish(
        attempt_id,
        "command_end",
        {
            "call_id": chunk,
            "chunk_id": chunk,
            "exit_code": exit_code,
            "duration": 0.8,
            "truncated": False,
            "timed_out": False,
            "error": "",
        },
    )


def panel(page, index: int):
    return page.locator(f"#attempt-{index}")


def test_watch_an_attempt_stream_live_then_follow_its_evidence(browser_page, live_app, scene):
    page = browser_page
    task, first = scene["task"], scene["attempts"][0]
    sign_in_as(page, scene["alice"], live_app)
    page.goto(f"/tasks/{task.pk}/")
    expect(page.get_by_role("heading", name=task.title)).to_be_visible()
    expect(page.locator("#tab-1")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#tab-2")).to_contain_text("Queued")
    log = panel(page, 1).locator("[data-log]")
    expect(log).to_contain_text("Queued")
    sidebar_badge = page.locator(f'#sidebar a[data-task-id="{task.pk}"] [data-status]')
    expect(sidebar_badge).to_have_text("Queued")

    worker_start(first)
    expect(panel(page, 1).locator("[data-attempt-status]")).to_have_text("Running")
    expect(sidebar_badge).to_have_text("Running")  # the team socket, live
    expect(page.locator("#task-status")).to_have_text("Running")
    publish(first.pk, "phase", {"phase": "agent", "message": "Agent started."})
    publish(first.pk, "message", {"text": "I'll look at app/calc.py and run the tests."})
    expect(log).to_contain_text("I'll look at app/calc.py and run the tests.")

    run_command(
        first.pk,
        "run1",
        "pytest -q",
        ["F.", "FAILED tests/test_calc.py::test_sub", "1 failed, 1 passed"],
        exit_code=1,
    )
    chunk1 = page.locator("#chunk-run1")
    expect(chunk1).to_contain_text("1 failed, 1 passed")
    expect(chunk1.locator(".exit")).to_contain_text("exit 1")
    expect(page.locator("#tab-1 [data-tab-tests]")).to_have_text("tests failed")
    screenshot(page, "live-01-streaming")

    publish(first.pk, "patch", {"call_id": "p1", "ok": True, "files": ["app/calc.py"], "error": ""})
    run_command(first.pk, "run2", "pytest -q", ["..", "2 passed in 0.01s", "ok"], exit_code=0)
    publish(first.pk, "usage", {"input_tokens": 12000, "output_tokens": 345, "cost": 0.0421})
    expect(page.locator("#chunk-run2 .exit")).to_contain_text("exit 0")
    expect(page.locator("#tab-1 [data-tab-tests]")).to_have_text("tests passed")
    expect(panel(page, 1).locator("[data-tokens]")).to_have_text("12,345")
    expect(page.locator("#task-cost")).to_have_text("$0.0421")

    final_tree = {
        "app/calc.py": "def add(a, b):\n    return a + b\n\ndef sub(a, b):\n"
        "    return a - b\n# end\n",
        "tests/test_calc.py": "from app.calc import add, sub\n\n\ndef test_sub():\n    pass\n",
    }
    publish(first.pk, "summary", as_worker(worker_summary, first, SUMMARY, final_tree))
    as_worker(
        services.attempt_finish,
        attempt_id=first.pk,
        status=Status.SUCCEEDED,
        summary=SUMMARY,
        patch=PATCH,
    )
    result = panel(page, 1).locator("[data-result]")
    expect(result.locator(".summary")).to_contain_text("Added sub next to add")
    expect(panel(page, 1).locator("[data-attempt-status]")).to_have_text("Succeeded")
    # The header's run time is the attempt's own; the time in the queue is apart, named.
    expect(page.locator("#task-elapsed")).to_have_text(re.compile(r"^waited \d+s · ran \d+s$"))
    expect(page.locator("#task-ran")).to_have_text(
        panel(page, 1).locator("[data-elapsed]").inner_text()
    )
    expect(panel(page, 1).locator("[data-cancel]")).to_have_count(0)
    expect(page.locator("#tab-1 [data-tab-lines]")).to_have_text("+8 −0")
    invalid = result.locator(".cite-invalid")
    expect(invalid).to_have_count(1)
    expect(invalid).to_contain_text("nochunk")
    screenshot(page, "live-02-finished", full_page=True)

    # A terminal citation opens the chunk and marks its lines 2-3.
    page.locator("#chunk-run2 > summary").click()  # collapse it first
    result.locator("a.cite-terminal").click()
    cited = page.locator("#chunk-run2 .ln.cited")
    expect(cited).to_have_count(2)
    expect(cited.nth(0)).to_have_text("2 passed in 0.01s")
    expect(cited.nth(0)).to_be_in_viewport()
    screenshot(page, "live-03-terminal-citation")

    # A file citation opens the new file's lines, highlighted.
    result.locator("a.cite-file", has_text="tests/test_calc.py").click()
    viewer = page.locator("#file-viewer")
    expect(viewer).to_be_visible()
    highlighted = viewer.locator("tr.hl-line")
    expect(highlighted).to_have_count(2)
    expect(highlighted.nth(1)).to_contain_text("assert sub(3, 1) == 2")
    screenshot(page, "live-04-file-citation")
    viewer.get_by_role("button", name="Close").click()
    expect(viewer).to_be_hidden()
    # A modified file: only the lines the patch shows, the cited ones marked.
    result.locator("a.cite-file", has_text="app/calc.py").click()
    expect(viewer.locator("tr.hl-line")).to_have_count(2)
    expect(viewer.locator(".excerpt-note")).to_contain_text("Only the parts of this file")
    viewer.get_by_role("button", name="Close").click()

    # The diff: per-file sections with counts; collapse and expand; patch and apply command.
    files = result.locator("details.diff-file")
    expect(files).to_have_count(2)
    expect(files.nth(1).locator("summary")).to_contain_text("tests/test_calc.py")
    expect(files.nth(1).locator("summary")).to_contain_text("+5")
    result.get_by_role("button", name="Collapse all").click()
    expect(files.nth(0).locator("table")).to_be_hidden()
    result.get_by_role("button", name="Expand all").click()
    expect(files.nth(0).locator("tr.d-add").first).to_be_visible()
    expect(files.nth(0).locator(".hl .k").first).to_have_text("def")  # Pygments highlighting
    download = result.get_by_role("link", name="Download patch")
    with page.expect_download() as info:
        download.click()
    patch_name = f"codexweb-task-{first.task_id}-attempt-{first.index}.patch"  # as the page says
    assert info.value.suggested_filename == patch_name
    assert Path(info.value.path()).read_text() == PATCH
    expect(result.locator("[data-copy-source]")).to_have_text(
        f"git apply {patch_name}"
    )
    pr = result.get_by_role("button", name="Create PR")
    expect(pr).to_be_disabled()
    expect(result.locator("[data-pr-reason]")).to_contain_text("not on GitHub")
    screenshot(page, "live-05-diff", full_page=True)

    # The other attempt's tab shows its own (empty) log; the first keeps its state.
    page.locator("#tab-2").click()
    expect(panel(page, 2)).to_be_visible()
    expect(panel(page, 1)).to_be_hidden()
    assert page.js_errors == []


def test_cancel_with_confirmation_then_follow_up(browser_page, live_app, scene):
    page = browser_page
    task, first = scene["task"], scene["attempts"][0]
    worker_start(first)
    run_command(first.pk, "c1", "make build", ["building…"], exit_code=0)
    sign_in_as(page, scene["alice"], live_app)
    page.goto(f"/tasks/{task.pk}/")
    cancel = panel(page, 1).get_by_role("button", name="Cancel")
    expect(cancel).to_be_visible()

    messages = []
    page.once("dialog", lambda d: (messages.append(d.message), d.dismiss()))
    cancel.click()
    expect(cancel).to_be_visible()
    first.refresh_from_db()
    assert first.status == Status.RUNNING and "Cancel attempt 1?" in messages[0]

    page.once("dialog", lambda d: d.accept())
    cancel.click()
    expect(panel(page, 1).locator("[data-attempt-status]")).to_have_text("Cancelled")
    first.refresh_from_db()
    assert first.status == Status.CANCELLED
    expect(panel(page, 1).locator("[data-attempt-error]")).to_contain_text("Cancelled by alice")
    screenshot(page, "live-06-cancelled")

    composer = panel(page, 1).get_by_label("Follow up on attempt 1")
    composer.fill("Keep going, but skip the slow tests.")
    panel(page, 1).get_by_role("button", name="Send follow-up").click()
    expect(page).to_have_url(re.compile(rf"/tasks/{task.pk}/#attempt-3$"))
    expect(page.locator("#tab-3")).to_have_attribute("aria-selected", "true")
    expect(panel(page, 3)).to_contain_text("Follow-up to attempt 1:")
    expect(panel(page, 3)).to_contain_text("Keep going, but skip the slow tests.")
    expect(panel(page, 3).locator("[data-log]")).to_contain_text("follow-up to attempt 1 by alice")
    child = Attempt.objects.get(task=task, index=3)
    assert child.parent_id == first.pk and child.status == Status.QUEUED
    # The new attempt streams like any other.
    worker_start(child)
    publish(child.pk, "message", {"text": "Continuing from attempt 1."})
    expect(panel(page, 3).locator("[data-log]")).to_contain_text("Continuing from attempt 1.")
    screenshot(page, "live-07-follow-up")

    # Its answer cites output of attempt 1 (its model saw that chunk): the link opens tab 1 there.
    answer = "The build had started 【T:c1†L1】."
    publish(child.pk, "summary", as_worker(worker_summary, child, answer))
    as_worker(services.attempt_finish, attempt_id=child.pk, status=Status.SUCCEEDED,
              summary=answer, patch="")
    cite = panel(page, 3).locator("[data-result] a.cite-terminal")
    expect(cite).to_have_text(re.compile("c1"))
    cite.click()
    expect(page.locator("#tab-1")).to_have_attribute("aria-selected", "true")
    cited = page.locator("#chunk-c1 .ln.cited")
    expect(cited).to_have_text("building…")
    expect(cited).to_be_in_viewport()
    assert page.js_errors == []


def test_message_the_running_agent_then_stop_after_this_step(browser_page, live_app, scene):
    """Issue 14 item 1: the box under a running attempt's log sends the agent a message; the log
    shows it where the worker gave it to the model; "Stop after this step" asks to end it."""
    page = browser_page
    task, first = scene["task"], scene["attempts"][0]
    worker_start(first)
    sign_in_as(page, scene["alice"], live_app)
    page.goto(f"/tasks/{task.pk}/")
    panel(page, 1).get_by_label("Message the agent").fill("Also update the docs.")
    panel(page, 1).get_by_role("button", name="Send", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/tasks/{task.pk}/#attempt-1$"))
    expect(page.locator("body")).to_contain_text("the agent gets your message")

    taken = as_worker(steer_take, attempt_id=first.pk)  # the worker, at the next turn boundary
    assert [(t.text, t.by, t.stop) for t in taken] == [("Also update the docs.", "alice", False)]
    publish(first.pk, "steer", {"text": taken[0].text, "by": taken[0].by, "stop": False})
    expect(panel(page, 1).locator("[data-log]")).to_contain_text("alice: Also update the docs.")

    panel(page, 1).get_by_role("button", name="Stop after this step").click()
    expect(page.locator("body")).to_contain_text("will stop after its current step")
    taken = as_worker(steer_take, attempt_id=first.pk)
    assert [(t.text, t.stop) for t in taken] == [("", True)]
    publish(first.pk, "steer", {"text": "", "by": "alice", "stop": True})
    expect(panel(page, 1).locator("[data-log]")).to_contain_text(
        "alice asked the agent to stop after this step")
    as_worker(services.attempt_finish, attempt_id=first.pk, status=Status.STOPPED,
              summary="Stopped by alice after step 1.", error="Stopped after this step by alice.")
    expect(panel(page, 1).locator("[data-attempt-status]")).to_have_text("Stopped")
    expect(panel(page, 1).get_by_label("Message the agent")).to_have_count(0)
    expect(panel(page, 1).get_by_label("Follow up on attempt 1")).to_be_visible()
    screenshot(page, "live-08-steer")
    assert page.js_errors == []


XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'


def test_model_output_file_names_and_logs_stay_inert(browser_page, live_app, scene):
    page = browser_page
    task, first = scene["task"], scene["attempts"][0]
    evil_path = 'docs/<img src=x onerror="window.__pwned=1">.md'
    patch = (
        f"diff --git a/{evil_path} b/{evil_path}\nnew file mode 100644\n--- /dev/null\n"
        f"+++ b/{evil_path}\n@@ -0,0 +1,1 @@\n+{XSS}\n"
    )
    summary = (
        f"Done {XSS} [link](javascript:window.__pwned=1) 【F:{evil_path}†L1】 "
        f'【T:x" onmouseover="window.__pwned=1†L1】'
    )
    worker_start(first)
    publish(first.pk, "message", {"text": f"Thinking {XSS}"})
    publish(first.pk, "reasoning", {"text": XSS})
    publish(
        first.pk,
        "command",
        {"call_id": "e", "chunk_id": "e1", "command": f"echo '{XSS}'", "cwd": XSS},
    )
    publish(
        first.pk,
        "output",
        {
            "chunk_id": "e1",
            "stream": "stdout",
            "text": f"\x1b[31m{XSS}\x1b[0m\n\x1b]0;{XSS}\x07tail\n",
        },
    )
    publish(
        first.pk,
        "command_end",
        {
            "call_id": "e",
            "chunk_id": "e1",
            "exit_code": 0,
            "duration": 0.1,
            "truncated": False,
            "timed_out": False,
            "error": XSS,
        },
    )
    publish(first.pk, "patch", {"call_id": "p", "ok": True, "files": [evil_path], "error": ""})
    publish(first.pk, "tool_error", {"call_id": "t", "tool": XSS, "error": XSS})
    stored = as_worker(worker_summary, first, summary, {evil_path: f"{XSS}\n"})
    publish(first.pk, "summary", stored)
    as_worker(
        services.attempt_finish,
        attempt_id=first.pk,
        status=Status.SUCCEEDED,
        summary=summary,
        patch=patch,
    )
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in_as(page, scene["alice"], live_app)
    page.goto(f"/tasks/{task.pk}/")
    log = panel(page, 1).locator("[data-log]")
    expect(log).to_contain_text("Thinking <script>window.__pwned=1</script>")
    expect(page.locator("#chunk-e1 .ln").first).to_have_text(XSS)  # ANSI gone, text literal
    expect(page.locator("#chunk-e1 .ln").nth(1)).to_have_text("tail")
    result = panel(page, 1).locator("[data-result]")
    expect(result.locator(".summary")).to_contain_text("Done <script>")
    expect(result.locator("details.diff-file summary")).to_contain_text(evil_path)
    result.locator("a.cite-file").click()
    expect(page.locator("#file-viewer tr.hl-line")).to_contain_text("<script>window.__pwned=1")
    page.locator("#file-viewer").get_by_role("button", name="Close").click()
    page.wait_for_timeout(300)
    screenshot(page, "live-08-xss-inert", full_page=True)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("main img").count() == 0
    assert page.locator("main script").count() == 0
    assert page.locator("[onerror], [onmouseover]").count() == 0
    assert page.locator('a[href^="javascript"]').count() == 0
    assert dialogs == []
    assert page.js_errors == []


def test_a_50000_line_log_and_a_5000_line_diff_stay_responsive(browser_page, live_app, scene):
    page = browser_page
    task, first = scene["task"], scene["attempts"][0]
    worker_start(first)
    publish(
        first.pk,
        "command",
        {"call_id": "big", "chunk_id": "big", "command": "make -j", "cwd": "/workspace"},
    )
    for block in range(100):  # 100 events of 500 lines
        text = "".join(f"compile unit {block * 500 + i + 1:05d} ok\n" for i in range(500))
        publish(first.pk, "output", {"chunk_id": "big", "stream": "stdout", "text": text})
    sign_in_as(page, scene["alice"], live_app)
    started = time.monotonic()
    page.goto(f"/tasks/{task.pk}/")
    big = page.locator("#chunk-big")
    expect(big.locator(".ln").last).to_have_text("compile unit 50000 ok", timeout=60_000)
    replayed = time.monotonic() - started
    rendered = big.locator(".ln").count()
    assert rendered <= 1000, f"{rendered} lines in the DOM for a 50,000-line log"
    expect(big.locator(".chunk-more")).to_contain_text("earlier lines")
    # Still streaming live on top of that, and the page answers input promptly.
    for block in range(10):
        text = "".join(f"link step {block * 500 + i + 1} ok\n" for i in range(500))
        publish(first.pk, "output", {"chunk_id": "big", "stream": "stdout", "text": text})
    expect(big.locator(".ln").last).to_have_text("link step 5000 ok", timeout=60_000)
    assert big.locator(".ln").count() <= 1000
    probe_started = time.monotonic()
    page.locator("#tab-2").click()
    expect(page.locator("#tab-2")).to_have_attribute("aria-selected", "true")
    page.locator("#tab-1").click()
    expect(panel(page, 1)).to_be_visible()
    tab_switch = time.monotonic() - probe_started
    # Scrolling up pauses auto-scroll; "Follow the log" resumes it.
    page.locator("#attempt-1 [data-log]").evaluate("el => { el.scrollTop = 0; }")
    jump = panel(page, 1).locator("[data-jump]")
    expect(jump).to_be_visible()
    publish(first.pk, "output", {"chunk_id": "big", "stream": "stdout", "text": "later\n"})
    expect(big.locator(".ln").last).to_have_text("later")
    assert page.locator("#attempt-1 [data-log]").evaluate("el => el.scrollTop") == 0
    jump.click()
    expect(jump).to_be_hidden()
    screenshot(page, "live-09-big-log")

    files = []
    for f in range(10):  # 10 files × 500 added lines = a 5,000-line diff
        body = "".join(f"+value_{f}_{i} = {i}  # generated\n" for i in range(500))
        files.append(
            f"diff --git a/gen/m{f}.py b/gen/m{f}.py\nnew file mode 100644\n"
            f"--- /dev/null\n+++ b/gen/m{f}.py\n@@ -0,0 +1,500 @@\n{body}"
        )
    publish(
        first.pk,
        "command_end",
        {
            "call_id": "big",
            "chunk_id": "big",
            "exit_code": 0,
            "duration": 90.0,
            "truncated": False,
            "timed_out": False,
            "error": "",
        },
    )
    diff_started = time.monotonic()
    as_worker(
        services.attempt_finish,
        attempt_id=first.pk,
        status=Status.SUCCEEDED,
        summary="Generated ten modules.",
        patch="".join(files),
    )
    result = panel(page, 1).locator("[data-result]")
    expect(result.locator("details.diff-file")).to_have_count(10, timeout=60_000)
    diff_loaded = time.monotonic() - diff_started
    expect(big).not_to_have_attribute("open", "")  # a long finished command collapses
    # Collapsed files keep their rows out of the DOM until opened.
    assert result.locator("tr.d-add").count() == 0
    expand_started = time.monotonic()
    result.get_by_role("button", name="Expand all").click()
    expect(result.locator("tr.d-add")).to_have_count(5000, timeout=60_000)
    expanded = time.monotonic() - expand_started
    expect(page.locator("#tab-1 [data-tab-lines]")).to_have_text("+5000 −0")
    screenshot(page, "live-10-big-diff")
    # Figures for people, not assertions (a loaded 2-core machine makes any bound a flake);
    # what is asserted above is what keeps the page responsive: the lines in the DOM.
    print(
        f"\nreplay of 50,000 lines: {replayed:.2f}s; tab switch: {tab_switch:.2f}s; "
        f"diff fragment: {diff_loaded:.2f}s; expand 5,000 lines: {expanded:.2f}s"
    )
    assert page.js_errors == []


def test_a_reconnecting_page_misses_nothing_and_repeats_nothing(browser_page, live_app, scene):
    page = browser_page
    task, first = scene["task"], scene["attempts"][0]
    worker_start(first)
    publish(
        first.pk, "command", {"call_id": "n", "chunk_id": "n", "command": "seq 300", "cwd": "/"}
    )
    sign_in_as(page, scene["alice"], live_app)
    page.goto(f"/tasks/{task.pk}/")
    expect(page.locator("#chunk-n")).to_be_visible()

    def write(start_at: int, count: int) -> None:
        for i in range(start_at, start_at + count):
            events.publish(
                first.pk, "output", {"chunk_id": "n", "stream": "stdout", "text": f"{i}\n"}
            )

    drop = "() => window.codexwebLive.panels[0].ws.close()"
    with ThreadPoolExecutor(max_workers=1) as pool:
        for round_ in range(3):  # cut the socket while the worker keeps writing
            page.wait_for_function(
                f"() => window.codexwebLive.panels[0].opened === {round_ + 1}"
                " && window.codexwebLive.panels[0].ws.readyState === 1"
            )
            job = pool.submit(lambda r=round_: (write(r * 100 + 1, 100), connection.close()))
            page.wait_for_timeout(30)
            page.evaluate(drop)
            job.result(timeout=60)
    page.wait_for_function("() => window.codexwebLive.panels[0].opened === 4")
    expect(page.locator("#chunk-n .ln").last).to_have_text("300", timeout=20_000)
    lines = page.evaluate("() => window.codexwebLive.panels[0].chunks['n'].lines")
    assert lines == [str(i) for i in range(1, 301)]
    expect(panel(page, 1).locator("[data-conn]")).to_have_text("")
    assert page.js_errors == []


def test_a_link_to_a_chunk_opens_that_output(browser_page, live_app, scene):
    page = browser_page
    task, first = scene["task"], scene["attempts"][0]
    worker_start(first)
    lines = [f"row {i}" for i in range(1, 61)]  # long enough to start collapsed
    run_command(first.pk, "early", "cat rows.txt", lines, 0)
    run_command(first.pk, "late", "ls", ["a", "b"], 0)
    sign_in_as(page, scene["alice"], live_app)
    page.goto(f"/tasks/{task.pk}/#chunk-early")
    early = page.locator("#chunk-early")
    expect(early).to_have_attribute("open", "")
    expect(early.locator(".ln").last).to_have_text("row 60")
    expect(early).to_be_in_viewport()
    # Without the hash, the same long finished output starts collapsed.
    page.goto(f"/tasks/{task.pk}/")
    expect(page.locator("#chunk-late .ln")).to_have_count(2)
    expect(page.locator("#chunk-early")).not_to_have_attribute("open", "")
    page.locator("#chunk-early .chunk-id").click()
    expect(page.locator("#chunk-early")).to_have_attribute("open", "")
    assert page.js_errors == []


def test_phone_layout(phone_page, live_app, scene):
    page = phone_page
    task, first = scene["task"], scene["attempts"][0]
    worker_start(first)
    publish(first.pk, "message", {"text": "Reading the code on a small screen."})
    run_command(first.pk, "p1", "pytest -q", ["2 passed"], 0)
    as_worker(
        services.attempt_finish,
        attempt_id=first.pk,
        status=Status.SUCCEEDED,
        summary=SUMMARY,
        patch=PATCH,
    )
    sign_in_as(page, scene["alice"], live_app)
    page.goto(f"/tasks/{task.pk}/")
    expect(panel(page, 1).locator(".summary")).to_contain_text("Added sub")
    expect(panel(page, 1).locator("[data-log]")).to_contain_text("Reading the code")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    screenshot(page, "live-11-phone", full_page=True)
    assert page.js_errors == []


def test_a_message_shows_its_citations_as_labels_and_a_cut_off_command_as_interrupted(
    browser_page, live_app, scene
):
    """Citation brackets are CJK punctuation many fonts cannot draw: the log shows labels. When
    the attempt ends (here: the worker was lost) a command still running says it was cut off."""
    page = browser_page
    task, first = scene["task"], scene["attempts"][0]
    sign_in_as(page, scene["alice"], live_app)
    page.goto(f"/tasks/{task.pk}/")
    worker_start(first)
    publish(first.pk, "message", {"text": "See 【F:app/calc.py†L2-L3】 and 【T:run1†L1】."})
    log = panel(page, 1).locator("[data-log]")
    labels = log.locator(".ev-message .cite-inline")
    expect(labels).to_have_text(["app/calc.py:L2-L3", "terminal run1 L1"])
    expect(log.locator(".ev-message")).not_to_contain_text("【")

    publish(first.pk, "command",
            {"call_id": "c", "chunk_id": "long1", "command": "pytest -q", "cwd": "/workspace"})
    expect(page.locator("#chunk-long1 .exit")).to_have_text("running")
    as_worker(services.attempt_finish, attempt_id=first.pk, status=Status.FAILED,
              error="The worker running this attempt stopped.")
    expect(page.locator("#chunk-long1 .exit")).to_have_text("interrupted")
    # The tab's badge keeps its own width beside a wider "no changes" (a grid cell stretches).
    tab = page.locator("#tab-1")
    expect(tab.locator("[data-attempt-status]")).to_have_text("Failed")
    expect(tab.locator("[data-tab-lines]")).to_have_text("no changes")
    assert _badge_fits_its_text(tab.locator("[data-attempt-status]"))


def _badge_fits_its_text(badge) -> bool:  # noqa: ANN001
    return badge.evaluate(
        """b => { const text = document.createRange(); text.selectNodeContents(b);
                  const s = getComputedStyle(b);
                  const padding = parseFloat(s.paddingLeft) + parseFloat(s.paddingRight);
                  return b.getBoundingClientRect().width
                         <= text.getBoundingClientRect().width + padding + 1; }"""
    )


def test_a_refused_request_is_approved_from_the_live_log(browser_page, live_app, scene):
    """Issue 14 item 3: a refusal shows live with "Allow once for this attempt" (and, for an
    admin, "Add to this repository's allowlist"); clicking it records the approval, every open
    page hears who allowed what, and the page rebuilt from stored events shows the same."""
    from tasks.approvals.models import EgressApproval
    from tests.support.egress_approvals import BLOCKED, refused_attempt

    page = browser_page
    repo, alice = scene["task"].repository, scene["alice"]
    attempt = as_worker(refused_attempt, repo, alice)
    sign_in_as(page, alice, live_app)
    page.goto(f"/tasks/{attempt.task_id}/")
    log = panel(page, 1).locator("[data-log]")
    refused = f"the agent tried GET https://{BLOCKED}/left-pad — refused"
    expect(log).to_contain_text(refused)
    expect(log.get_by_role("button", name="Add to this repository's allowlist")).to_be_visible()

    log.get_by_role("button", name="Allow once for this attempt").click()

    expect(log).to_contain_text("the agent is told after its next command")
    expect(log).to_contain_text(f"✓ alice allowed {BLOCKED} for this attempt")
    expect(log.get_by_role("button", name="Allow once for this attempt")).to_have_count(0)
    approval = as_worker(lambda: EgressApproval.objects.select_related("approved_by").get())
    assert (approval.host, approval.scope, approval.approved_by.username) == (
        BLOCKED, "attempt", "alice")
    screenshot(page, "live-09-egress-approval")

    page.reload()  # the same log from the stored events
    expect(log).to_contain_text(refused)
    expect(log).to_contain_text(f"✓ alice allowed {BLOCKED} for this attempt")
    expect(log.get_by_role("button", name="Allow once for this attempt")).to_have_count(0)
    assert page.js_errors == []
