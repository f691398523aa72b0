"""The task page's "Push to branch X" (a task started from a branch or pull request) and
"Resolve with the agent" (a push or Create PR that met a conflict), against the GitHub stand-in.
Another team's person gets 404 from both. The flows: tests/github/test_branch_push.py."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tasks.models import AttemptKind, Status
from tasks.pull_requests.models import PullRequestRecord
from tasks.pull_requests.services import PullRequestError, pull_request_create, pull_request_open
from tests.support import factories
from tests.support.connected_github import connect, connected_repository, git, push_commit
from tests.support.finished_attempts import ANSWER, PATCH, follow_up, greeting_webapp

pytestmark = pytest.mark.django_db


@pytest.fixture
def webapp(gh, tmp_path):
    repo = greeting_webapp(gh, tmp_path)
    git(repo.git_dir, "branch", "feature", "main")
    return repo


@pytest.fixture
def on_feature(gh, webapp, acme, alice):
    """A succeeded attempt of a task started from the branch `feature`."""
    connect(alice, gh, login="alice-gh")
    task = factories.make_task(connected_repository(acme, webapp), alice, mode="code",
                               prompt="Say v2.")
    task.base_branch = "feature"
    task.save()
    attempt = task.attempts.get()
    attempt.status, attempt.patch, attempt.summary = Status.SUCCEEDED, PATCH, ANSWER
    attempt.base_commit = git(webapp.git_dir, "rev-parse", "feature")
    attempt.save()
    return attempt


def test_push_to_branch_then_resolve_from_the_task_page(
        alice_client, webapp, on_feature, tmp_path, django_capture_on_commit_callbacks):
    attempt = on_feature
    page = reverse("tasks:detail", args=[attempt.task_id])
    html = alice_client.get(page).content.decode()
    push_url = reverse("tasks:attempt_push", args=[attempt.pk])
    assert push_url in html and "Push to branch feature" in html
    push_commit(webapp.git_dir, tmp_path, {"app.py": "print('v3 theirs')\n"}, branch="feature",
                message="their change")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = alice_client.post(push_url)
    assert response.status_code == 302 and len(callbacks) == 1
    record = PullRequestRecord.objects.get(attempt=attempt)
    pull_request_open(record_id=record.pk)  # what the queued job does

    html = alice_client.get(reverse("tasks:attempt_result", args=[attempt.pk])).content.decode()
    assert "The branch feature moved since attempt 1 started" in html
    resolve_url = reverse("tasks:attempt_resolve", args=[attempt.pk])
    assert resolve_url in html and "Resolve with the agent" in html

    with django_capture_on_commit_callbacks(execute=False):
        response = alice_client.post(resolve_url)
    new = attempt.task.attempts.get(index=2)
    assert response.status_code == 302 and response["Location"].endswith("#attempt-2")
    assert (new.kind, new.parent_id, new.status) == (AttemptKind.RESOLVE, attempt.pk,
                                                     Status.QUEUED)
    html = alice_client.get(page).content.decode()
    assert html.count("data-attempt-kind>Resolve of attempt 1<") == 2  # its tab and header
    assert "Resolving attempt 1's conflicts:" in html


def test_a_task_on_the_default_branch_offers_no_push(alice_client, gh, webapp, acme, alice):
    connect(alice, gh, login="alice-gh")
    attempt = factories.make_succeeded_attempt(connected_repository(acme, webapp), alice,
                                               patch=PATCH)
    html = alice_client.get(reverse("tasks:detail", args=[attempt.task_id])).content.decode()
    assert reverse("tasks:attempt_push", args=[attempt.pk]) not in html


def test_another_teams_person_gets_404(carol_client, on_feature):
    for name in ("tasks:attempt_push", "tasks:attempt_resolve"):
        response = carol_client.post(reverse(name, args=[on_feature.pk]))
        assert response.status_code == 404
    assert not PullRequestRecord.objects.exists()
    assert on_feature.task.attempts.count() == 1


def test_a_follow_up_of_an_attempt_pushed_to_a_branch_without_a_pr_offers_the_push(
        alice_client, webapp, on_feature, alice):
    """Its patch repeats the pushed commit's changes, so Create PR (from `feature`'s new head)
    could not apply it: the page offers Push to branch and says why, the service refuses."""
    pushed = pull_request_create(attempt=on_feature, user=alice, push_to_branch=True)
    assert pushed.state == PullRequestRecord.State.PUSHED, pushed.error
    child = follow_up(on_feature)
    child.base_commit = on_feature.base_commit  # it started where its parent did
    child.save()

    html = alice_client.get(reverse("tasks:detail", args=[child.task_id])).content.decode()

    assert reverse("tasks:attempt_create_pr", args=[child.pk]) not in html
    assert reverse("tasks:attempt_push", args=[child.pk]) in html
    assert "changes were pushed onto feature, which has no open pull request" in html
    with pytest.raises(PullRequestError, match="Use Push to branch feature"):
        pull_request_create(attempt=child, user=alice)
    record = pull_request_create(attempt=child, user=alice, push_to_branch=True)
    assert record.state == PullRequestRecord.State.PUSHED, record.error
    assert git(webapp.git_dir, "rev-parse", "feature~1") == pushed.head_sha
    assert git(webapp.git_dir, "show", "feature:app.py") == \
        "print('v2 from the agent')\nprint('the end')"
