"""Update PR (issue 15, item 2), end to end against the GitHub stand-in with real git pushes
over smart HTTP: a follow-up of an attempt whose PR is open adds a commit to that PR's branch
(never a force-push), rewrites the body and comments on what changed; a branch someone else
moved is refused and nothing is pushed. The API's answer: tests/api/test_pull_request_update_api.py.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from django.urls import reverse

from codexweb.audit.models import AuditEntry
from tasks.models import Attempt, AttemptKind, Event, Status
from tasks.pull_requests.jobs import open_pull_request
from tasks.pull_requests.models import PullRequestRecord
from tasks.pull_requests.resolve import attempt_resolve
from tasks.pull_requests.services import PullRequestError, pull_request_create
from tasks.services import attempt_finish
from tasks.worker.workspace import prepare_workspace
from tests.support.celery_queue import queue_clear, queued_jobs
from tests.support.connected_github import connect, connected_repository, git, push_commit, pushes
from tests.support.finished_attempts import (
    FOLLOW_UP_ANSWER,
    FOLLOW_UP_PATCH,
    FOLLOW_UP_PROMPT,
    finished,
    follow_up,
    greeting_webapp,
)


@pytest.fixture
def webapp(gh, tmp_path):
    return greeting_webapp(gh, tmp_path)


@pytest.fixture
def opened(gh, webapp, acme, alice):
    """Attempt 1's pull request, open on the stand-in."""
    connect(alice, gh, login="alice-gh")
    parent = finished(connected_repository(acme, webapp), alice)
    record = pull_request_create(attempt=parent, user=alice)
    assert record.state == PullRequestRecord.State.OPEN, record.error
    return record


@pytest.mark.django_db
def test_a_follow_up_updates_the_same_pull_request(gh, webapp, opened, alice):
    child = follow_up(opened.attempt)

    record = pull_request_create(attempt=child, user=alice)

    assert record.state == PullRequestRecord.State.OPEN, record.error
    (pull,) = webapp.pulls  # no second pull request
    assert (record.number, record.html_url, record.branch) == \
        (opened.number, opened.html_url, opened.branch)
    bare, branch = webapp.git_dir, opened.branch
    # Two commits on the branch: the parent's, then the follow-up's on top (a fast-forward).
    assert git(bare, "rev-list", "--count", f"main..{branch}") == "2"
    assert git(bare, "rev-parse", f"{branch}~1") == opened.head_sha
    assert git(bare, "rev-parse", branch) == record.head_sha
    assert git(bare, "show", f"{branch}:app.py") == "print('v2 from the agent')\nprint('the end')"
    assert git(bare, "show", f"{branch}:test_app.py") == "import app"
    assert git(bare, "log", "-1", "--format=%s", branch) == "Say the end politely"
    assert "Also make the ending say 'the end'" in git(bare, "log", "-1", "--format=%b", branch)
    # The body now carries the follow-up's answer, its citation linked on the new commit.
    assert "The ending now says “the end”" in pull.body and "greeting now says" not in pull.body
    assert f"/blob/{record.head_sha}/app.py#L2" in pull.body
    assert "- `test_app.py` (added, +1 −0)" in pull.body
    (comment,) = pull.comments
    assert comment.author == "alice-gh"
    assert "attempt 2 continued attempt 1" in comment.body
    assert f"[`{record.head_sha[:7]}`]" in comment.body and "Say the end politely" in comment.body
    assert "> Also make the ending say 'the end', and add a test." in comment.body
    changed = comment.body.split("### What this update changed")[1]
    assert "- `app.py` (modified, +1 −1)" in changed  # only this update's own lines
    assert "- `test_app.py` (added, +1 −0)" in changed
    (entry,) = AuditEntry.objects.filter(action="pr.updated")
    assert entry.target == opened.html_url and entry.changes["attempt"] == 2

    again = pull_request_create(attempt=child, user=alice)  # a second click
    assert again.pk == record.pk and pushes(gh) == 2 and len(pull.comments) == 1


@pytest.mark.django_db
def test_a_branch_moved_by_someone_else_is_refused_and_nothing_is_pushed(
        gh, webapp, opened, alice, tmp_path):
    theirs = push_commit(webapp.git_dir, tmp_path, {"notes.txt": "reviewer's fix\n"},
                         branch=opened.branch, message="reviewer fix")
    body_before = webapp.pulls[0].body
    child = follow_up(opened.attempt)

    record = pull_request_create(attempt=child, user=alice)

    assert record.state == PullRequestRecord.State.FAILED
    assert record.error == (
        f"The branch {opened.branch} of pull request #{opened.number} has commits codexweb did "
        f"not push (it is at {theirs[:7]}; codexweb last pushed {opened.head_sha[:7]}). Nothing "
        "was pushed: codexweb adds commits on top of its own and never overwrites someone "
        "else's. Resolve with the agent (it rebases this follow-up onto their commits), or "
        "download this attempt's patch to apply it by hand.")
    assert record.resolvable  # the page, the API and the CLI offer "Resolve with the agent"
    assert git(webapp.git_dir, "rev-parse", opened.branch) == theirs
    assert pushes(gh) == 1  # only the parent's, when the PR was opened
    (pull,) = webapp.pulls
    assert pull.comments == [] and pull.body == body_before


@pytest.mark.django_db
def test_a_closed_pull_request_is_not_updated_and_create_pr_then_opens_a_new_one(
        gh, webapp, opened, alice):
    webapp.pulls[0].state = "closed"
    child = follow_up(opened.attempt)

    failed = pull_request_create(attempt=child, user=alice)

    assert failed.state == PullRequestRecord.State.FAILED
    assert failed.error.startswith(f"Pull request #{opened.number} is closed now")
    opened.refresh_from_db()
    assert opened.state == PullRequestRecord.State.CLOSED and pushes(gh) == 1

    retried = pull_request_create(attempt=child, user=alice)
    assert retried.pk == failed.pk and retried.state == PullRequestRecord.State.OPEN, retried.error
    assert retried.updates is None and retried.branch != opened.branch
    assert [p.number for p in webapp.pulls] == [opened.number, retried.number]


@pytest.mark.django_db
def test_the_task_page_offers_update_pr_on_the_follow_up(alice_client, webapp, opened):
    child = follow_up(opened.attempt)
    html = alice_client.get(reverse("tasks:detail", args=[child.task_id])).content.decode()
    assert f'data-pr-update="{opened.number}">Update PR #{opened.number}</button>' in html
    assert html.count("data-pr-update=") == 1  # attempt 1 shows its open PR, not a button
    assert f"Pull request #{opened.number} (open)" in html


NOTES = """diff --git a/NOTES.md b/NOTES.md
new file mode 100644
--- /dev/null
+++ b/NOTES.md
@@ -0,0 +1 @@
+Say the end.
"""


@pytest.mark.django_db
def test_a_follow_up_of_a_follow_up_adds_a_third_commit(gh, webapp, opened, alice):
    second = follow_up(opened.attempt)
    assert pull_request_create(attempt=second, user=alice).state == "open"
    third = follow_up(second, patch=FOLLOW_UP_PATCH + NOTES, prompt="Write it down.")

    record = pull_request_create(attempt=third, user=alice)

    assert record.state == PullRequestRecord.State.OPEN, record.error
    assert record.number == opened.number and len(webapp.pulls) == 1
    bare, branch = webapp.git_dir, opened.branch
    assert git(bare, "rev-list", "--count", f"main..{branch}") == "3"
    assert git(bare, "show", f"{branch}:NOTES.md") == "Say the end."
    assert git(bare, "show", f"{branch}:test_app.py") == "import app"
    last = webapp.pulls[0].comments[-1].body
    assert "attempt 3 continued attempt 2" in last
    assert last.split("### What this update changed")[1].count("\n- `") == 1  # NOTES.md only


@pytest.mark.django_db
def test_a_sibling_follow_up_does_not_undo_the_first_ones_update(gh, webapp, opened, alice):
    first = follow_up(opened.attempt)
    assert pull_request_create(attempt=first, user=alice).state == "open"
    sibling = follow_up(opened.attempt, prompt="Something else.")

    record = pull_request_create(attempt=sibling, user=alice)

    assert record.state == PullRequestRecord.State.FAILED
    assert record.error == (
        f"Pull request #{opened.number} was updated since attempt 1: attempt 2 pushed to it. "
        "Nothing was pushed; follow up on attempt 2 to update it again.")
    assert pushes(gh) == 2 and len(webapp.pulls[0].comments) == 1


@pytest.mark.django_db
def test_a_follow_up_that_asked_for_it_updates_the_pr_when_it_succeeds(
        alice_client, gh, webapp, opened, django_capture_on_commit_callbacks):
    page = alice_client.get(reverse("tasks:detail", args=[opened.attempt.task_id]))
    assert f"Push the result to pull request #{opened.number} when it succeeds" in \
        page.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        alice_client.post(reverse("tasks:attempt_follow_up", args=[opened.attempt_id]),
                          {"prompt": FOLLOW_UP_PROMPT, "update_pr": "1"})
    child = Attempt.objects.get(parent=opened.attempt)
    assert child.update_pull_request
    assert not PullRequestRecord.objects.filter(attempt=child).exists()

    queue_clear()
    with django_capture_on_commit_callbacks(execute=True):  # the worker records the end
        attempt_finish(attempt_id=child.pk, status=Status.SUCCEEDED, patch=FOLLOW_UP_PATCH,
                       summary=FOLLOW_UP_ANSWER)
    (job,) = [j for j in queued_jobs() if j.task == "repos.open_pull_request"]
    open_pull_request(*job.args)
    queue_clear()

    record = PullRequestRecord.objects.get(attempt=child)
    assert record.state == PullRequestRecord.State.OPEN, record.error
    assert record.number == opened.number and len(webapp.pulls) == 1
    assert git(webapp.git_dir, "rev-list", "--count", f"main..{opened.branch}") == "2"
    assert len(webapp.pulls[0].comments) == 1


@pytest.mark.django_db
def test_a_refused_update_is_resolved_onto_their_commits_and_pushed_to_the_same_pr(
        alice_client, gh, webapp, opened, alice, tmp_path, django_capture_on_commit_callbacks):
    """Someone pushed to the PR's branch: the follow-up's Update PR is refused and offers
    "Resolve with the agent"; the resolve attempt's workspace holds the PR's branch as it is
    now (not main), and its result goes onto that branch on top of their commit, same PR."""
    theirs = push_commit(webapp.git_dir, tmp_path, {"notes.txt": "reviewer's fix\n"},
                         branch=opened.branch, message="reviewer fix")
    child = follow_up(opened.attempt)
    child.base_commit = git(webapp.git_dir, "rev-parse", "main")
    child.save()
    assert pull_request_create(attempt=child, user=alice).resolvable
    html = alice_client.get(reverse("tasks:detail", args=[child.task_id])).content.decode()
    assert reverse("tasks:attempt_resolve", args=[child.pk]) in html

    assert f"Try Update PR #{opened.number} again" in html

    resolving = attempt_resolve(attempt=child, by=alice)

    assert (resolving.kind, resolving.parent_id) == (AttemptKind.RESOLVE, child.pk)
    assert f"The branch {opened.branch} moved since attempt 2 ran" in resolving.follow_up_prompt
    html = alice_client.get(reverse("tasks:detail", args=[child.task_id])).content.decode()
    assert "Attempt 3 is resolving this attempt's conflicts" in html
    assert "Try Update PR" not in html  # pressing it now would race the resolve attempt
    prepared = prepare_workspace(resolving, tmp_path / "resolve")
    assert prepared.base_commit == theirs  # the patch is taken against the PR's branch
    work = prepared.workspace
    assert git(work, "rev-parse", opened.branch) == theirs
    assert git(work, "rev-parse", "--abbrev-ref", "HEAD") == "codexweb/attempt-2"
    # What the agent does in its sandbox: rebase, resolve app.py (both changed line 1), go on.
    rebase = subprocess.run(["git", "-C", str(work), "rebase", opened.branch],
                            capture_output=True, text=True)
    assert "CONFLICT (content): Merge conflict in app.py" in rebase.stdout
    (work / "app.py").write_text("print('v2 from the agent')\nprint('the end')\n")
    git(work, "add", "app.py")
    subprocess.run(["git", "-C", str(work), "rebase", "--continue"], check=True,
                   capture_output=True, env={**os.environ, "GIT_EDITOR": "true"})
    patch = git(work, "diff", "--no-color", theirs, "HEAD") + "\n"
    assert "notes.txt" not in patch and "+print('the end')" in patch

    queue_clear()
    with django_capture_on_commit_callbacks(execute=True):  # the worker records the end
        attempt_finish(attempt_id=resolving.pk, status=Status.SUCCEEDED, patch=patch,
                       summary=FOLLOW_UP_ANSWER)
    (job,) = [j for j in queued_jobs() if j.task == "repos.open_pull_request"]
    open_pull_request(*job.args)
    queue_clear()

    record = PullRequestRecord.objects.get(attempt=resolving)
    assert record.state == PullRequestRecord.State.OPEN, record.error
    assert (record.branch, record.number, record.pushed_to_branch) == \
        (opened.branch, opened.number, True)
    bare, branch = webapp.git_dir, opened.branch
    assert git(bare, "rev-parse", f"{branch}~1") == theirs  # a fast-forward onto their commit
    assert git(bare, "show", f"{branch}:notes.txt") == "reviewer's fix"
    assert git(bare, "show", f"{branch}:app.py") == "print('v2 from the agent')\nprint('the end')"
    assert len(webapp.pulls) == 1
    # Attempt 2's card says where its changes went; it no longer offers the refused Update PR
    # (pressing it would be refused again: attempt 3 pushed to the PR) nor another resolve.
    html = alice_client.get(reverse("tasks:detail", args=[child.task_id])).content.decode()
    assert "Try Update PR" not in html
    assert reverse("tasks:attempt_resolve", args=[child.pk]) not in html
    assert (f"Attempt 3 resolved this attempt's conflicts and pushed <code>"
            f"{record.head_sha[:7]}</code> onto branch <code>{branch}</code> of pull request "
            f"#{opened.number}") in html


@pytest.mark.django_db
def test_a_resolution_of_an_update_offers_only_the_push_onto_the_prs_branch(
        alice_client, gh, webapp, opened, alice, tmp_path):
    """Its patch is taken against the PR's branch, so a new PR from main would be wrong."""
    push_commit(webapp.git_dir, tmp_path, {"notes.txt": "reviewer's fix\n"},
                branch=opened.branch, message="reviewer fix")
    child = follow_up(opened.attempt)
    child.base_commit = git(webapp.git_dir, "rev-parse", "main")
    child.save()
    pull_request_create(attempt=child, user=alice)
    resolving = attempt_resolve(attempt=child, by=alice)
    resolving.status, resolving.patch = Status.SUCCEEDED, FOLLOW_UP_PATCH
    resolving.save()

    with pytest.raises(PullRequestError, match=f"only be pushed there. Use Push to branch "
                                               f"{opened.branch}"):
        pull_request_create(attempt=resolving, user=alice)
    assert len(webapp.pulls) == 1 and pushes(gh) == 1
    html = alice_client.get(reverse("tasks:detail", args=[child.task_id])).content.decode()
    assert reverse("tasks:attempt_create_pr", args=[resolving.pk]) not in html
    assert reverse("tasks:attempt_push", args=[resolving.pk]) in html
    assert f'data-push-branch="{opened.branch}">Push to branch {opened.branch}</button>' in html


@pytest.mark.django_db
def test_a_github_without_pr_edits_or_comments_still_gets_the_update(gh, webapp, opened, alice):
    """An independent GitHub built to the shared contract alone has no PATCH pulls/{n} and no
    issue comments: the commit is pushed onto the PR, so the update is done, not failed."""
    child = follow_up(opened.attempt)
    body = webapp.pulls[0].body
    gh.state.contract_only = True

    record = pull_request_create(attempt=child, user=alice)

    assert record.state == PullRequestRecord.State.OPEN, record.error
    assert record.number == opened.number and pushes(gh) == 2
    assert git(webapp.git_dir, "rev-parse", opened.branch) == record.head_sha
    assert webapp.pulls[0].body == body and webapp.pulls[0].comments == []
    refused = {(r.method, r.path.rsplit("/", 1)[-1]) for r in gh.state.requests if r.status == 404}
    assert refused == {("PATCH", str(opened.number)), ("POST", "comments")}


@pytest.mark.django_db
def test_the_updated_body_shows_output_the_follow_up_cited_from_its_parent(
        gh, webapp, opened, alice):
    parent = opened.attempt
    run = {"chunk_id": "p1p1p1"}
    for seq, (kind, payload) in enumerate([
        ("command", {**run, "command": "python -m pytest -q", "cwd": "/workspace"}),
        ("output", {**run, "stream": "stdout", "text": "1 passed in 0.01s\n"}),
        ("command_end", {**run, "exit_code": 0}),
    ], start=10):
        Event.objects.create(attempt=parent, seq=seq, kind=kind, payload=payload)
    child = follow_up(parent, answer=FOLLOW_UP_ANSWER + " It passed before 【T:p1p1p1†L1】.")

    record = pull_request_create(attempt=child, user=alice)

    assert record.state == PullRequestRecord.State.OPEN, record.error
    (pull,) = webapp.pulls
    evidence = pull.body.split("## Test evidence")[1]
    assert "`python -m pytest -q`" in evidence and "1 passed in 0.01s" in evidence
