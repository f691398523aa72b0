"""POST /api/v1/tasks/<id>/pr against the GitHub stand-in: the request queues the job the page's
button queues (202 + a URL to poll), the job opens the PR, a second call returns the same PR, the
audit log records it; refusals are JSON with a reason."""

from __future__ import annotations

import pytest

from codexweb.audit.models import AuditEntry
from tasks.models import Status
from tasks.pull_requests.jobs import open_pull_request
from tasks.pull_requests.models import PullRequestRecord
from tests.support import factories
from tests.support.celery_queue import queue_clear, queued_jobs
from tests.support.connected_github import connect, connected_repository, serve
from tests.support.finished_attempts import follow_up

PATCH = """diff --git a/app.py b/app.py
--- a/app.py
+++ b/app.py
@@ -1 +1 @@
-print('v1')
+print('v2')
"""


@pytest.fixture
def webapp(gh, tmp_path):
    gh.state.add_user("alice-gh")
    gh.state.add_user("bob-gh")
    gh.state.add_org("acme", members={"alice-gh": "write", "bob-gh": "read"})
    return serve(gh, tmp_path, "acme", "webapp", {"app.py": "print('v1')\n"})


def _finished(repository, author):
    task = factories.make_succeeded_attempt(repository, author, patch=PATCH, summary="Now v2.").task
    task.status = Status.SUCCEEDED
    task.save()
    return task


def _requested(api, task, callbacks_capture):
    """POST the PR request; return the response and the jobs it queued (after commit)."""
    queue_clear()
    with callbacks_capture(execute=True):
        response = api.post(f"/tasks/{task.pk}/pr")
    return response, [job for job in queued_jobs() if job.task == "repos.open_pull_request"]


def test_pr_is_a_job_polled_to_open_and_audited(
    alice_api, gh, webapp, acme, alice, django_capture_on_commit_callbacks  # noqa: F811
):
    connect(alice, gh, login="alice-gh")
    task = _finished(connected_repository(acme, webapp), alice)
    attempt = task.attempts.get()
    response, jobs = _requested(alice_api, task, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.json()
    accepted = response.json()
    poll = f"/api/v1/attempts/{attempt.pk}/pr"
    assert accepted["state"] == "creating" and accepted["poll_url"] == poll
    assert response["Location"] == poll and accepted["branch"].startswith("codex/")
    assert webapp.pulls == []  # nothing opened inside the request
    (job,) = jobs
    assert job.args == [PullRequestRecord.objects.get(attempt=attempt).pk]

    open_pull_request(*job.args)  # what the worker does with the queued job
    polled = alice_api.get(f"/attempts/{attempt.pk}/pr")
    assert polled.status_code == 200
    body = polled.json()
    (pull,) = webapp.pulls
    assert body["state"] == "open" and body["number"] == pull.number
    assert body["url"].endswith(f"/acme/webapp/pull/{pull.number}")

    again, more_jobs = _requested(alice_api, task, django_capture_on_commit_callbacks)
    assert again.status_code == 200 and again.json()["url"] == body["url"]
    assert more_jobs == [] and len(webapp.pulls) == 1
    (entry,) = AuditEntry.objects.filter(team=acme, action="pr.created")
    assert entry.actor_name == "alice" and entry.target == body["url"]
    assert entry.changes["number"] == pull.number
    queue_clear()


def test_a_failed_pr_job_is_polled_with_its_reason_and_can_be_asked_again(
    alice_api, gh, webapp, acme, alice, django_capture_on_commit_callbacks  # noqa: F811
):
    connect(alice, gh, login="alice-gh")
    task = _finished(connected_repository(acme, webapp), alice)
    attempt = task.attempts.get()
    attempt.patch = PATCH.replace("print('v1')", "print('v0')")  # no longer applies
    attempt.save(update_fields=["patch"])
    response, (job,) = _requested(alice_api, task, django_capture_on_commit_callbacks)
    assert response.status_code == 202

    open_pull_request(*job.args)
    body = alice_api.get(f"/attempts/{attempt.pk}/pr").json()
    assert body["state"] == "failed" and "no longer applies" in body["error"]
    assert webapp.pulls == []

    retried, jobs = _requested(alice_api, task, django_capture_on_commit_callbacks)
    assert retried.status_code == 202 and retried.json()["state"] == "creating"
    assert len(jobs) == 1 and retried.json()["error"] == ""
    queue_clear()


def test_pr_without_an_attempt_opens_the_latest_that_succeeded_after_a_follow_up(
    alice_api, gh, webapp, acme, alice, django_capture_on_commit_callbacks  # noqa: F811
):
    """`codexweb pr ID` sends no attempt: after a follow-up that succeeded, its patch (which
    carries the parent's changes) is the one to open, not the first attempt's; a later follow-up
    that failed changes nothing."""
    connect(alice, gh, login="alice-gh")
    task = _finished(connected_repository(acme, webapp), alice)
    first = task.attempts.get()
    second = follow_up(first, patch=PATCH)
    failed = follow_up(second, patch="")
    failed.status = Status.FAILED
    failed.save(update_fields=["status"])

    response, jobs = _requested(alice_api, task, django_capture_on_commit_callbacks)

    assert response.status_code == 202, response.json()
    assert response.json()["attempt"] == second.pk
    (record,) = PullRequestRecord.objects.all()
    assert record.attempt_id == second.pk and len(jobs) == 1
    queue_clear()


def test_pr_poll_is_404_without_a_record_or_for_another_team(
    alice_api, carol_api, acme_repo, alice  # noqa: F811
):
    attempt = factories.make_task(acme_repo, alice, mode="code").attempts.get()
    missing = alice_api.get(f"/attempts/{attempt.pk}/pr")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert carol_api.get(f"/attempts/{attempt.pk}/pr").status_code == 404


def test_pr_refused_without_push_access(bob_api, gh, webapp, acme, alice, bob):
    connect(bob, gh, login="bob-gh")
    task = _finished(connected_repository(acme, webapp), alice)
    response = bob_api.post(f"/tasks/{task.pk}/pr")
    assert response.status_code == 409
    assert response.json()["code"] == "cannot_open_pr" and response.json()["error"]
    assert webapp.pulls == []
    assert not AuditEntry.objects.filter(action="pr.created").exists()
