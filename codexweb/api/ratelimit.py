"""A per-token request budget, counted in Redis (fixed one-minute windows).

Shared by every web process, so the limit holds however many daphne workers serve the API.
If Redis cannot be reached the request is let through and a warning logged: the limit protects
the service, and Redis being down already breaks live updates loudly.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def counters_redis() -> redis.Redis:
    """The Redis that holds request counters (this one and codexweb/accounts/throttle.py)."""
    return _client(settings.REDIS_URL)


def counter_key(*parts: object) -> str:
    """A Redis key for a counter, under the install's prefix (shared Redis servers)."""
    layer: dict[str, Any] = settings.CHANNEL_LAYERS["default"]
    prefix = str(layer.get("CONFIG", {}).get("prefix", "codexweb"))
    return ":".join([prefix, *(str(part) for part in parts)])


def rate_limit_hit(key: str, *, limit: int | None = None, now: float | None = None) -> RateDecision:
    """Count one request for `key` in the current window and say whether it is within `limit`."""
    limit = limit if limit is not None else settings.API_RATE_LIMIT_PER_MINUTE
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    retry_after = WINDOW_SECONDS - int(now % WINDOW_SECONDS)
    redis_key = counter_key("ratelimit", key, window)
    try:
        pipe = counters_redis().pipeline()
        pipe.incr(redis_key)
        pipe.expire(redis_key, WINDOW_SECONDS * 2)
        count = int(pipe.execute()[0])
    except redis.RedisError:
        logger.warning(
            "rate limiter: Redis unavailable; letting the request through", exc_info=True
        )
        return RateDecision(True, limit, limit, 0)
    return RateDecision(count <= limit, limit, max(0, limit - count), retry_after)
