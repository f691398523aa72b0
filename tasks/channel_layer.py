"""The Redis channel layer with a group send of two round trips instead of four.

channels-redis's `group_send` makes four sequential Redis calls (expire the group's members, list
them, expire old messages, the capacity-checked add). On the worker every call's reply waits for
the sending thread to get the GIL back from the attempts' threads, so under load the round trips,
not Redis, were most of an event's way to the page (bench/README.md, session 6). Here the first
two go in one pipeline and the last two in one script; what is stored, where, and the capacity and
expiry rules are channels-redis's own, so its receivers (daphne) read the messages unchanged.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from channels_redis.core import RedisChannelLayer

logger = logging.getLogger(__name__)

# channels-redis's group-send script with its per-channel expiry of old messages folded in.
GROUP_SEND_LUA = """
local over_capacity = 0
local current_time = ARGV[#ARGV - 2]
local expiry = ARGV[#ARGV - 1]
local expired_before = ARGV[#ARGV]
for i=1,#KEYS do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, expired_before)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
        redis.call('ZADD', KEYS[i], current_time, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""


class RedisLayer(RedisChannelLayer):
    """`channels_redis.core.RedisChannelLayer` whose `group_send` takes two round trips."""

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert self.require_valid_group_name(group), "Group name not valid"
        key = self._group_key(group)
        pipe = self.connection(self.consistent_hash(group)).pipeline(transaction=False)
        pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
        pipe.zrange(key, 0, -1)
        _, members = await pipe.execute()
        channel_names = [member.decode("utf8") for member in members]
        by_connection, messages, capacities = self._map_channel_keys_to_connection(
            channel_names, message
        )
        for index, channel_keys in by_connection.items():
            now = time.time()
            over = await self.connection(index).eval(
                GROUP_SEND_LUA,
                len(channel_keys),
                *channel_keys,
                *[messages[k] for k in channel_keys],
                *[capacities[k] for k in channel_keys],
                now,
                self.expiry,
                int(now) - int(self.expiry),
            )
            if over > 0:
                logger.info(
                    "%s of %s channels over capacity in group %s", over, len(channel_names), group
                )
