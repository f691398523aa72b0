"""The channel layer: channels-redis's pub/sub layer, whose sockets open while Redis is away.

Why pub/sub, see tasks/events.py. Its `new_channel` subscribes to the socket's own channel at
once, so with Redis away a websocket could not even open, where the queue-based layer needed no
Redis for it: the page would not get its backlog from the database until Redis came back. Here
nothing is ever sent to a socket's own channel (only to groups, which the consumer joins again
every few seconds), so that channel is not subscribed at all: the socket opens and serves the
database without Redis, and a handshake costs one Redis round trip (its group's subscription)
instead of two, each taken in turn under the layer's one lock while a burst of pages opens.

It also counts its subscriptions' reconnects (`reconnects`): nudges published while a subscription
was down (a Redis restart) are lost, so a consumer that has seen the count unchanged since its last
database read knows it missed nothing and need not read again (tasks/consumers.py, team sockets).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from channels_redis.pubsub import RedisPubSubChannelLayer

logger = logging.getLogger(__name__)


class PubSubLayer(RedisPubSubChannelLayer):
    """`channels_redis.pubsub.RedisPubSubChannelLayer` whose `new_channel` works without Redis,
    counting the reconnects of its subscriptions."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reconnects: int | None = 0  # None: unknown, so consumers read as if it moved

    async def group_add(self, group: str, channel: str) -> None:
        await self._get_layer().group_add(group, channel)
        self._watch_reconnects()

    def _watch_reconnects(self) -> None:
        """Be told of every reconnect of the subscriptions' connections. redis-py subscribes
        again in a connect callback registered when the subscription was first made; ours comes
        after it, so the count moves only once the channels are subscribed again."""
        shards = getattr(self._get_layer(), "_shards", None)
        for shard in shards or ():
            if not hasattr(shard, "_pubsub"):
                shards = None  # not the channels-redis this was written against
                break
            connection = getattr(shard._pubsub, "connection", None)
            if connection is None:
                continue  # nothing subscribed on this shard yet
            if not hasattr(connection, "register_connect_callback"):
                shards = None
                break
            connection.register_connect_callback(self._reconnected)  # twice: a no-op
        if shards is None:
            self.reconnects = None  # unknown from now on: say nothing rather than "none"

    async def _reconnected(self, connection: Any) -> None:
        if self.reconnects is not None:
            self.reconnects += 1
        logger.info("pub/sub subscriptions made again after a reconnect (%s so far)",
                    self.reconnects)

    async def new_channel(self, prefix: str = "specific.") -> str:
        """A socket's own channel: a local queue its groups' messages go to, not subscribed."""
        layer = self._get_layer()
        channel = f"{layer.prefix}{prefix}{uuid.uuid4().hex}"
        layer.channels[channel] = asyncio.Queue()
        return channel
