"""POST /api/v1/attempts/{id}/messages (issue 14 item 1): message a running attempt's agent or ask
it to stop after this step. Every response is checked against the OpenAPI doc."""

from __future__ import annotations

from tasks import services
from tasks.models import Attempt, Status
from tasks.steering.models import SteerMessage
from tasks.steering.services import steer_take
from tests.support import factories


def running_attempt(repo, author) -> Attempt:
    attempt = factories.make_task(repo, author, mode="code").attempts.get()
    services.attempt_claim(attempt_id=attempt.pk)
    return attempt


def test_a_teammate_sends_a_message_the_agent_takes_later(bob_api, acme_repo, alice):
    attempt = running_attempt(acme_repo, alice)

    response = bob_api.post(f"/attempts/{attempt.pk}/messages", {"text": "Use the other approach."})

    assert response.status_code == 201
    body = response.json()
    assert (body["attempt"], body["text"], body["stop"], body["by"]) == (
        attempt.pk, "Use the other approach.", False, "bob")
    assert body["taken_at"] is None
    assert [(s.text, s.by) for s in steer_take(attempt_id=attempt.pk)] == [
        ("Use the other approach.", "bob")]
    assert SteerMessage.objects.get().taken_at is not None


def test_stop_after_this_step(alice_api, acme_repo, alice):
    attempt = running_attempt(acme_repo, alice)
    response = alice_api.post(f"/attempts/{attempt.pk}/messages", {"stop": True})
    assert response.status_code == 201
    assert response.json()["stop"] is True
    assert [s.stop for s in steer_take(attempt_id=attempt.pk)] == [True]


def test_a_finished_attempt_answers_409_with_the_follow_up_hint(alice_api, acme_repo, alice):
    attempt = running_attempt(acme_repo, alice)
    services.attempt_finish(attempt_id=attempt.pk, status=Status.SUCCEEDED)

    response = alice_api.post(f"/attempts/{attempt.pk}/messages", {"text": "more"})

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "already_finished"
    assert "follow-up" in body["error"]
    assert not SteerMessage.objects.exists()


def test_empty_oversized_and_unknown_fields_are_refused(alice_api, acme_repo, alice):
    attempt = running_attempt(acme_repo, alice)
    path = f"/attempts/{attempt.pk}/messages"
    blank = alice_api.post(path, {"text": "   "})
    assert blank.status_code == 400
    assert blank.json()["error"] == "Write a message for the agent."
    assert alice_api.post(path, {"text": "x" * 20_001}).status_code == 400
    assert alice_api.post(path, {"text": "hi", "role": "system"}).status_code == 400
    assert not SteerMessage.objects.exists()


def test_another_teams_attempt_is_404(carol_api, acme_repo, alice):
    attempt = running_attempt(acme_repo, alice)
    response = carol_api.post(f"/attempts/{attempt.pk}/messages", {"text": "hello"})
    assert response.status_code == 404
    assert not SteerMessage.objects.exists()
