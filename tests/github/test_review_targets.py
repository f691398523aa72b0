"""What a Review attempt looks at (tasks/reviews/targets.py), prepared on the host against the
GitHub stand-in with real git: a pull request's head (its refs/pull ref, or its branch when the
host does not serve one) and diff against its base; an attempt's own patch, postable to that
attempt's open pull request. No sandbox runs here."""

from __future__ import annotations

import pytest

from tasks.pull_requests.services import pull_request_create
from tasks.reviews.models import ReviewRecord
from tasks.reviews.services import review_task_create
from tasks.reviews.targets import prepare_review_workspace
from tests.support.connected_github import connect, connected_repository, git
from tests.support.finished_attempts import PATCH, finished, greeting_webapp


@pytest.fixture
def webapp(gh, tmp_path):
    return greeting_webapp(gh, tmp_path)


@pytest.fixture
def opened(gh, webapp, acme, alice):
    """Attempt 1's pull request (#1), open on the stand-in."""
    connect(alice, gh, login="alice-gh")
    record = pull_request_create(attempt=finished(connected_repository(acme, webapp), alice),
                                 user=alice)
    assert record.number == 1, record.error
    return record


@pytest.mark.django_db
@pytest.mark.parametrize("served_ref", [True, False], ids=["refs-pull", "branch-fallback"])
def test_a_pull_requests_head_and_its_diff_against_its_base(
        webapp, opened, alice, tmp_path, served_ref):
    if served_ref:
        git(webapp.git_dir, "update-ref", "refs/pull/1/head", opened.head_sha)
    task = review_task_create(author=alice, repository=opened.attempt.task.repository,
                              pull_number=1)
    attempt = task.attempts.get()

    prepared = prepare_review_workspace(attempt, tmp_path / "work")

    record = ReviewRecord.objects.get(attempt=attempt)
    main = git(webapp.git_dir, "rev-parse", "main")
    assert (record.pull_number, record.head_sha, record.base_sha) == (1, opened.head_sha, main)
    assert "-print('v1')\n+print('v2 from the agent')\n" in record.diff
    assert (prepared.workspace / "app.py").read_text().startswith("print('v2 from the agent')")
    # Setup (with the secrets) gets the base's own tree, never the pull request's.
    assert prepared.base_commit == main
    assert (prepared.setup_tree / "app.py").read_text() == "print('v1')\nprint('end')\n"


@pytest.mark.django_db
def test_an_attempts_own_diff_with_an_open_pull_request_can_be_posted_there(
        opened, alice, tmp_path):
    task = review_task_create(author=alice, repository=opened.attempt.task.repository,
                              source_attempt=opened.attempt)
    attempt = task.attempts.get()

    prepared = prepare_review_workspace(attempt, tmp_path / "work")

    record = ReviewRecord.objects.get(attempt=attempt)
    assert record.diff == PATCH
    assert (record.pull_number, record.head_sha) == (1, opened.head_sha)
    assert (prepared.workspace / "app.py").read_text().startswith("print('v2 from the agent')")
    assert (prepared.setup_tree / "app.py").read_text() == "print('v1')\nprint('end')\n"


@pytest.mark.django_db
def test_an_unknown_pull_request_fails_with_a_sentence(gh, webapp, acme, alice, tmp_path):
    connect(alice, gh, login="alice-gh")
    task = review_task_create(author=alice, repository=connected_repository(acme, webapp),
                              pull_number=99)
    from repos.git.workspace import PrepareError

    with pytest.raises(PrepareError) as raised:  # the attempt ends with this sentence
        prepare_review_workspace(task.attempts.get(), tmp_path / "work")
    assert str(raised.value) == ("Pull request #99 was not found in acme/webapp, or you cannot "
                                 "see it.")
    assert not ReviewRecord.objects.exists()
