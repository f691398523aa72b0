"""Posting a finished review to GitHub as the person chooses: Comment, Approve or Request
changes (GitHub's `event`, which the stand-in checks against the OpenAPI description), and a
review of a branch posted to the open pull request that branch has."""

from __future__ import annotations

import subprocess

import pytest
from django.urls import reverse

from tasks.models import Event, Status
from tasks.reviews.models import ReviewRecord, ReviewTarget
from tasks.reviews.services import ReviewPostError, review_post, review_post_now
from tests.support import factories
from tests.support.connected_github import connect, connected_repository
from tests.support.finished_attempts import PATCH, greeting_webapp
from tests.support.github_state import PullRequest

pytestmark = pytest.mark.django_db

FINDING = {"file": "app.py", "line": 1, "severity": "major", "explanation": "Not a greeting.",
           "citations": []}


@pytest.fixture
def webapp(gh, tmp_path, acme, alice):
    """acme/webapp with branch `feature` and bob-gh's pull request #7 from it into main."""
    repo = greeting_webapp(gh, tmp_path)
    gh.state.add_user("bob-gh")
    bare = str(repo.git_dir)
    subprocess.run(["git", "-C", bare, "branch", "lonely", "main"], check=True)
    main = subprocess.run(["git", "-C", bare, "rev-parse", "main"], check=True,
                          capture_output=True, text=True).stdout.strip()
    head = commit_on_feature(bare, tmp_path / "work")
    repo.pulls.append(PullRequest(number=7, id=70, title="Feature", body="", head="feature",
                                  base="main", head_sha=head, base_sha=main, author="bob-gh"))
    connect(alice, gh, login="alice-gh")
    return {"stand_in": repo, "row": connected_repository(acme, repo), "head": head}


def commit_on_feature(bare: str, work) -> str:
    """Branch `feature` changes app.py's first line (PATCH); returns its commit."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(work.parent), "GIT_CONFIG_GLOBAL": "/dev/null",
           "GIT_AUTHOR_NAME": "Bob", "GIT_AUTHOR_EMAIL": "bob@example.test",
           "GIT_COMMITTER_NAME": "Bob", "GIT_COMMITTER_EMAIL": "bob@example.test"}

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], env=env, check=True, capture_output=True,
                              text=True).stdout.strip()

    git("clone", "-q", bare, str(work))
    git("-C", str(work), "checkout", "-q", "-b", "feature")
    (work / "app.py").write_text("print('v2 from the agent')\nprint('end')\n")
    git("-C", str(work), "commit", "-qam", "v2")
    git("-C", str(work), "push", "-q", "origin", "feature")
    return git("-C", str(work), "rev-parse", "HEAD")


def branch_review(webapp, author, branch: str = "feature"):
    """A succeeded Review of `branch` as the worker leaves it: no pull request recorded."""
    task = factories.make_task(webapp["row"], author, mode="review", prompt="Review it.")
    ReviewTarget.objects.create(task=task, kind="branch", branch=branch)
    attempt = task.attempts.get()
    attempt.status, attempt.summary = Status.SUCCEEDED, "One problem."
    attempt.save()
    ReviewRecord.objects.create(attempt=attempt, diff=PATCH, base_sha="a" * 40,
                                head_sha=webapp["head"])
    Event.objects.create(attempt=attempt, seq=1, kind="summary",
                         payload={"text": "One problem.", "citations": [], "flags": []})
    Event.objects.create(attempt=attempt, seq=2, kind="review",
                         payload={"findings": [FINDING], "malformed": []})
    return attempt


def test_the_page_offers_the_three_events_and_the_branchs_pull_request(
        alice_client, webapp, alice):
    attempt = branch_review(webapp, alice)
    html = alice_client.get(reverse("tasks:detail", args=[attempt.task_id])).content.decode()
    for value, label in [("COMMENT", "Comment"), ("APPROVE", "Approve"),
                         ("REQUEST_CHANGES", "Request changes")]:
        assert f'value="{value}"' in html and label in html
    assert "Post to the pull request of feature" in html
    assert "Only a review of a pull request can be posted" not in html


def test_a_branch_review_posts_request_changes_to_the_branchs_open_pull_request(
        alice_client, gh, webapp, alice):
    attempt = branch_review(webapp, alice)

    response = alice_client.post(reverse("tasks:attempt_post_review", args=[attempt.pk]),
                                 {"event": "REQUEST_CHANGES"})

    assert response.status_code == 302
    record = ReviewRecord.objects.get(attempt=attempt)
    assert (record.post_state, record.pull_number, record.post_event) == (
        "posting", 7, "REQUEST_CHANGES")
    posted = review_post(record_id=record.pk)  # what the queued job does
    assert posted.post_state == "posted", posted.post_error
    (gh_review,) = webapp["stand_in"].pulls[0].reviews
    assert (gh_review.author, gh_review.state) == ("alice-gh", "CHANGES_REQUESTED")
    assert gh.state.take_violations() == []
    page = alice_client.get(reverse("tasks:detail", args=[attempt.task_id])).content.decode()
    assert "Review on pull request #7" in page and "Posted as Request changes" in page


def test_approve_reaches_github_as_approve(gh, webapp, alice):
    attempt = branch_review(webapp, alice)
    posted = review_post_now(attempt=attempt, user=alice, event="APPROVE")
    assert posted.post_state == "posted", posted.post_error
    (gh_review,) = webapp["stand_in"].pulls[0].reviews
    assert gh_review.state == "APPROVED"
    assert gh.state.take_violations() == []


def test_an_unknown_event_is_refused_and_nothing_is_posted(alice_client, webapp, alice):
    attempt = branch_review(webapp, alice)
    response = alice_client.post(reverse("tasks:attempt_post_review", args=[attempt.pk]),
                                 {"event": "MERGE"}, follow=True)
    assert "Post the review as Comment, Approve or Request changes." in \
        response.content.decode()
    assert ReviewRecord.objects.get(attempt=attempt).post_state == ""
    assert webapp["stand_in"].pulls[0].reviews == []


def test_a_branch_without_an_open_pull_request_says_so(webapp, alice):
    attempt = branch_review(webapp, alice, branch="lonely")
    with pytest.raises(ReviewPostError, match="Branch lonely has no open pull request into main"):
        review_post_now(attempt=attempt, user=alice)
    assert ReviewRecord.objects.get(attempt=attempt).post_state == ""
