"""POST /api/v1/tasks/<id>/pr for a follow-up of an attempt whose PR is open: the same job
updates that PR (tests/github/test_pull_request_update.py has the details) and the poll answers
with the parent's PR; a branch someone else moved is a failed state with the sentence why."""

from __future__ import annotations

import subprocess

import pytest

from tasks.pull_requests.jobs import open_pull_request
from tasks.pull_requests.models import PullRequestRecord
from tasks.pull_requests.services import pull_request_create
from tests.support.celery_queue import queue_clear, queued_jobs
from tests.support.connected_github import connect, connected_repository, push_commit
from tests.support.finished_attempts import finished, follow_up


@pytest.fixture
def child(gh, webapp, acme, alice):
    """Attempt 2, a follow-up of attempt 1 whose pull request is open."""
    connect(alice, gh, login="alice-gh")
    parent = finished(connected_repository(acme, webapp), alice)
    assert pull_request_create(attempt=parent, user=alice).state == "open"
    return follow_up(parent)


def _requested(api, attempt, capture):
    """POST the PR request for `attempt`, run the job it queued; return (accepted, polled)."""
    queue_clear()
    with capture(execute=True):
        response = api.post(f"/tasks/{attempt.task_id}/pr", {"attempt": attempt.index})
    assert response.status_code == 202, response.json()
    (job,) = [j for j in queued_jobs() if j.task == "repos.open_pull_request"]
    open_pull_request(*job.args)
    queue_clear()
    return response.json(), api.get(f"/attempts/{attempt.pk}/pr").json()


def test_the_api_updates_the_parents_pull_request(
    alice_api, webapp, child, django_capture_on_commit_callbacks  # noqa: F811
):
    parent = PullRequestRecord.objects.get(attempt=child.parent)
    accepted, polled = _requested(alice_api, child, django_capture_on_commit_callbacks)
    assert accepted["state"] == "creating" and accepted["updates_attempt"] == child.parent_id
    assert accepted["number"] == parent.number and accepted["branch"] == parent.branch
    assert polled["state"] == "open" and polled["url"] == parent.html_url
    (pull,) = webapp.pulls
    assert len(pull.comments) == 1
    branch_head = subprocess.run(["git", "-C", str(webapp.git_dir), "rev-parse", parent.branch],
                                 check=True, capture_output=True, text=True).stdout.strip()
    assert PullRequestRecord.objects.get(attempt=child).head_sha == branch_head


def test_the_api_reports_a_moved_branch(
    alice_api, webapp, child, tmp_path, django_capture_on_commit_callbacks  # noqa: F811
):
    parent = PullRequestRecord.objects.get(attempt=child.parent)
    push_commit(webapp.git_dir, tmp_path, {"notes.txt": "theirs\n"}, branch=parent.branch,
                message="their fix")
    _accepted, polled = _requested(alice_api, child, django_capture_on_commit_callbacks)
    assert polled["state"] == "failed"
    assert "has commits codexweb did not push" in polled["error"]
    assert "Nothing was pushed" in polled["error"]
    assert polled["resolvable"] is True  # the CLI then names `codexweb resolve`
    assert webapp.pulls[0].comments == []
