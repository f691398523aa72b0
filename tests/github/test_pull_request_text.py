"""Create PR end to end against the GitHub stand-in, for what issue 15 asks of the PR itself:
title and branch from the change, warnings that make it a draft unless the person overrides it
(task page checkbox; the API field: tests/api/test_pull_request_draft.py), review flags and
changes by file in the body."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from repos.git import mirror
from tasks.pull_requests.models import PullRequestRecord
from tasks.pull_requests.services import pull_request_create, pull_request_open
from tests.support.connected_github import connect, connected_repository, push_commit
from tests.support.finished_attempts import PATCH, VERDICT, finished, greeting_webapp


@pytest.fixture
def webapp(gh, tmp_path):
    return greeting_webapp(gh, tmp_path)

RISKY = PATCH + """diff --git a/cfg b/cfg
new file mode 120000
index 0000000..1111111
--- /dev/null
+++ b/cfg
@@ -0,0 +1 @@
+../../home/runner/.ssh/id_rsa
\\ No newline at end of file
diff --git a/.github/workflows/ci.yml b/.github/workflows/ci.yml
new file mode 100644
index 0000000..2222222
--- /dev/null
+++ b/.github/workflows/ci.yml
@@ -0,0 +1,2 @@
+on: push
+jobs: {}
"""


def test_title_and_branch_come_from_the_agents_title_not_the_prompt(gh, webapp, acme, alice):
    connect(alice, gh, login="alice-gh")
    attempt = finished(connected_repository(acme, webapp), alice)
    record = pull_request_create(attempt=attempt, user=alice)
    assert record.state == PullRequestRecord.State.OPEN, record.error
    (pull,) = webapp.pulls
    assert pull.title == "Make the greeting say v2"
    assert record.branch.startswith("codex/make-the-greeting-say-v2-")
    assert not pull.body.startswith("Title:") and "Title: Make" not in pull.body
    assert "## Changes by file\n\n- `app.py` (modified, +1 −1)" in pull.body
    assert not pull.draft and "[!WARNING]" not in pull.body and "[!CAUTION]" not in pull.body


def test_unchecked_claims_open_a_draft_that_says_why(gh, webapp, acme, alice):
    connect(alice, gh, login="alice-gh")
    attempt = finished(connected_repository(acme, webapp), alice, verdict=VERDICT)
    record = pull_request_create(attempt=attempt, user=alice)
    (pull,) = webapp.pulls
    assert record.draft and pull.draft
    assert pull.body.startswith("> [!WARNING]\n> **Check before merging:**")
    assert "opened as a draft" in pull.body
    assert "> - 1 citation points at nothing that exists: `【F:gone.py†L4】` (gone.py does not " \
           "exist in the final tree)." in pull.body
    assert "> - Claims tests pass without citing a test run" in pull.body


def test_the_person_can_open_it_ready_for_review_anyway(gh, webapp, acme, alice):
    connect(alice, gh, login="alice-gh")
    attempt = finished(connected_repository(acme, webapp), alice, verdict=VERDICT)
    record = pull_request_create(attempt=attempt, user=alice, draft=False)
    (pull,) = webapp.pulls
    assert not record.draft and not pull.draft
    assert "marked it ready for review anyway" in pull.body


def test_risky_changes_are_flagged_at_the_top(gh, webapp, acme, alice):
    connect(alice, gh, login="alice-gh")
    attempt = finished(connected_repository(acme, webapp), alice, patch=RISKY)
    record = pull_request_create(attempt=attempt, user=alice)
    assert record.state == PullRequestRecord.State.OPEN, record.error
    body = webapp.pulls[0].body
    caution = body.split("## Summary")[0]
    assert caution.startswith("> [!CAUTION]")
    assert "> - `cfg`: symlink pointing outside the repository, to " \
           "`../../home/runner/.ssh/id_rsa`" in caution
    assert "> - `.github/workflows/ci.yml`: CI configuration" in caution
    assert "- `cfg` (added, +1 −0)" in body and "- `.github/workflows/ci.yml` (added" in body


def test_conventional_history_gives_a_conventional_title(gh, webapp, acme, alice, tmp_path):
    for n, subject in enumerate(["feat: add greeting", "fix(app): end line", "docs: usage"]):
        push_commit(webapp.git_dir, tmp_path, {f"n{n}.txt": subject}, message=subject)
    credential = connect(alice, gh, login="alice-gh")
    repository = connected_repository(acme, webapp)
    mirror.mirror_update(repository, token=credential.reveal())  # as the attempt left it
    record = pull_request_create(attempt=finished(repository, alice), user=alice)
    assert record.state == PullRequestRecord.State.OPEN, record.error
    assert webapp.pulls[0].title == "feat: make the greeting say v2"
    assert record.branch.startswith("codex/feat-make-the-greeting-say-v2-")


def test_the_task_page_checkbox_overrides_the_draft(alice_client, gh, webapp, acme, alice,
                                                    django_capture_on_commit_callbacks):
    connect(alice, gh, login="alice-gh")
    repository = connected_repository(acme, webapp)
    plain = finished(repository, alice, verdict=VERDICT)
    ready = finished(repository, alice, verdict=VERDICT)
    page = alice_client.get(reverse("tasks:detail", args=[plain.task_id])).content.decode()
    assert 'name="ready"' in page
    with django_capture_on_commit_callbacks(execute=False):
        alice_client.post(reverse("tasks:attempt_create_pr", args=[plain.pk]))
        alice_client.post(reverse("tasks:attempt_create_pr", args=[ready.pk]), {"ready": "1"})
    assert PullRequestRecord.objects.get(attempt=plain).draft is True
    record = PullRequestRecord.objects.get(attempt=ready)
    assert record.draft is False
    pull_request_open(record_id=record.pk)
    assert [p.draft for p in webapp.pulls] == [False]



def test_the_diff_on_the_task_page_flags_the_same_files(alice_client, acme_repo, alice):
    attempt = finished(acme_repo, alice, patch=RISKY)
    html = alice_client.get(reverse("tasks:attempt_result", args=[attempt.pk])).content.decode()
    flagged = re.findall(r'data-path="([^"]+)"(?:(?!</summary>).)*?data-review-flag="([^"]+)"',
                         html, re.S)
    assert flagged == [("cfg", "symlink_outside"), (".github/workflows/ci.yml", "ci")]
    assert 'title="Review closely: symlink pointing outside the repository' in html
    assert html.count("data-review-flag=") == 2  # app.py, an ordinary change, has none
