"""Create PR meets GitHub's secondary rate limit on opening the pull request: a wait of a few
seconds is waited out and the PR opened; a longer one fails the request with when to try again,
and the retry opens the PR without pushing the branch again. Update PR's comment waits out a
short limit too."""

from __future__ import annotations

import re

import pytest

from tasks.pull_requests.models import PullRequestRecord
from tasks.pull_requests.rate_limits import SHORT_WAIT_SECONDS
from tasks.pull_requests.services import pull_request_create
from tests.support.connected_github import connect, connected_repository, pushes
from tests.support.finished_attempts import finished, follow_up, greeting_webapp


def pull_posts(gh) -> int:
    return sum(1 for r in gh.state.requests
               if r.method == "POST" and r.path == "/repos/acme/webapp/pulls")


def push_tries(gh) -> int:
    """Pushes begun (git asks for the refs first), even those with nothing new to send."""
    return sum(1 for r in gh.state.requests if r.query.get("service") == "git-receive-pack")


def limit_the_next_pull_creation(gh, *, status: int, retry_after: int) -> None:
    limits = gh.state.rate_limit
    limits.secondary_hits, limits.secondary_path = 1, "/pulls"
    limits.secondary_status, limits.retry_after = status, retry_after


@pytest.fixture
def attempt(gh, acme, alice, tmp_path):
    webapp = greeting_webapp(gh, tmp_path)
    connect(alice, gh, login="alice-gh")
    return finished(connected_repository(acme, webapp), alice)


@pytest.mark.django_db
@pytest.mark.parametrize("status", [403, 429])
def test_a_short_wait_is_waited_out_and_the_pull_request_opened(gh, attempt, alice, status):
    limit_the_next_pull_creation(gh, status=status, retry_after=1)

    record = pull_request_create(attempt=attempt, user=alice)

    assert record.state == PullRequestRecord.State.OPEN, record.error
    assert len(gh.state.repos[("acme", "webapp")].pulls) == 1
    assert pull_posts(gh) == 2 and pushes(gh) == 1  # the call made again, not the push


@pytest.mark.django_db
def test_a_long_wait_says_when_to_try_again_and_the_retry_does_not_push_again(
    gh, attempt, alice
):
    limit_the_next_pull_creation(gh, status=403, retry_after=int(SHORT_WAIT_SECONDS) + 110)

    failed = pull_request_create(attempt=attempt, user=alice)

    assert failed.state == PullRequestRecord.State.FAILED
    assert re.search(r"try again after \d\d:\d\d UTC", failed.error), failed.error
    assert pull_posts(gh) == 1 and push_tries(gh) == 1
    assert PullRequestRecord.objects.get(pk=failed.pk).head_sha  # what was pushed is kept

    retried = pull_request_create(attempt=attempt, user=alice)  # the person clicks again

    assert retried.pk == failed.pk
    assert retried.state == PullRequestRecord.State.OPEN, retried.error
    (pull,) = gh.state.repos[("acme", "webapp")].pulls
    assert pull.head_sha == failed.head_sha and pull.head == failed.branch
    assert push_tries(gh) == 1  # the branch GitHub holds was the attempt's commit already


@pytest.mark.django_db
def test_a_second_limit_after_the_wait_is_not_waited_for_again(gh, attempt, alice):
    limit_the_next_pull_creation(gh, status=429, retry_after=1)
    gh.state.rate_limit.secondary_hits = 2

    record = pull_request_create(attempt=attempt, user=alice)

    assert record.state == PullRequestRecord.State.FAILED
    assert "try again after" in record.error
    assert pull_posts(gh) == 2


@pytest.mark.django_db
def test_update_pr_waits_out_a_short_limit_on_its_comment(gh, attempt, alice):
    opened = pull_request_create(attempt=attempt, user=alice)
    assert opened.state == PullRequestRecord.State.OPEN, opened.error
    limits = gh.state.rate_limit
    limits.secondary_hits, limits.secondary_path = 1, "/comments"
    limits.secondary_status, limits.retry_after = 403, 1

    updated = pull_request_create(attempt=follow_up(opened.attempt), user=alice)

    assert updated.state == PullRequestRecord.State.OPEN, updated.error
    (pull,) = gh.state.repos[("acme", "webapp")].pulls
    (comment,) = pull.comments  # made on the second try, once
    assert "attempt 2 continued attempt 1" in comment.body
    assert limits.secondary_hits == 0
