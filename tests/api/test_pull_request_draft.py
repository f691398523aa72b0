"""POST /api/v1/tasks/<id>/pr with `draft`: absent, the PR is a draft when the summary's checks
found problems; `false` opens it ready for review anyway (the job the request queues decides)."""

from __future__ import annotations

from tasks.pull_requests.jobs import open_pull_request
from tests.support.celery_queue import queue_clear, queued_jobs
from tests.support.connected_github import connect, connected_repository
from tests.support.finished_attempts import VERDICT, finished


def _opened(api, attempt, capture, payload=None):
    """POST Create PR through the API, then run the job it queued as the worker would."""
    queue_clear()
    with capture(execute=True):
        response = api.post(f"/tasks/{attempt.task_id}/pr", payload)
    assert response.status_code == 202, response.json()
    (job,) = [j for j in queued_jobs() if j.task == "repos.open_pull_request"]
    open_pull_request(*job.args)
    queue_clear()


def test_the_api_field_overrides_the_draft(
    alice_api, gh, webapp, acme, alice, django_capture_on_commit_callbacks  # noqa: F811
):
    connect(alice, gh, login="alice-gh")
    repository = connected_repository(acme, webapp)
    auto = finished(repository, alice, verdict=VERDICT)
    chosen = finished(repository, alice, verdict=VERDICT)
    _opened(alice_api, auto, django_capture_on_commit_callbacks)
    _opened(alice_api, chosen, django_capture_on_commit_callbacks, {"draft": False})
    assert [p.draft for p in webapp.pulls] == [True, False]
