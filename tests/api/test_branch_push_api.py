"""The REST API for starting from a pull request, Push to branch and Resolve with the agent
(issue 15, items 2 and 4); every response is checked against the OpenAPI description. The
details of each flow: tests/github/test_branch_push.py, tests/agent/test_resolve_flow.py."""

from __future__ import annotations

import pytest

from tasks.models import Attempt, AttemptKind, Status, Task
from tasks.pull_requests.jobs import open_pull_request
from tests.support.celery_queue import queue_clear, queued_jobs
from tests.support.connected_github import connect, connected_repository, git, push_commit
from tests.support.finished_attempts import ANSWER, PATCH, greeting_webapp
from tests.support.github_state import PullRequest


@pytest.fixture
def webapp(gh, tmp_path):
    repo = greeting_webapp(gh, tmp_path)
    git(repo.git_dir, "branch", "feature", "main")
    head = git(repo.git_dir, "rev-parse", "feature")
    repo.pulls.append(PullRequest(number=7, id=70, title="Feature", body="", head="feature",
                                  base="main", head_sha=head, base_sha=head, author="alice-gh"))
    return repo


@pytest.fixture
def repository(gh, webapp, acme, alice):
    connect(alice, gh, login="alice-gh")
    return connected_repository(acme, webapp)


def _created(api, capture, body):
    queue_clear()
    with capture(execute=False):
        response = api.post("/tasks", body)
    queue_clear()
    return response


def _finish(task_id: int, base_commit: str) -> Attempt:
    attempt = Attempt.objects.get(task_id=task_id, index=1)
    attempt.status, attempt.patch, attempt.summary = Status.SUCCEEDED, PATCH, ANSWER
    attempt.base_commit = base_commit
    attempt.save()
    return attempt


def _pushed(api, attempt, capture):
    """POST /attempts/<id>/push, run the job it queued; return (accepted, polled)."""
    queue_clear()
    with capture(execute=True):
        response = api.post(f"/attempts/{attempt.pk}/push")
    assert response.status_code == 202, response.json()
    (job,) = [j for j in queued_jobs() if j.task == "repos.open_pull_request"]
    open_pull_request(*job.args)
    queue_clear()
    return response.json(), api.get(f"/attempts/{attempt.pk}/pr").json()


def test_a_task_starts_from_a_pull_request_and_pushes_back_to_its_branch(
        alice_api, webapp, repository, django_capture_on_commit_callbacks):
    response = _created(alice_api, django_capture_on_commit_callbacks, {
        "repository": "acme/webapp", "mode": "code", "prompt": "Say v2.", "pull_request": 7})
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["branch"], created["pull_request"]) == ("feature", 7)
    before = git(webapp.git_dir, "rev-parse", "feature")
    attempt = _finish(created["id"], before)

    accepted, polled = _pushed(alice_api, attempt, django_capture_on_commit_callbacks)

    assert accepted["state"] == "creating" and accepted["pushed_to_branch"] is True
    assert polled["state"] == "open" and polled["number"] == 7 and polled["branch"] == "feature"
    assert polled["head_sha"] == git(webapp.git_dir, "rev-parse", "feature")
    assert git(webapp.git_dir, "rev-parse", "feature~1") == before


def test_a_fork_is_refused_with_a_sentence(alice_api, gh, webapp, repository,
                                           django_capture_on_commit_callbacks):
    mallory = gh.state.add_user("mallory")
    fork = gh.state.add_repo("mallory", "webapp", private=False)
    webapp.pulls[0].head_repo, webapp.pulls[0].head_owner = fork, mallory
    response = _created(alice_api, django_capture_on_commit_callbacks, {
        "repository": "acme/webapp", "mode": "code", "prompt": "Say v2.",
        "pull_request": f"{gh.web_url}/acme/webapp/pull/7"})
    assert response.status_code == 400
    assert "comes from a fork (mallory/webapp)" in response.json()["error"]
    assert not Task.objects.exists()


def test_a_moved_branch_is_resolvable_and_resolve_queues_an_attempt(
        alice_api, webapp, repository, tmp_path, django_capture_on_commit_callbacks):
    created = _created(alice_api, django_capture_on_commit_callbacks, {
        "repository": "acme/webapp", "mode": "code", "prompt": "Say v2.", "branch": "feature"})
    assert created.status_code == 201, created.json()
    attempt = _finish(created.json()["id"], git(webapp.git_dir, "rev-parse", "feature"))
    push_commit(webapp.git_dir, tmp_path, {"app.py": "print('v3 theirs')\n"}, branch="feature",
                message="their change")

    _accepted, polled = _pushed(alice_api, attempt, django_capture_on_commit_callbacks)
    assert polled["state"] == "failed" and polled["resolvable"] is True
    assert "moved since attempt 1 started" in polled["error"]

    queue_clear()
    with django_capture_on_commit_callbacks(execute=False):
        response = alice_api.post(f"/attempts/{attempt.pk}/resolve")
    assert response.status_code == 201, response.json()
    new = response.json()
    assert (new["kind"], new["parent"], new["index"]) == ("resolve", attempt.pk, 2)
    assert Attempt.objects.get(pk=new["id"]).kind == AttemptKind.RESOLVE
    # The refused record now names the resolve under way, so a client offers no retry.
    again = alice_api.get(f"/attempts/{attempt.pk}/pr").json()
    assert again["resolution"] == {"attempt": new["id"], "index": 2, "state": "running"}
    assert polled["resolution"] is None  # before the resolve
    queue_clear()


def test_resolve_refuses_an_attempt_without_changes(alice_api, repository,
                                                    django_capture_on_commit_callbacks):
    created = _created(alice_api, django_capture_on_commit_callbacks, {
        "repository": "acme/webapp", "mode": "code", "prompt": "Say v2."})
    attempt = Attempt.objects.get(task_id=created.json()["id"], index=1)
    response = alice_api.post(f"/attempts/{attempt.pk}/resolve")
    assert response.status_code == 409
    assert response.json()["error"] == "Attempt 1 has no finished changes to resolve."


def test_another_teams_attempt_is_404(bob_api, globex_repo, carol):
    from tests.support import factories

    other = factories.make_task(globex_repo, carol, mode="code").attempts.get()
    for action in ("push", "resolve"):
        assert bob_api.post(f"/attempts/{other.pk}/{action}").status_code == 404
