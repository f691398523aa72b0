"""The channel layer: channels-redis's pub/sub layer, whose sockets open while Redis is away.

Why pub/sub, see tasks/events.py. Its `new_channel` subscribes to the socket's own channel at
once, so with Redis away a websocket could not even open, where the queue-based layer needed no
Redis for it: the page would not get its backlog from the database until Redis came back. Here
that subscription may fail: nothing is ever sent to a socket's own channel (only to groups, which
the consumer joins again every few seconds), so the socket opens and serves the database.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from channels_redis.pubsub import RedisPubSubChannelLayer
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class PubSubLayer(RedisPubSubChannelLayer):
    """`channels_redis.pubsub.RedisPubSubChannelLayer` whose `new_channel` works without Redis."""

    async def new_channel(self, prefix: str = "specific.") -> str:
        layer = self._get_layer()
        channel = f"{layer.prefix}{prefix}{uuid.uuid4().hex}"
        layer.channels[channel] = asyncio.Queue()
        try:
            await layer._get_shard(channel).subscribe(channel)
        except (RedisError, OSError) as exc:
            logger.warning("cannot subscribe %s (Redis unreachable?): %r", channel, exc)
        return channel
