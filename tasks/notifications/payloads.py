"""What a notification says about an attempt: the webhook JSON and the link to the task page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from tasks.models import Attempt

# The events a notification is sent for. Stable strings: receivers switch on them.
ATTEMPT_FINISHED = "attempt.finished"
# Hook for the just-in-time approval (issue 14 item 3): call `attempt_needs_attention` with
# this event when an attempt waits on a person's approval.
ATTEMPT_BLOCKED = "attempt.blocked"
EVENTS = (ATTEMPT_FINISHED, ATTEMPT_BLOCKED)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def attempt_url(attempt: Attempt) -> str:
    """The task page, opened on this attempt's tab."""
    return f"{settings.PUBLIC_URL}/tasks/{attempt.task_id}/#attempt-{attempt.index}"


def attempt_recipient(attempt: Attempt) -> Any:
    """The person who started the attempt (a follow-up's or retry's requester, else the author)."""
    return attempt.requested_by or attempt.task.author


def attempt_payload(attempt: Attempt, event: str, *, host: str = "") -> dict[str, Any]:
    """The webhook body: event, task, attempt, status, url and timestamps (no prompt, patch or
    summary text: receivers such as chat bridges may show it to more people than the team); a
    blocked attempt's also `blocked.host`, the host waiting for approval."""
    task = attempt.task
    who = attempt_recipient(attempt)
    body: dict[str, Any] = {
        "event": event,
        "status": attempt.status,
        "url": attempt_url(attempt),
        "task": {
            "id": task.pk,
            "title": task.title,
            "mode": task.mode,
            "repository": str(task.repository),
            "created_at": _iso(task.created_at),
        },
        "attempt": {
            "id": attempt.pk,
            "index": attempt.index,
            "status": attempt.status,
            "started_by": who.get_username() if who is not None else None,
            "created_at": _iso(attempt.created_at),
            "started_at": _iso(attempt.started_at),
            "finished_at": _iso(attempt.finished_at),
        },
        "team": {"id": task.team_id, "name": task.team.name},
        "notified_at": _iso(timezone.now()),
    }
    if event == ATTEMPT_BLOCKED:
        body["blocked"] = {"host": host}
    return body
