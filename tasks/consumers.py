"""WebSocket consumers: authorize, join the group, replay the backlog, forward live events.

Ordering and exactly-once delivery rest on two facts: an Event row is committed before its
channel-layer nudge is sent (`tasks.events.publish`), and seqs are assigned under a row lock, so
when the nudge for seq N arrives every seq below N is already readable. The consumer joins the
group *before* reading the backlog, so nothing falls between the two; whatever arrives twice is
dropped by seq. A nudge the channel layer dropped (see below) is recovered from the database
when the next one shows a gap, by a database check a moment after the stream goes quiet (so a
dropped final nudge is not left waiting for a next event) and after connecting, or when the client
asks for a `sync`. The layer is Redis pub/sub, so a nudge is dropped when it is published while
no subscription listens: a subscription starting a moment after the backlog read, Redis away.

Redis may restart, or be away for a while. A consumer whose join fails still accepts and sends
the backlog; every RESYNC_SECONDS each consumer joins its group again (the layer subscribes again
after a reconnect on its own; this covers a join that failed) and reads the database (unless live
nudges arrived meanwhile: the subscription works; a team socket also skips it while the layer's
subscriptions have not reconnected since its last read, TeamConsumer), so
an open page misses nothing for longer than that. A socket the restart did break is closed, and
the page reconnects with `?after=` its last seq.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from codexweb.accounts.current import current_team_for
from codexweb.accounts.selectors import teams_for_user
from tasks.event_kinds import STATUS
from tasks.events import attempt_group, event_message, team_group
from tasks.live_db import live_read
from tasks.models import FINISHED_STATUSES, Task
from tasks.selectors import attempt_events_after, get_attempt_for_user

logger = logging.getLogger(__name__)

REPLAY_PAGE = 500
# After the last live event, look in the database once more this much later.
TAIL_CHECK_SECONDS = 1.0
# A person removed from the team loses an open socket within this long of the next event.
REAUTHORIZE_SECONDS = 30.0
# Re-join the group and read the database this often (see the module docstring).
RESYNC_SECONDS = 5.0
# ... and this often for an attempt that has ended: little comes after (a pull request's error),
# and a page left open on it must not cost a database read every few seconds for hours (the
# paced hour's sixty open pages made daphne's largest CPU cost that way).
ENDED_RESYNC_SECONDS = 60.0
CLOSE_NOT_FOUND = 4404
CLOSE_UNAUTHENTICATED = 4401
# In an attempt socket's outbox: read the database for events after the last one sent.
READ_DATABASE = None


async def join_group(consumer: AsyncJsonWebsocketConsumer, group: str, *, was_joined: bool) -> bool:
    """Join (or re-join: idempotent) a channel-layer group. False when Redis does not answer;
    the consumer then lives on the database until a later join works. Says so once."""
    try:
        await consumer.channel_layer.group_add(group, consumer.channel_name)
    except Exception:  # redis-py raises several kinds; the database still answers
        if was_joined:
            logger.warning(
                "cannot join %s (Redis unreachable?); reading the database every %.0fs until "
                "it answers",
                group,
                RESYNC_SECONDS,
                exc_info=True,
            )
        return False
    if not was_joined:
        logger.info("joined %s again", group)
    return True


async def leave_group(consumer: AsyncJsonWebsocketConsumer, group: str) -> None:
    with contextlib.suppress(Exception):  # Redis away: the membership expires with it anyway
        await consumer.channel_layer.group_discard(group, consumer.channel_name)


def after_seq(query_string: bytes) -> int:
    """The `after` query parameter as a non-negative int (0 when absent or malformed)."""
    values = parse_qs(query_string.decode("latin-1")).get("after", [])
    raw = values[0] if values else ""
    return int(raw) if raw.isdigit() and len(raw) < 10 else 0


class ListeningConsumer(AsyncJsonWebsocketConsumer):
    """A socket whose clients only listen: what they send is ignored unless a subclass asks,
    and text that is not JSON is ignored too rather than closing the socket with an error."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        """channels' `dispatch` without its `aclose_old_connections()` before every message:
        that is a trip to channels' one sync thread per message per socket (each live event,
        to each page), queued behind every other socket's database reads, so under load most
        of an event's way through daphne. These consumers reach the database only through
        `live_read`, which drops broken and expired connections itself around each read."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Clients only listen."""

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None


async def stop_task(task: asyncio.Task | None) -> None:
    """Cancel a consumer's background task (resync, tail check) and wait until it has ended."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class AttemptConsumer(ListeningConsumer):
    """`/ws/attempts/<id>/?after=SEQ`: events after SEQ, then live ones, each exactly once and in
    seq order. Sends `{"type": "event", "event": {seq, kind, payload, created_at}}`; accepts
    `{"type": "sync"}` (re-read the database for anything missed). Closes with 4404 when the
    person may not see the attempt (anonymous included), so ids of other teams don't leak.

    Everything this socket sends goes through one queue, `outbox`, emptied by one task in
    order: a live event, or `READ_DATABASE` (the backlog, a gap, a sync, the tail check, the
    resync). `connect()` only authorizes, joins and accepts: the backlog is the queue's first
    item, so the socket's dispatcher is never held by a database read (under load a consumer
    whose `connect()` replayed handled none of its live events meanwhile), and a live event
    that arrives during the replay waits its turn, then goes or is dropped by seq."""

    async def connect(self) -> None:
        self.attempt_id = int(self.scope["url_route"]["kwargs"]["attempt_id"])
        self.last_sent = after_seq(self.scope.get("query_string", b""))
        self.joined = False
        self.nudged_at = -RESYNC_SECONDS  # when the last live nudge arrived (monotonic)
        self.outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.read_asked = False  # a READ_DATABASE is queued and not yet begun
        self.sender: asyncio.Task | None = None
        self.tail_check: asyncio.TimerHandle | None = None
        self.quiet_from = 0.0  # the event loop's time of the last live event
        self.resync: asyncio.Task | None = None
        user = self.scope.get("user")
        try:
            self.attempt = await live_read(get_attempt_for_user)(user, self.attempt_id)
        except Http404:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.authorized_at = time.monotonic()
        self.ended = self.attempt.status in FINISHED_STATUSES  # follows the status events sent
        # Joined before the backlog is read, so nothing falls between the two.
        self.joined = await join_group(self, attempt_group(self.attempt_id), was_joined=True)
        await self.accept()
        self._ask_read()  # the backlog
        self.sender = asyncio.ensure_future(self._send_in_order())
        self.resync = asyncio.ensure_future(self._resync_forever())

    async def disconnect(self, code: int) -> None:
        if (timer := getattr(self, "tail_check", None)) is not None:
            timer.cancel()
        for name in ("sender", "resync"):
            await stop_task(getattr(self, name, None))
        if getattr(self, "joined", False):
            await leave_group(self, attempt_group(self.attempt_id))

    async def _send_in_order(self) -> None:
        """The one sender: take the outbox's items in order; a read that fails (the database
        away a moment) is logged and left to the next one, the socket stays open."""
        backlog = True
        while True:
            wanted = await self.outbox.get()
            try:
                await self._deliver(wanted)
            except Exception:  # psycopg raises several kinds; the next read catches up
                logger.warning(
                    "attempt %s: cannot read its events now; trying again with the next one",
                    self.attempt_id,
                    exc_info=True,
                )
            if backlog:
                # The subscription may have started a moment after the backlog read: look once
                # more a moment later.
                backlog = False
                self._schedule_tail_check()

    async def _deliver(self, wanted: dict[str, Any] | None) -> None:
        if wanted is READ_DATABASE:
            self.read_asked = False  # a read asked from now on may see more: it queues again
            await self._replay()
        elif wanted["seq"] == self.last_sent + 1:
            await self._emit(wanted)
        elif wanted["seq"] > self.last_sent:
            # A gap: an earlier nudge was dropped or is still queued; the rows are committed.
            await self._replay()
            if wanted["seq"] > self.last_sent:
                await self._emit(wanted)

    async def _resync_forever(self) -> None:
        while True:
            await asyncio.sleep(ENDED_RESYNC_SECONDS if self.ended else RESYNC_SECONDS)
            if not await self._still_allowed():
                return
            self.joined = await join_group(
                self, attempt_group(self.attempt_id), was_joined=self.joined
            )
            if self.joined and time.monotonic() - self.nudged_at < RESYNC_SECONDS:
                # Nudges arrive, so the subscription works: a gap shows in their seqs and the
                # tail check follows each burst. Reading here too cost a web process under
                # load one database connection per socket every few seconds.
                continue
            self._ask_read()

    async def _replay(self) -> None:
        """Send every stored event after `last_sent`, page by page (the database is the truth)."""
        while True:
            batch = await live_read(self._events_after)(self.last_sent)
            for event in batch:
                if event["seq"] > self.last_sent:
                    await self._emit(event)
            if len(batch) < REPLAY_PAGE:
                return

    def _events_after(self, seq: int) -> list[dict[str, Any]]:
        return [event_message(e) for e in attempt_events_after(self.attempt, seq)[:REPLAY_PAGE]]

    async def _emit(self, event: dict[str, Any]) -> None:
        self.last_sent = event["seq"]
        if event["kind"] == STATUS:
            self.ended = (event.get("payload") or {}).get("status") in FINISHED_STATUSES
        await self.send_json({"type": "event", "event": event})

    async def _still_allowed(self) -> bool:
        """Re-check access now and then: membership can end while a socket stays open."""
        if time.monotonic() - self.authorized_at < REAUTHORIZE_SECONDS:
            return True
        try:
            await live_read(get_attempt_for_user)(
                self.scope.get("user"), self.attempt_id
            )
        except Http404:
            if self.sender is not None:
                self.sender.cancel()  # what is queued is not for this person any more
            await self.close(code=CLOSE_NOT_FOUND)
            return False
        self.authorized_at = time.monotonic()
        return True

    async def attempt_event(self, message: dict[str, Any]) -> None:
        self.nudged_at = time.monotonic()
        if not await self._still_allowed():
            return
        self.outbox.put_nowait(message["event"])
        self._schedule_tail_check()

    def _ask_read(self) -> None:
        """Queue a database read, unless one queued already has not begun (it will see as much)."""
        if not self.read_asked:
            self.read_asked = True
            self.outbox.put_nowait(READ_DATABASE)

    def _schedule_tail_check(self) -> None:
        """Read the database once TAIL_CHECK_SECONDS pass without a live event: one timer per
        burst, moved on when it fires early (a task per event, cancelled by the next, cost
        daphne more than the event's own send)."""
        loop = asyncio.get_running_loop()
        self.quiet_from = loop.time()
        if self.tail_check is None:
            self.tail_check = loop.call_later(TAIL_CHECK_SECONDS, self._tail_check)

    def _tail_check(self) -> None:
        """Once the stream pauses, read the database: a dropped last nudge shows up here."""
        loop = asyncio.get_running_loop()
        quiet = loop.time() - self.quiet_from
        if quiet < TAIL_CHECK_SECONDS:
            self.tail_check = loop.call_later(TAIL_CHECK_SECONDS - quiet, self._tail_check)
            return
        self.tail_check = None
        self._ask_read()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Clients only listen; `{"type": "sync"}` asks for anything missed, the rest is ignored."""
        if isinstance(content, dict) and content.get("type") == "sync":
            self._ask_read()


# How many of the team's newest tasks a team socket reports on connecting (the sidebar shows 50).
TEAM_CATCH_UP = 100
# A team socket reads its catch-up at most this often while its subscription has stayed up
# since the last read (a safety net for a nudge the worker could not publish); sooner after the
# layer reconnected (Redis restarted: nudges were lost) or a join failed.
TEAM_IDLE_RESYNC_SECONDS = 60.0


def layer_reconnects(consumer: AsyncJsonWebsocketConsumer) -> int | None:
    """How often the channel layer's subscriptions reconnected (tasks/channel_layer.py); None
    for a layer that does not say, whose sockets then read every RESYNC_SECONDS."""
    return getattr(consumer.channel_layer, "reconnects", None)


class TeamConsumer(ListeningConsumer):
    """`/ws/team/`: status changes of the current team's tasks, for the live sidebar.
    Sends `{"type": "task", "task": {"id", "status", "author"}}`.

    Every page has one, so its idle cost counts: every RESYNC_SECONDS it joins its group again
    (no Redis round trip while joined), but reads the team's recent statuses only when a nudge
    may have been lost since its last read: the join had failed, the layer's subscriptions
    reconnected (a Redis restart), or TEAM_IDLE_RESYNC_SECONDS passed."""

    group = ""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        team = await live_read(self._team)()
        if team is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.group = team_group(team.pk)
        self.team_id = team.pk
        self.authorized_at = time.monotonic()
        self.sent: dict[int, str] = {}
        self.joined = await join_group(self, self.group, was_joined=True)
        await self.accept()
        # Catch up: a status that changed between the page's render and this connection (or
        # while it was down) would otherwise never reach the sidebar.
        await self._catch_up()
        self.resync = asyncio.ensure_future(self._resync_forever())

    async def _catch_up(self) -> None:
        """Send each recent task whose status differs from what this socket last sent."""
        # Noted before the read: a reconnect during it makes the next resync read again.
        self.read_at_reconnects = layer_reconnects(self)
        self.read_at = time.monotonic()
        for task in await live_read(self._recent_statuses)(self.team_id):
            if self.sent.get(task["id"]) != task["status"]:
                await self._send_task(task)

    async def _send_task(self, task: dict[str, Any]) -> None:
        self.sent[task["id"]] = task["status"]
        await self.send_json({"type": "task", "task": task})

    async def _resync_forever(self) -> None:
        """Join again and catch up now and then: a Redis restart may have lost the group."""
        while True:
            await asyncio.sleep(RESYNC_SECONDS)
            if not await self._still_member():
                return
            was_joined = self.joined
            self.joined = await join_group(self, self.group, was_joined=was_joined)
            if not (was_joined and self.joined and self._missed_nothing()):
                await self._catch_up()

    def _missed_nothing(self) -> bool:
        """No nudge can have been lost since the last read: the subscription stayed up."""
        reconnects = layer_reconnects(self)
        return (
            reconnects is not None
            and reconnects == self.read_at_reconnects
            and time.monotonic() - self.read_at < TEAM_IDLE_RESYNC_SECONDS
        )

    async def _still_member(self) -> bool:
        """Re-check membership now and then (like the attempt socket): a person removed from
        the team must stop learning of its tasks."""
        if time.monotonic() - self.authorized_at < REAUTHORIZE_SECONDS:
            return True
        user = self.scope.get("user")
        member = await live_read(
            lambda: teams_for_user(user).filter(pk=self.team_id).exists()
        )()
        if not member:
            await self.close(code=CLOSE_NOT_FOUND)
            return False
        self.authorized_at = time.monotonic()
        return True

    @staticmethod
    def _recent_statuses(team_id: int) -> list[dict[str, Any]]:
        recent = Task.objects.filter(team_id=team_id).order_by("-created_at", "-id")
        return [
            {"id": pk, "status": status, "author": author}
            for pk, status, author in recent.values_list("pk", "status", "author_id")[
                :TEAM_CATCH_UP
            ]
        ]

    def _team(self):
        return current_team_for(self.scope["user"], self.scope.get("session") or {})

    async def disconnect(self, code: int) -> None:
        await stop_task(getattr(self, "resync", None))
        if self.group and getattr(self, "joined", False):
            await leave_group(self, self.group)

    async def task_changed(self, message: dict[str, Any]) -> None:
        if await self._still_member():
            await self._send_task(message["task"])
