"""Server-Sent Events for an attempt's log: `GET /api/v1/attempts/<id>/events/stream?after=SEQ`.

Each event is sent once, in seq order, with `id: <seq>` so a client that reconnects with
`Last-Event-ID` (or `?after=`) misses nothing and sees nothing twice. The Event table is the
source of truth: the stream polls it (cheap: an indexed range read) rather than trusting the
channel layer, and ends with an `end` event once the attempt has finished and everything was
sent. Comment lines keep idle connections open through proxies. Bounded by STREAM_MAX_SECONDS.

Access is re-checked while the stream is open, as the websocket does (tasks/consumers.py, every
REAUTHORIZE_SECONDS): a person removed from the team gets a `forbidden` event and the stream
ends; reconnecting is then a 404.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse

from codexweb.api.auth import authenticate
from codexweb.api.errors import ApiError, error_response, from_api_error
from codexweb.api.representations import event_repr
from tasks import consumers
from tasks.models import Attempt
from tasks.selectors import attempt_events_after, get_attempt_for_user

# Events of the stream itself, next to the attempt's (named by kind, tasks/event_kinds.py):
# no kind may take one of these names, or a client could not tell them apart.
END = "end"
TIMEOUT = "timeout"
FORBIDDEN = "forbidden"
CONTROL_EVENTS = frozenset({END, TIMEOUT, FORBIDDEN})

POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
BATCH = 500


def _stream_max_seconds() -> float:
    return float(settings.ATTEMPT_TIMEOUT_SECONDS + 600)


def _sse(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _batch(attempt_id: int, after: int) -> tuple[list[dict[str, Any]], bool, str]:
    """(events after `after`, finished, status). `finished` is read first: if it is true, every
    event of the attempt is already committed, so an empty batch means the log is complete."""
    attempt = Attempt.objects.only("id", "status").get(pk=attempt_id)
    events = [event_repr(e) for e in attempt_events_after(attempt, after)[:BATCH]]
    return events, attempt.is_finished, attempt.status


def _may_see(user: User, attempt_id: int) -> bool:
    try:
        get_attempt_for_user(user, attempt_id)
    except Http404:
        return False
    return True


async def _events(attempt_id: int, after: int, user: User) -> AsyncIterator[str]:
    yield ": stream open\n\n"
    deadline = time.monotonic() + _stream_max_seconds()
    last_write = authorized_at = time.monotonic()
    while time.monotonic() < deadline:
        if time.monotonic() - authorized_at >= consumers.REAUTHORIZE_SECONDS:
            # Membership can end while a stream stays open (the websocket re-checks too).
            if not await sync_to_async(_may_see)(user, attempt_id):
                yield _sse(FORBIDDEN, {"attempt": attempt_id,
                                         "message": "You no longer have access to this attempt."})
                return
            authorized_at = time.monotonic()
        events, finished, status = await sync_to_async(_batch)(attempt_id, after)
        for event in events:
            after = event["seq"]
            yield _sse(event["kind"], event, event["seq"])
            last_write = time.monotonic()
        if len(events) == BATCH:
            continue
        if finished and not events:
            yield _sse(END, {"attempt": attempt_id, "status": status, "last_seq": after})
            return
        if time.monotonic() - last_write > KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"
            last_write = time.monotonic()
        await asyncio.sleep(POLL_SECONDS)
    yield _sse(TIMEOUT, {"attempt": attempt_id, "last_seq": after})


def _authorize(request: HttpRequest, pk: int) -> tuple[int, User]:
    authenticate(request)
    user: User = request.user  # type: ignore[assignment]  # set by authenticate
    return get_attempt_for_user(user, pk).pk, user


async def attempt_events_stream(
    request: HttpRequest, pk: int
) -> HttpResponse | StreamingHttpResponse:
    if request.method != "GET":
        return error_response(405, "method_not_allowed", "Use GET.", headers={"Allow": "GET"})
    try:
        attempt_id, user = await sync_to_async(_authorize)(request, pk)
    except ApiError as exc:
        return from_api_error(exc)
    except Http404:
        return error_response(404, "not_found", "No such attempt.")
    raw_after = request.GET.get("after") or request.headers.get("Last-Event-ID") or "0"
    try:
        after = max(0, int(raw_after))
    except ValueError:
        return error_response(
            400, "invalid_parameter", f"after must be a whole number, not {raw_after!r}."
        )
    response = StreamingHttpResponse(
        _events(attempt_id, after, user), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
