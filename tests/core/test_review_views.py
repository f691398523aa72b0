"""Starting a Review task in the browser's forms: the composer's Review button (a branch or a
pull request number/URL under "Review") and "Review this diff" on a finished Code attempt; and
the task page of a review. Another team's attempt is 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from repos.models import Repository
from tasks.models import Mode, Task
from tasks.reviews.models import ReviewTarget
from tasks.reviews.target_input import TargetInputError, parse_review_target
from tests.support.finished_attempts import finished


def compose(client, repository, **data):
    body = {"prompt": "Look for bugs", "repository": repository.pk, "base_branch": "",
            "attempts": 1, "model_tier": "strong", "mode": "review", **data}
    return client.post(reverse("tasks:home"), body)


@pytest.mark.django_db
def test_the_composers_review_button_starts_a_review_of_a_branch(alice_client, acme_repo):
    response = compose(alice_client, acme_repo, review_target="feature")

    task = Task.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/tasks/{task.pk}/"
    assert task.mode == Mode.REVIEW and task.base_branch == "main"
    assert (task.review_target.kind, task.review_target.branch) == ("branch", "feature")


@pytest.mark.django_db
def test_the_composer_says_what_is_wrong_with_a_review_target(alice_client, acme_repo):
    empty = compose(alice_client, acme_repo, review_target="")
    assert empty.status_code == 400
    assert "Say what to review: a branch, or a pull request number or URL." in \
        empty.content.decode()
    pull = compose(alice_client, acme_repo, review_target="#12")
    assert "Pull requests can be reviewed only in repositories from GitHub." in \
        pull.content.decode()
    assert not Task.objects.exists()


def test_what_people_type_to_name_a_review_target():
    repo = Repository(provider=Repository.Provider.GITHUB, owner="acme", name="webapp")
    assert parse_review_target("12", repository=repo).pull_number == 12
    assert parse_review_target("#7", repository=repo).pull_number == 7
    assert parse_review_target("acme/webapp#8", repository=repo).pull_number == 8
    url = "https://github.com/Acme/WebApp/pull/31/files"
    assert parse_review_target(url, repository=repo).pull_number == 31
    assert parse_review_target("fix/login", repository=repo).branch == "fix/login"
    with pytest.raises(TargetInputError, match="belongs to other/repo, not to acme/webapp"):
        parse_review_target("https://github.com/other/repo/pull/3", repository=repo)
    with pytest.raises(TargetInputError, match="is not a pull request"):
        parse_review_target("https://github.com/acme/webapp/issues/3", repository=repo)


@pytest.mark.django_db
def test_review_this_diff_reviews_the_attempts_own_patch(alice_client, acme_repo, alice):
    source = finished(acme_repo, alice)
    page = alice_client.get(reverse("tasks:detail", args=[source.task_id])).content.decode()
    assert "data-review-this" in page

    response = alice_client.post(reverse("tasks:attempt_review", args=[source.pk]))

    review = Task.objects.get(mode=Mode.REVIEW)
    assert response["Location"] == f"/tasks/{review.pk}/"
    target = ReviewTarget.objects.get(task=review)
    assert (target.kind, target.source_attempt_id) == ("attempt", source.pk)
    assert review.base_branch == source.task.base_branch
    assert review.prompt == f"Review attempt 1 of task #{source.task_id}."


@pytest.mark.django_db
def test_another_teams_attempt_is_404(carol_client, acme_repo, alice):
    source = finished(acme_repo, alice)
    assert carol_client.post(reverse("tasks:attempt_review", args=[source.pk])).status_code == 404
    assert carol_client.post(
        reverse("tasks:attempt_post_review", args=[source.pk])).status_code == 404
    assert not Task.objects.filter(mode=Mode.REVIEW).exists()


@pytest.mark.django_db
def test_post_review_on_a_code_attempt_is_refused_with_a_sentence(alice_client, acme_repo,
                                                                   alice):
    source = finished(acme_repo, alice)
    response = alice_client.post(reverse("tasks:attempt_post_review", args=[source.pk]),
                                 follow=True)
    assert "Only Review tasks can be posted as a pull request review." in \
        response.content.decode()
