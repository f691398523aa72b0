"""Retry (issue 16 item 1): a person runs a failed or cancelled attempt again as a new attempt of
the same task — never the worker by itself. Every response is checked against the OpenAPI doc."""

from __future__ import annotations

from tasks import services
from tasks.models import Attempt, Status
from tests.support import factories


def failed_attempt(repo, author) -> Attempt:
    attempt = factories.make_task(repo, author, mode="code").attempts.get()
    services.attempt_claim(attempt_id=attempt.pk)
    services.attempt_finish(
        attempt_id=attempt.pk, status=Status.FAILED, error=services.LOST_WORKER_MESSAGE
    )
    return attempt


def test_retry_makes_a_new_queued_attempt_of_the_same_task(bob_api, acme_repo, alice):
    attempt = failed_attempt(acme_repo, alice)

    response = bob_api.post(f"/attempts/{attempt.pk}/retry")

    assert response.status_code == 201
    body = response.json()
    assert (body["task"], body["index"], body["status"]) == (attempt.task_id, 2, "queued")
    assert response["Location"] == f"/api/v1/attempts/{body['id']}"
    new = Attempt.objects.get(pk=body["id"])
    assert new.events.get().payload == {
        "status": "queued",
        "message": "Queued: retry of attempt 1 by bob.",
    }
    attempt.refresh_from_db()
    assert attempt.status == Status.FAILED  # the lost attempt stays as it ended
    assert attempt.task.status == Status.RUNNING  # a new attempt is under way


def test_only_failed_or_cancelled_attempts_can_be_retried(alice_api, acme_repo, alice):
    task = factories.make_task(acme_repo, alice, attempts=2)
    running, done = task.attempts.order_by("index")
    services.attempt_finish(attempt_id=done.pk, status=Status.SUCCEEDED)
    for attempt in (running, done):
        response = alice_api.post(f"/attempts/{attempt.pk}/retry")
        assert response.status_code == 409
        assert response.json() == {
            "error": "Only a failed or cancelled attempt can be retried.",
            "code": "not_retryable",
        }
    services.attempt_cancel(attempt_id=running.pk, by=alice)
    assert alice_api.post(f"/attempts/{running.pk}/retry").status_code == 201


def test_another_teams_attempt_cannot_be_retried(carol_api, acme_repo, alice):
    attempt = failed_attempt(acme_repo, alice)
    assert carol_api.post(f"/attempts/{attempt.pk}/retry").status_code == 404
    assert attempt.task.attempts.count() == 1


def test_a_retried_follow_up_keeps_its_parent_and_instruction(acme_repo, alice):
    first = factories.make_task(acme_repo, alice, mode="code").attempts.get()
    services.attempt_finish(attempt_id=first.pk, status=Status.SUCCEEDED)
    follow_up = services.attempt_follow_up(attempt=first, prompt="Add a test.", by=alice)
    services.attempt_finish(attempt_id=follow_up.pk, status=Status.FAILED, error="x")

    again = services.attempt_retry(attempt=follow_up, by=alice)

    assert (again.index, again.parent_id, again.follow_up_prompt) == (3, first.pk, "Add a test.")


def test_the_task_page_offers_retry_for_a_failed_attempt(bob_client, acme_repo, alice):
    task = factories.make_task(acme_repo, alice, attempts=2)
    lost, ok = task.attempts.order_by("index")
    services.attempt_finish(attempt_id=lost.pk, status=Status.FAILED, error="gone")
    services.attempt_finish(attempt_id=ok.pk, status=Status.SUCCEEDED)

    page = bob_client.get(f"/tasks/{task.pk}/").content.decode()
    assert f'action="/attempts/{lost.pk}/retry/"' in page
    assert f'action="/attempts/{ok.pk}/retry/"' not in page

    response = bob_client.post(f"/attempts/{lost.pk}/retry/")
    assert response.status_code == 302 and response["Location"].endswith("#attempt-3")
    assert task.attempts.count() == 3
