"""Create PR from the task page, against the GitHub stand-in (real git over smart HTTP)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tasks.pull_requests.models import PullRequestRecord
from tasks.pull_requests.services import pull_request_open
from tests.support import factories
from tests.support.connected_github import connect, connected_repository
from tests.support.finished_attempts import PATCH, greeting_webapp


@pytest.fixture
def webapp(gh, tmp_path):
    return greeting_webapp(gh, tmp_path)


def succeeded(repository, author, *, patch: str = PATCH):
    return factories.make_succeeded_attempt(repository, author, patch=patch)


@pytest.mark.django_db
def test_create_pr_from_the_task_page(
    alice_client,
    gh,
    webapp,
    acme,
    alice,
    django_capture_on_commit_callbacks,
):
    connect(alice, gh, login="alice-gh")
    attempt = succeeded(connected_repository(acme, webapp), alice)
    page = reverse("tasks:detail", args=[attempt.task_id])
    html = alice_client.get(page).content.decode()
    assert reverse("tasks:attempt_create_pr", args=[attempt.pk]) in html

    url = reverse("tasks:attempt_create_pr", args=[attempt.pk])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = alice_client.post(url)
    assert response.status_code == 302 and response["Location"].endswith("#attempt-1")
    record = PullRequestRecord.objects.get(attempt=attempt)
    assert record.state == PullRequestRecord.State.CREATING
    assert len(callbacks) == 1  # the job is enqueued after commit
    assert "Creating pull request…" in alice_client.get(page).content.decode()

    pull_request_open(record_id=record.pk)  # what the queued job does
    record.refresh_from_db()
    assert record.state == PullRequestRecord.State.OPEN, record.error
    fragment = alice_client.get(reverse("tasks:attempt_result", args=[attempt.pk]))
    html = fragment.content.decode()
    assert f'href="{record.html_url}"' in html and f"Pull request #{record.number}" in html

    with django_capture_on_commit_callbacks(execute=False) as again:
        alice_client.post(url)  # a second click finds the first pull request
    assert again == [] and PullRequestRecord.objects.filter(attempt=attempt).count() == 1


@pytest.mark.django_db
def test_create_pr_is_disabled_with_a_reason_off_github(alice_client, acme_repo, alice):
    attempt = succeeded(acme_repo, alice)
    html = alice_client.get(reverse("tasks:detail", args=[attempt.task_id])).content.decode()
    assert (
        "not on GitHub" in html
        and reverse("tasks:attempt_create_pr", args=[attempt.pk]) not in html
    )
    response = alice_client.post(reverse("tasks:attempt_create_pr", args=[attempt.pk]), follow=True)
    assert b"Pull requests need a repository connected from GitHub." in response.content
    assert not PullRequestRecord.objects.exists()


@pytest.mark.django_db
def test_create_pr_other_team_gets_404(carol_client, globex, acme_repo, alice):
    attempt = succeeded(acme_repo, alice)
    response = carol_client.post(reverse("tasks:attempt_create_pr", args=[attempt.pk]))
    assert response.status_code == 404
    assert not PullRequestRecord.objects.exists()
