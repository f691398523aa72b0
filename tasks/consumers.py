"""WebSocket consumers: authorize, join the group, replay the backlog, forward live events."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from codexweb.accounts.current import current_team_for
from tasks.events import attempt_group, event_message, team_group
from tasks.selectors import attempt_events_after, get_attempt_for_user

REPLAY_PAGE = 500


class AttemptConsumer(AsyncJsonWebsocketConsumer):
    """`/ws/attempts/<id>/?after=SEQ`: events after SEQ, then live ones, each exactly once."""

    async def connect(self) -> None:
        self.attempt_id = int(self.scope["url_route"]["kwargs"]["attempt_id"])
        self.last_sent = 0
        user = self.scope.get("user")
        try:
            self.attempt = await database_sync_to_async(get_attempt_for_user)(user, self.attempt_id)
        except Http404:
            await self.close(code=4404)
            return
        query = dict(
            part.split("=", 1) for part in self.scope.get("query_string", b"").decode().split("&") if "=" in part
        )
        try:
            self.last_sent = max(0, int(query.get("after", "0")))
        except ValueError:
            self.last_sent = 0
        # Join first, then replay: a live event that arrives during replay is deduplicated by seq.
        await self.channel_layer.group_add(attempt_group(self.attempt_id), self.channel_name)
        await self.accept()
        await self._replay()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(attempt_group(self.attempt_id), self.channel_name)

    async def _replay(self) -> None:
        while True:
            batch = await database_sync_to_async(self._events_after)(self.last_sent)
            for event in batch:
                await self._send_event(event)
            if len(batch) < REPLAY_PAGE:
                return

    def _events_after(self, seq: int) -> list[dict[str, Any]]:
        return [event_message(e) for e in attempt_events_after(self.attempt, seq)[:REPLAY_PAGE]]

    async def _send_event(self, event: dict[str, Any]) -> None:
        if event["seq"] <= self.last_sent:
            return
        if event["seq"] > self.last_sent + 1:
            # A gap: an event was committed but its nudge not yet seen; fill from the database.
            await self._replay()
            if event["seq"] <= self.last_sent:
                return
        self.last_sent = event["seq"]
        await self.send_json({"type": "event", "event": event})

    async def attempt_event(self, message: dict[str, Any]) -> None:
        await self._send_event(message["event"])

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Clients only listen; anything they send is ignored."""


class TeamConsumer(AsyncJsonWebsocketConsumer):
    """`/ws/team/`: status changes of the current team's tasks, for the live sidebar."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        team = await database_sync_to_async(self._team)()
        if team is None:
            await self.close(code=4404)
            return
        self.group = team_group(team.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    def _team(self):
        return current_team_for(self.scope["user"], self.scope.get("session") or {})

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def task_changed(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "task", "task": message["task"]})
