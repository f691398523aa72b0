"""Publishing an attempt's events: append to the database, then send after commit.

The Event row is the source of truth; the channel-layer message is only a nudge, sent with
`transaction.on_commit` so no browser sees an event that was rolled back. What a kind's payload
holds is the contract in `tasks/event_kinds.py`; `publish` refuses an event that breaks it.

The layer is Redis pub/sub (settings.CHANNEL_LAYERS): a nudge is one PUBLISH, pushed to the web
processes whose sockets joined the group. channels-redis's default layer queued a copy per
socket and took four round trips to send and four more per socket to receive; on a busy worker
each reply waits for the sender thread to get the GIL back from the attempts' threads, and on a
busy web process each receive waited its turn, so at 10-20 attempts at once those round trips
were most of an event's way to the page (bench/README.md, session 6). Pub/sub keeps nothing for
a socket that is not listening, which the consumers already handle: the database is the truth.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from channels.layers import get_channel_layer
from django.db import connection, transaction

from tasks.event_kinds import check_payload
from tasks.models import Attempt, Event
from tasks.resilience import with_db_retry

logger = logging.getLogger(__name__)


def attempt_group(attempt_id: int) -> str:
    return f"attempt-{attempt_id}"


def team_group(team_id: int) -> str:
    return f"team-{team_id}"


def event_message(event: Event) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "kind": event.kind,
        "payload": event.payload,
        "created_at": event.created_at.isoformat(),
    }


SEND_TIMEOUT_SECONDS = 5.0
_sender_lock = threading.Lock()
_sender: tuple[int, asyncio.AbstractEventLoop, GroupOrder] | None = None


class GroupOrder:
    """One lock per group, alive while a send to that group is queued: a page gets its
    attempt's nudges in seq order, while a send to one group never waits on another's (with
    one lock for all, under load an event queued behind every other attempt's sends).
    Used only on the sender loop, so it needs no thread lock."""

    def __init__(self) -> None:
        self.locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def send(self, group: str, send: Callable[[], Awaitable[None]]) -> None:
        lock, users = self.locks.get(group, (asyncio.Lock(), 0))
        self.locks[group] = (lock, users + 1)
        try:
            async with lock:  # waiters are served first in, first out
                await send()
        finally:
            lock, users = self.locks[group]
            if users == 1:
                del self.locks[group]
            else:
                self.locks[group] = (lock, users - 1)


def _sender_loop() -> tuple[asyncio.AbstractEventLoop, GroupOrder]:
    """One long-lived event loop per process for channel-layer sends, and the per-group order
    that keeps each group's sends in the order they were handed over.

    `async_to_sync` would run each send on a fresh loop, and channels-redis keeps its connection
    pool per loop, so every event paid for a new Redis connection (and it refuses to run at all
    in a thread that has a loop). A forked child (Celery prefork) starts its own loop."""
    global _sender
    with _sender_lock:
        if _sender is None or _sender[0] != os.getpid():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="layer-send", daemon=True)
            thread.start()
            _sender = (os.getpid(), loop, GroupOrder())
        return _sender[1], _sender[2]


async def _send_in_order(layer: Any, order: GroupOrder, group: str, message: Any) -> None:
    # The loop runs handed-over coroutines first in, first out, and the group's lock queues
    # them the same way: sends to a group start in the order they were handed over.
    await order.send(
        group, lambda: asyncio.wait_for(layer.group_send(group, message), SEND_TIMEOUT_SECONDS)
    )


def _group_send(group: str, message: dict[str, Any]) -> None:
    """Hand the nudge to the sender loop and return: the worker does not wait for Redis (the
    row is committed already; a page that misses the nudge finds the event by seq)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        loop, order = _sender_loop()
        future = asyncio.run_coroutine_threadsafe(
            _send_in_order(layer, order, group, message), loop
        )
    except Exception:  # the database row stands; a reconnecting client replays it
        logger.warning("could not send to channel group %s", group, exc_info=True)
        return
    future.add_done_callback(lambda done: _log_failure(done, group))


def _log_failure(done: concurrent.futures.Future[None], group: str) -> None:
    if not done.cancelled() and done.exception() is not None:
        logger.warning("could not send to channel group %s: %r", group, done.exception())


def publish(attempt_id: int, kind: str, payload: Mapping[str, Any] | None = None) -> Event:
    """Append an event with the next seq for the attempt, then broadcast it on commit.

    Raises `tasks.event_kinds.EventContractError` (nothing written) for an unknown kind or a
    payload without its kind's required keys. A database that is briefly away is waited for
    (tasks/resilience.py); the append is one transaction, so a write that fails leaves nothing
    half-written."""
    return publish_many(attempt_id, [(kind, payload)])[0]


def publish_many(
    attempt_id: int, entries: Sequence[tuple[str, Mapping[str, Any] | None]]
) -> list[Event]:
    """Append several events in order (consecutive seqs) in one transaction, then broadcast
    each on commit: one commit instead of one per event, on the worker's path between a model
    reply and its tool's result. Checks every payload first, as `publish` does."""
    bodies = [(kind, dict(payload or {})) for kind, payload in entries]
    for kind, body in bodies:
        check_payload(kind, body)
    what = "write " + ", ".join(f"a {kind} event" for kind, _ in bodies)
    return with_db_retry(lambda: _append(attempt_id, bodies), what=what)


def _claim_seqs(attempt_id: int, count: int) -> int:
    """Move the attempt's `last_seq` on by `count` and return the new value, in one statement
    that also locks the row until the transaction ends (a SELECT ... FOR UPDATE and an UPDATE
    were two round trips, each while every other append to the attempt waited)."""
    table = connection.ops.quote_name(Attempt._meta.db_table)
    column, key = connection.ops.quote_name("last_seq"), connection.ops.quote_name("id")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = {column} + %s WHERE {key} = %s RETURNING {column}",  # noqa: S608 - names from the model
            [count, attempt_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise Attempt.DoesNotExist(f"no attempt {attempt_id}")
    return int(row[0])


def _append(attempt_id: int, bodies: list[tuple[str, dict[str, Any]]]) -> list[Event]:
    with transaction.atomic():
        first = _claim_seqs(attempt_id, len(bodies)) - len(bodies) + 1
        appended = Event.objects.bulk_create(
            Event(attempt_id=attempt_id, seq=first + i, kind=kind, payload=payload)
            for i, (kind, payload) in enumerate(bodies)
        )
        group = attempt_group(attempt_id)
        messages = [{"type": "attempt.event", "event": event_message(e)} for e in appended]
        transaction.on_commit(lambda: _send_all(group, messages))
    return appended


def _send_all(group: str, messages: list[dict[str, Any]]) -> None:
    for message in messages:
        _group_send(group, message)


def announce_task_change(*, team_id: int, task_id: int, status: str, author_id: int) -> None:
    """Tell the team's open pages (the sidebar) that a task's status changed; `author` lets a
    page notify only the person who started it (static/js/notify.js)."""
    message = {
        "type": "task.changed",
        "task": {"id": task_id, "status": status, "author": author_id},
    }
    transaction.on_commit(lambda: _group_send(team_group(team_id), message))
