"""A posted review's link comes from the GitHub server's answer (`html_url`): a hostile or
broken GitHub Enterprise host answering `javascript:` must not become a link on the task page,
as the pull request's link already is not (`attempt_page._web_url`)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tasks.models import Event, Status
from tasks.reviews.models import ReviewRecord
from tests.support import factories

pytestmark = pytest.mark.django_db


def posted_review(acme, author, html_url: str):
    repository = factories.make_repository(acme)
    task = factories.make_task(repository, author, mode="review", prompt="Review it.")
    attempt = task.attempts.get()
    attempt.status, attempt.summary = Status.SUCCEEDED, "Fine."
    attempt.save()
    ReviewRecord.objects.create(attempt=attempt, diff="", pull_number=7, html_url=html_url,
                                post_state=ReviewRecord.PostState.POSTED, review_id=1)
    Event.objects.create(attempt=attempt, seq=1, kind="summary",
                         payload={"text": "Fine.", "citations": [], "flags": []})
    Event.objects.create(attempt=attempt, seq=2, kind="review",
                         payload={"findings": [], "malformed": []})
    return task


def test_a_javascript_review_address_is_not_a_link(alice_client, acme, alice):
    task = posted_review(acme, alice, "javascript:alert(document.cookie)")
    html = alice_client.get(reverse("tasks:detail", args=[task.pk])).content.decode()
    assert "Posted to pull request #7" in html
    assert "javascript:alert" not in html


def test_a_plain_review_address_stays_a_link(alice_client, acme, alice):
    url = "https://github.example.test/acme/webapp/pull/7#pullrequestreview-1"
    task = posted_review(acme, alice, url)
    html = alice_client.get(reverse("tasks:detail", args=[task.pk])).content.decode()
    assert f'href="{url}"' in html
