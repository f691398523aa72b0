"""Sending a message to a running attempt, and the worker taking pending ones.

Views, the API and the worker go through these. A message to a finished attempt is refused
(`SteerFinished`): the web page starts a follow-up instead, the API answers 409 with that hint.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from tasks.agent.steering import Steer
from tasks.handover import take_queued
from tasks.models import Attempt
from tasks.services import TaskError, task_access_require
from tasks.steering.models import SteerMessage

MAX_STEER_CHARS = 20_000


class SteerFinished(TaskError):
    """The attempt has finished: a message to it must start a follow-up instead."""


class SteerDenied(TaskError):
    """The sender may not act on the task's repository now."""


def steer_send(*, attempt: Attempt, by: User, text: str = "", stop: bool = False) -> SteerMessage:
    """Queue `text` (and/or a "stop after this step" request) for the agent of a queued or
    running attempt; the agent takes it at its next turn boundary.

    `by` must be allowed to act on the task's repository now, as for a follow-up (the agent runs
    on with what they say). Raises TaskError for empty or oversized text, SteerDenied without
    access, and SteerFinished when the attempt has finished."""
    text = text.strip()
    if not text and not stop:
        raise TaskError("Write a message for the agent.")
    if len(text) > MAX_STEER_CHARS:
        raise TaskError(f"Keep the message under {MAX_STEER_CHARS:,} characters.")
    if attempt.is_finished:
        raise _finished(attempt)
    try:
        task_access_require(user=by, task=attempt.task)
    except TaskError as exc:
        raise SteerDenied(str(exc)) from exc
    with transaction.atomic():
        current = Attempt.objects.select_for_update().get(pk=attempt.pk)
        if current.is_finished:
            raise _finished(current)
        return SteerMessage.objects.create(attempt=current, author=by, text=text, stop=stop)


def _finished(attempt: Attempt) -> SteerFinished:
    return SteerFinished(
        f"Attempt {attempt.index} has already finished ({attempt.status}); "
        "send your message as a follow-up to start a new attempt from where it ended."
    )


def steer_take(*, attempt_id: int) -> list[Steer]:
    """The messages not yet given to the agent, oldest first, marked as taken (so each is
    given once, even if two workers asked)."""
    pending = take_queued(SteerMessage, attempt_id=attempt_id, with_person="author")
    return [Steer(text=m.text, by=m.author.get_username(), stop=m.stop) for m in pending]
