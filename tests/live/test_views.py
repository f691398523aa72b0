"""The task page and its pieces over HTTP: what they show, and that other teams get 404."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from tasks import events, services
from tasks.models import Attempt, Status, Task
from tests.support import factories
from tests.support.summaries import worker_summary

PATCH = """\
diff --git a/app/calc.py b/app/calc.py
new file mode 100644
--- /dev/null
+++ b/app/calc.py
@@ -0,0 +1,3 @@
+def add(a, b):
+    return a + b  # <script>alert(1)</script>
+
"""

SUMMARY = (
    "Added `add` in 【F:app/calc.py†L1-L2】; tests pass 【T:c1†L1-L2】. "
    "Bogus: 【T:zzz†L1】 <img src=x onerror=alert(1)>"
)


@pytest.fixture
def finished_attempt(acme_repo, alice):
    task = factories.make_task(acme_repo, alice, prompt="Add <b>add</b>", mode="code")
    attempt = task.attempts.get(index=1)
    events.publish(
        attempt.pk,
        "command",
        {"call_id": "x", "chunk_id": "c1", "command": "pytest -q", "cwd": "/w"},
    )
    events.publish(
        attempt.pk, "output", {"chunk_id": "c1", "stream": "stdout", "text": "..\n2 passed\n"}
    )
    events.publish(
        attempt.pk,
        "command_end",
        {"call_id": "x", "chunk_id": "c1", "exit_code": 0, "duration": 1.0},
    )
    events.publish(
        attempt.pk, "usage", {"input_tokens": 1000, "output_tokens": 234, "cost": 0.0123}
    )
    final_tree = {"app/calc.py": "def add(a, b):\n    return a + b\n\n"}
    events.publish(attempt.pk, "summary", worker_summary(attempt, SUMMARY, final_tree))
    services.attempt_claim(attempt_id=attempt.pk)
    return services.attempt_finish(
        attempt_id=attempt.pk, status=Status.SUCCEEDED, summary=SUMMARY, patch=PATCH
    )


def answer_ask(task, answer: str, final_tree: dict[str, str]) -> Attempt:
    """Finish the task's attempt with `answer`, as the worker does: the summary event with its
    verdicts on the citations (checked against `final_tree`), then the attempt's end."""
    attempt = task.attempts.get()
    events.publish(attempt.pk, "summary", worker_summary(attempt, answer, final_tree))
    services.attempt_claim(attempt_id=attempt.pk)
    return services.attempt_finish(attempt_id=attempt.pk, status=Status.SUCCEEDED, summary=answer)


def urls_for(attempt: Attempt) -> list[str]:
    return [
        reverse("tasks:detail", args=[attempt.task_id]),
        reverse("tasks:attempt_result", args=[attempt.pk]),
        reverse("tasks:attempt_file", args=[attempt.pk]) + "?path=app/calc.py",
        reverse("tasks:attempt_patch", args=[attempt.pk]),
    ]


def test_other_team_gets_404_everywhere(carol_client, globex, finished_attempt):
    for url in urls_for(finished_attempt):
        assert carol_client.get(url).status_code == 404, url
    follow_up = reverse("tasks:attempt_follow_up", args=[finished_attempt.pk])
    assert carol_client.post(follow_up, {"prompt": "steal"}).status_code == 404
    assert Attempt.objects.filter(task_id=finished_attempt.task_id).count() == 1


def test_anonymous_is_sent_to_sign_in(client, finished_attempt):
    for url in urls_for(finished_attempt):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_task_page_shows_facts_summary_and_diff(bob_client, finished_attempt):
    response = bob_client.get(reverse("tasks:detail", args=[finished_attempt.task_id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Add &lt;b&gt;add&lt;/b&gt;" in html
    assert "acme/webapp" in html and "tests passed" in html
    assert "1,234" in html and "$0.0123" in html
    assert 'class="cite cite-file"' in html and 'class="cite cite-terminal"' in html
    assert 'class="cite cite-invalid"' in html
    assert "<img src=x" not in html and "&lt;script&gt;alert(1)" in html
    assert f"git apply codexweb-task-{finished_attempt.task_id}-attempt-1.patch" in html
    assert "not on GitHub" in html  # the factory's repositories are plain git
    assert f'data-ws-path="/ws/attempts/{finished_attempt.pk}/"' in html


def test_result_fragment_of_a_running_attempt_has_no_summary(alice_client, acme_repo, alice):
    task = factories.make_task(acme_repo, alice, mode="code")
    attempt = task.attempts.get()
    response = alice_client.get(reverse("tasks:attempt_result", args=[attempt.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "The agent left no summary." in html
    assert 'class="markdown"' not in html and "data-download-patch" not in html


def test_a_lost_attempt_says_why_it_ended_in_place_of_an_empty_summary(
    alice_client, acme_repo, alice
):
    task = factories.make_task(acme_repo, alice, mode="code")
    attempt = task.attempts.get()
    services.attempt_claim(attempt_id=attempt.pk)
    Attempt.objects.filter(pk=attempt.pk).update(heartbeat_at=None)  # its worker died at once
    assert services.attempts_end_lost(heartbeat_timeout_seconds=-1) == [attempt.pk]
    fragment = alice_client.get(reverse("tasks:attempt_result", args=[attempt.pk]))
    html = fragment.content.decode()
    assert "Why it ended" in html and services.LOST_WORKER_MESSAGE in html
    assert "The agent left no summary." not in html and ">Summary<" not in html
    page = alice_client.get(reverse("tasks:detail", args=[task.pk])).content.decode()
    assert "data-result-for" in page and "Why it ended" in page
    assert re.search(r'data-attempt-error\s+hidden>', page)  # the alert above steps aside for it


def test_a_cancelled_attempt_without_an_error_still_says_how_it_ended(
    alice_client, acme_repo, alice
):
    task = factories.make_task(acme_repo, alice, mode="ask")
    attempt = task.attempts.get()
    services.attempt_claim(attempt_id=attempt.pk)
    services.attempt_finish(attempt_id=attempt.pk, status=Status.CANCELLED)
    html = alice_client.get(reverse("tasks:attempt_result", args=[attempt.pk])).content.decode()
    assert "The attempt was cancelled before the agent wrote a summary." in html
    assert "The agent left no summary." not in html


def test_the_task_header_splits_time_waited_from_time_ran_as_the_attempts_show_it(
    alice_client, acme_repo, alice
):
    """Queued at 12:00:00, started at 12:00:11, done at 12:01:09: the attempt ran 58s, and the
    header says so rather than a 1m 9s the attempt never shows. A parallel second attempt
    (12:00:30-12:00:50) lies inside the first's run: it adds nothing to the time ran."""
    t0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)
    task = factories.make_task(acme_repo, alice, mode="code", attempts=2)
    first, second = task.attempts.order_by("index")
    Task.objects.filter(pk=task.pk).update(created_at=t0)
    for attempt, start, end in ((first, 11, 69), (second, 30, 50)):
        Attempt.objects.filter(pk=attempt.pk).update(
            status=Status.SUCCEEDED, started_at=t0 + timedelta(seconds=start),
            finished_at=t0 + timedelta(seconds=end),
        )
    Task.objects.filter(pk=task.pk).update(
        status=Status.SUCCEEDED, finished_at=t0 + timedelta(seconds=69)
    )
    html = alice_client.get(reverse("tasks:detail", args=[task.pk])).content.decode()
    header = re.search(r'<dd id="task-elapsed"[^>]*>(.*?)</dd>', html, re.S)
    assert header, html
    text = re.sub(r"<[^>]+>", "", header.group(1))
    assert text == "waited 11s · ran 58s"


def test_file_excerpt_highlights_the_cited_lines(alice_client, finished_attempt):
    url = reverse("tasks:attempt_file", args=[finished_attempt.pk])
    response = alice_client.get(url, {"path": "app/calc.py", "start": 2, "end": 2, "partial": 1})
    html = response.content.decode()
    assert response.status_code == 200
    assert '<tr id="L2" class="hl-line">' in html and '<tr id="L1">' in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    page = alice_client.get(url, {"path": "app/calc.py"})
    assert page.status_code == 200 and b"<html" in page.content
    missing = alice_client.get(url, {"path": "README.md", "partial": 1})
    assert b"final tree is not stored" in missing.content
    assert alice_client.get(url).status_code == 400


def test_patch_download(alice_client, finished_attempt):
    response = alice_client.get(reverse("tasks:attempt_patch", args=[finished_attempt.pk]))
    assert response.status_code == 200
    assert response.content.decode() == PATCH
    assert response["Content-Disposition"] == (
        f'attachment; filename="codexweb-task-{finished_attempt.task_id}-attempt-'
        f'{finished_attempt.index}.patch"'
    )  # as the page names the attempt, not by its database id


def test_follow_up_creates_a_queued_child_attempt(alice_client, finished_attempt):
    url = reverse("tasks:attempt_follow_up", args=[finished_attempt.pk])
    response = alice_client.post(url, {"prompt": "  Also add subtract  "})
    child = Attempt.objects.get(task_id=finished_attempt.task_id, index=2)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/tasks/{finished_attempt.task_id}/#attempt-2")
    assert child.parent_id == finished_attempt.pk
    assert child.follow_up_prompt == "Also add subtract"
    assert child.status == Status.QUEUED
    assert list(child.events.values_list("kind", flat=True)) == ["status"]
    child.task.refresh_from_db()
    assert child.task.status == Status.RUNNING  # one attempt done, one queued


def test_follow_up_refused_while_running_or_empty(alice_client, acme_repo, alice, finished_attempt):
    running = factories.make_task(acme_repo, alice).attempts.get()
    response = alice_client.post(
        reverse("tasks:attempt_follow_up", args=[running.pk]), {"prompt": "more"}, follow=True
    )
    assert b"Wait for this attempt to finish" in response.content
    response = alice_client.post(
        reverse("tasks:attempt_follow_up", args=[finished_attempt.pk]),
        {"prompt": "  "},
        follow=True,
    )
    assert b"Write what the agent should do next" in response.content
    assert Attempt.objects.filter(parent__isnull=False).count() == 0


def test_follow_up_service_numbers_attempts_after_the_last(finished_attempt, alice):
    first = services.attempt_follow_up(attempt=finished_attempt, prompt="one", by=alice)
    services.attempt_cancel(attempt_id=first.pk, by=alice)
    second = services.attempt_follow_up(attempt=first, prompt="two", by=alice)
    assert (first.index, second.index) == (2, 3)
    assert second.parent_id == first.pk


def test_create_pr_is_offered_for_a_succeeded_attempt_on_github(
    alice_client, acme, alice, finished_attempt
):
    repo = finished_attempt.task.repository
    repo.provider = repo.Provider.GITHUB
    repo.save()
    page = reverse("tasks:detail", args=[finished_attempt.task_id])
    html = alice_client.get(page).content.decode()
    assert reverse("tasks:attempt_create_pr", args=[finished_attempt.pk]) in html
    Attempt.objects.filter(pk=finished_attempt.pk).update(status=Status.FAILED)
    html = alice_client.get(page).content.decode()
    assert "Only a succeeded attempt can become a pull request." in html


def test_ask_task_shows_the_answer_without_diff_or_pull_request(alice_client, acme_repo, alice):
    task = factories.make_task(acme_repo, alice, mode="ask", prompt="Where is auth handled?")
    answer_ask(task, "In **auth.py** 【F:auth.py†L3】.", {"auth.py": "import os\n\ndef login():\n"})
    html = alice_client.get(reverse("tasks:detail", args=[task.pk])).content.decode()
    assert "<strong>auth.py</strong>" in html
    # The worker checked it against the final tree; no patch or stored file is needed to link it.
    assert 'class="cite cite-file"' in html and "cite-invalid" not in html
    assert "Changes" not in html and "Create PR" not in html and "Download patch" not in html
    assert "Follow up on attempt 1" in html


def test_stored_token_and_cost_totals_show_without_usage_events(alice_client, acme_repo, alice):
    task = factories.make_task(acme_repo, alice, mode="code")
    Attempt.objects.filter(task=task).update(input_tokens=900, output_tokens=100, cost="0.5")
    html = alice_client.get(reverse("tasks:detail", args=[task.pk])).content.decode()
    assert "1,000" in html and "$0.5000" in html


def test_file_view_shows_a_cited_unchanged_file_in_full(alice_client, acme_repo, alice):
    """Ask tasks change nothing; the worker keeps the cited files so their lines can open."""
    from tests.support.factories import make_task

    attempt = make_task(acme_repo, alice).attempts.get()
    attempt.cited_files = {"app/main.py": "import os\n\ndef main():\n    return os.getcwd()\n"}
    attempt.save()
    page = alice_client.get(
        f"/attempts/{attempt.pk}/file/", {"path": "app/main.py", "start": 3, "end": 4}
    ).content.decode()
    assert "can&#x27;t be shown" not in page and "can't be shown" not in page
    assert "getcwd" in page
    other = alice_client.get(f"/attempts/{attempt.pk}/file/", {"path": "other.py"})
    assert "is not changed by the attempt&#x27;s patch" in other.content.decode()


def test_page_shows_the_workers_verdicts_not_a_recheck(alice_client, acme_repo, alice):
    """The worker checked the citations against the final tree when the attempt ended; the page
    shows those verdicts even where what it stores now says otherwise, and links a file by the
    path the worker resolved (so the link opens the copy the worker kept)."""
    task = factories.make_task(acme_repo, alice, mode="ask", prompt="Where is main?")
    attempt = answer_ask(task, "In 【F:/workspace/app/main.py†L3】, not 【F:app/gone.py†L1】.",
                         {"app/main.py": "import os\n\ndef main():\n"})
    # The stored copy of the cited file differs from the tree the worker checked (e.g. a later
    # edit of this row); the verdict still stands, and app/gone.py stays invalid though it is here.
    Attempt.objects.filter(pk=attempt.pk).update(
        cited_files={"app/main.py": "kept_by_worker = 1\n", "app/gone.py": "y = 2\n"}
    )

    html = alice_client.get(reverse("tasks:attempt_result", args=[attempt.pk])).content.decode()

    link = reverse("tasks:attempt_file", args=[attempt.pk]) + "?path=app%2Fmain.py&amp;start=3"
    assert f'<a class="cite cite-file" href="{link}' in html
    assert 'title="Invalid citation: app/gone.py does not exist in the final tree"' in html
    assert "1 citation in this summary does not match" in html
    # The link opens the copy the worker kept (an unresolved "/workspace/..." path would not).
    opened = alice_client.get(link.replace("&amp;", "&") + "&end=3").content.decode()
    assert "kept_by_worker" in opened and "can&#x27;t be shown" not in opened


def test_a_test_command_cut_off_by_the_attempts_end_shows_as_interrupted(
    alice_client, acme_repo, alice
):
    """The worker died while `pytest` ran: the tab must not say the tests are still running."""
    task = factories.make_task(acme_repo, alice, prompt="Fix it", mode="code")
    attempt = task.attempts.get(index=1)
    events.publish(attempt.pk, "command",
                   {"call_id": "x", "chunk_id": "c9", "command": "pytest -q", "cwd": "/w"})
    page = alice_client.get(reverse("tasks:detail", args=[task.pk])).content.decode()
    assert "tests running" in page  # while the attempt runs, it is

    Attempt.objects.filter(pk=attempt.pk).update(status=Status.FAILED)
    page = alice_client.get(reverse("tasks:detail", args=[task.pk])).content.decode()
    assert "tests interrupted" in page and "tests running" not in page


MOVED = (
    "diff --git a/calc.py b/calc.py\ndeleted file mode 100644\n"
    "index 3c3a7ec8b5f0fbb3bd0f6a4ab7e81c0a1e4a1d32..0000000000000000000000000000000000000000\n"
    "--- a/calc.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-def add(a, b):\n-    return a + b\n"
    "diff --git a/arith.py b/arith.py\nnew file mode 100644\n"
    "index 0000000000000000000000000000000000000000..3c3a7ec8b5f0fbb3bd0f6a4ab7e81c0a1e4a1d32\n"
    "--- /dev/null\n+++ b/arith.py\n@@ -0,0 +1,2 @@\n+def add(a, b):\n+    return a + b\n"
)


def test_a_file_moved_unchanged_reads_as_a_move_on_the_page(alice_client, acme_repo, alice):
    task = factories.make_task(acme_repo, alice, mode="code")
    services.attempt_finish(attempt_id=task.attempts.get().pk, status=Status.SUCCEEDED,
                            patch=MOVED)
    html = alice_client.get(reverse("tasks:detail", args=[task.pk])).content.decode()
    assert "moved to arith.py, unchanged" in html and "moved from calc.py, unchanged" in html
    # Both sides start closed (the lines are the same file's), their hunks still there.
    files = re.findall(r'<details class="diff-file"[^>]*>', html)
    assert len(files) == 2 and not any(" open>" in tag for tag in files), files
    assert html.count('class="d-del"') == 2 and html.count('class="d-add"') == 2
