"""Review tasks through the REST API: create on a branch, a pull request or an attempt; read the
findings; post them as a PR review (202, then a job); who may. Every response is checked
against the OpenAPI description (tests/api/conftest.py)."""

from __future__ import annotations

import pytest

from tasks.models import Event, Status
from tasks.reviews.jobs import post_review
from tasks.reviews.models import ReviewRecord, ReviewTarget
from tests.support import factories
from tests.support.celery_queue import queued_jobs
from tests.support.connected_github import connect, connected_repository
from tests.support.finished_attempts import PATCH, finished

pytestmark = pytest.mark.usefixtures("empty_queue")

FINDING = {"file": "app.py", "line": 1, "severity": "major",
           "explanation": "v2 is not a greeting 【F:app.py†L1】",
           "citations": [{"raw": "【F:app.py†L1】", "kind": "F", "target": "app.py", "start": 1,
                          "end": 1, "valid": True, "reason": ""}]}


@pytest.fixture
def repository(gh, webapp, acme, alice):
    """acme/webapp on the GitHub stand-in, connected through alice's GitHub sign-in."""
    connect(alice, gh, login="alice-gh")
    return connected_repository(acme, webapp)


def finished_review(repository, author, *, pull: int | None = 1):
    """A succeeded Review attempt as the worker leaves it (record, summary and review events)."""
    task = factories.make_task(repository, author, mode="review", prompt="Review this change.")
    ReviewTarget.objects.create(task=task, kind="pull" if pull else "branch", pull_number=pull,
                                branch="" if pull else "feature")
    attempt = task.attempts.get()
    attempt.status, attempt.summary = Status.SUCCEEDED, "One problem."
    attempt.save()
    ReviewRecord.objects.create(attempt=attempt, diff=PATCH, pull_number=pull,
                                base_sha="a" * 40, head_sha="b" * 40)
    Event.objects.create(attempt=attempt, seq=1, kind="summary",
                         payload={"text": "One problem.", "citations": [], "flags": []})
    Event.objects.create(attempt=attempt, seq=2, kind="review", payload={
        "findings": [FINDING], "malformed": [{"text": "{}", "problem": "Not a finding"}]})
    return attempt


def test_create_a_review_of_a_branch(alice_api, acme_repo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.post("/tasks", {"repository": "acme/webapp", "mode": "review",
                                             "prompt": "Look for bugs",
                                             "review_branch": "feature"})
    assert response.status_code == 201, response.json()
    task = response.json()
    assert task["mode"] == "review" and task["branch"] == "main"
    target = ReviewTarget.objects.get(task_id=task["id"])
    assert (target.kind, target.branch) == ("branch", "feature")
    assert [j.task for j in queued_jobs()] == ["tasks.run_attempt"]


def test_create_a_review_of_an_attempts_own_diff(alice_api, acme_repo, alice):
    source = finished(acme_repo, alice)
    response = alice_api.post("/tasks", {"repository": "acme/webapp", "mode": "review",
                                         "prompt": "Review it", "review_attempt": source.pk})
    assert response.status_code == 201, response.json()
    target = ReviewTarget.objects.get(task_id=response.json()["id"])
    assert (target.kind, target.source_attempt_id) == ("attempt", source.pk)


@pytest.mark.parametrize(("extra", "message"), [
    ({}, "Say what to review: one branch, one pull request or one attempt."),
    ({"review_branch": "feature", "pull": 3},
     "Say what to review: one branch, one pull request or one attempt."),
    ({"pull": 3}, "Pull requests can be reviewed only in repositories from GitHub."),
    ({"review_branch": "main"}, "Review main against another branch than itself."),
])
def test_a_review_without_a_usable_target_is_refused_with_a_sentence(
        alice_api, acme_repo, extra, message):
    response = alice_api.post("/tasks", {"repository": "acme/webapp", "mode": "review",
                                         "prompt": "Review", **extra})
    assert response.status_code == 400
    assert response.json()["error"] == message


def test_another_teams_attempt_cannot_be_reviewed(carol_api, globex_repo, acme_repo, alice):
    source = finished(acme_repo, alice)
    response = carol_api.post("/tasks", {"repository": "globex/secret-plans", "mode": "review",
                                         "prompt": "Review", "review_attempt": source.pk})
    assert response.status_code == 400
    assert response.json()["error"] == f"No attempt {source.pk} you can see."


def test_read_the_findings(bob_api, carol_api, acme_repo, alice):
    attempt = finished_review(acme_repo, alice)
    review = bob_api.get(f"/attempts/{attempt.pk}/review").json()
    assert review["findings"] == [FINDING]
    assert review["malformed"] == [{"text": "{}", "problem": "Not a finding"}]
    assert review["summary"] == "One problem." and review["pull"] == 1
    assert review["post_state"] == "" and review["answered"] is True
    assert carol_api.get(f"/attempts/{attempt.pk}/review").status_code == 404


def test_a_branch_review_cannot_be_posted(alice_api, acme_repo, alice):
    attempt = finished_review(acme_repo, alice, pull=None)
    response = alice_api.post(f"/attempts/{attempt.pk}/review/post")
    assert response.status_code == 409
    assert response.json() == {"error": "Only a review of a pull request can be posted to "
                                        "GitHub.", "code": "cannot_post_review"}


@pytest.mark.django_db(transaction=True)
def test_post_a_review_through_the_api_then_the_job_posts_it(
        alice_api, webapp, repository, alice):
    opened = finished(repository, alice, patch=PATCH)  # a PR for the review to land on
    from tasks.pull_requests.services import pull_request_create

    pull = pull_request_create(attempt=opened, user=alice)
    attempt = finished_review(repository, alice, pull=pull.number)
    ReviewRecord.objects.filter(attempt=attempt).update(head_sha=pull.head_sha)

    response = alice_api.post(f"/attempts/{attempt.pk}/review/post")

    assert response.status_code == 202 and response.json()["post_state"] == "posting"
    (job,) = [j for j in queued_jobs() if j.task == "tasks.post_review"]
    post_review(*job.args)
    review = alice_api.get(f"/attempts/{attempt.pk}/review").json()
    assert review["post_state"] == "posted", review["post_error"]
    (gh_review,) = webapp.pulls[0].reviews
    assert review["post_url"].endswith(f"#pullrequestreview-{gh_review.id}")
    assert [(c.path, c.line) for c in gh_review.comments] == [("app.py", 1)]
    assert alice_api.post(f"/attempts/{attempt.pk}/review/post").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_post_a_review_as_request_changes_or_refuse_an_unknown_event(
        alice_api, repository, alice):
    attempt = finished_review(repository, alice, pull=1)

    refused = alice_api.post(f"/attempts/{attempt.pk}/review/post", {"event": "MERGE"})
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_request"
    assert ReviewRecord.objects.get(attempt=attempt).post_state == ""

    response = alice_api.post(f"/attempts/{attempt.pk}/review/post",
                              {"event": "REQUEST_CHANGES"})
    assert response.status_code == 202, response.json()
    record = ReviewRecord.objects.get(attempt=attempt)
    assert (record.post_state, record.post_event) == ("posting", "REQUEST_CHANGES")
    assert response.json()["post_event"] == "REQUEST_CHANGES"
