"""Mid-task steering from the task page (issue 14 item 1): the box under a running attempt's log
sends a message or "stop after this step"; once the attempt has finished the same words start a
follow-up; other teams get 404 and nothing is stored."""

from __future__ import annotations

from django.urls import reverse

from tasks import services
from tasks.models import Attempt, Event, Status
from tasks.steering.models import SteerMessage
from tasks.steering.services import steer_take
from tasks.worker.finish import publish_late_messages
from tests.support import factories


def running_attempt(repo, author) -> Attempt:
    attempt = factories.make_task(repo, author, mode="code").attempts.get()
    services.attempt_claim(attempt_id=attempt.pk)
    return attempt


def test_the_running_attempt_offers_message_the_agent_and_stop(alice_client, acme_repo, alice):
    attempt = running_attempt(acme_repo, alice)
    page = alice_client.get(reverse("tasks:detail", args=[attempt.task_id])).content.decode()
    assert "Message the agent" in page
    assert reverse("tasks:attempt_message", args=[attempt.pk]) in page
    assert "Stop after this step" in page
    services.attempt_finish(attempt_id=attempt.pk, status=Status.SUCCEEDED)
    page = alice_client.get(reverse("tasks:detail", args=[attempt.task_id])).content.decode()
    assert "Message the agent" not in page


def test_a_teammate_message_is_stored_and_taken_once(bob_client, acme_repo, alice):
    attempt = running_attempt(acme_repo, alice)
    url = reverse("tasks:attempt_message", args=[attempt.pk])

    response = bob_client.post(url, {"text": "  Also update the docs.  "}, follow=True)

    assert b"the agent gets your message after its current step" in response.content
    message = SteerMessage.objects.get()
    assert (message.text, message.stop, message.author.username) == (
        "Also update the docs.", False, "bob")
    taken = steer_take(attempt_id=attempt.pk)
    assert [(s.text, s.by, s.stop) for s in taken] == [("Also update the docs.", "bob", False)]
    assert steer_take(attempt_id=attempt.pk) == []  # each message is given once
    message.refresh_from_db()
    assert message.taken_at is not None


def test_stop_after_this_step_needs_no_text(alice_client, acme_repo, alice):
    attempt = running_attempt(acme_repo, alice)
    response = alice_client.post(
        reverse("tasks:attempt_message", args=[attempt.pk]), {"text": "", "stop": "1"},
        follow=True,
    )
    assert b"will stop after its current step" in response.content
    assert SteerMessage.objects.get().stop is True


def test_empty_or_oversized_messages_are_refused_clearly(alice_client, acme_repo, alice):
    attempt = running_attempt(acme_repo, alice)
    url = reverse("tasks:attempt_message", args=[attempt.pk])
    response = alice_client.post(url, {"text": "   "}, follow=True)
    assert b"Write a message for the agent." in response.content
    response = alice_client.post(url, {"text": "x" * 20_001}, follow=True)
    assert b"Keep the message under 20,000 characters." in response.content
    assert not SteerMessage.objects.exists()


def test_a_message_to_a_finished_attempt_starts_a_follow_up(alice_client, acme_repo, alice):
    attempt = running_attempt(acme_repo, alice)
    services.attempt_finish(attempt_id=attempt.pk, status=Status.SUCCEEDED)

    response = alice_client.post(
        reverse("tasks:attempt_message", args=[attempt.pk]), {"text": "Now add tests."}
    )

    child = Attempt.objects.get(task_id=attempt.task_id, index=2)
    assert response["Location"].endswith(f"/tasks/{attempt.task_id}/#attempt-2")
    assert (child.parent_id, child.follow_up_prompt) == (attempt.pk, "Now add tests.")
    assert not SteerMessage.objects.exists()


def test_another_team_gets_404_and_nothing_is_stored(carol_client, acme_repo, alice):
    attempt = running_attempt(acme_repo, alice)
    response = carol_client.post(
        reverse("tasks:attempt_message", args=[attempt.pk]), {"text": "delete everything"}
    )
    assert response.status_code == 404
    assert not SteerMessage.objects.exists()


def test_a_message_that_arrives_after_the_last_step_is_reported_not_dropped(
    bob_client, acme_repo, alice
):
    """The agent took its last message and is finishing when a teammate writes: the attempt ends
    without the model reading it, so the log says so, once, and the message is not left pending."""
    attempt = running_attempt(acme_repo, alice)
    bob_client.post(reverse("tasks:attempt_message", args=[attempt.pk]), {"text": "Rename it."})
    services.attempt_finish(attempt_id=attempt.pk, status=Status.SUCCEEDED)

    publish_late_messages(attempt.pk)
    publish_late_messages(attempt.pk)  # a retry does not report it twice

    late = [e.payload for e in Event.objects.filter(attempt=attempt, kind="steer")]
    assert late == [{"text": "Rename it.", "by": "bob", "stop": False, "late": True}]
    assert SteerMessage.objects.get().taken_at is not None
