"""Local sign-in throttling: failed passwords per username, counted in Redis.

After SIGNIN_THROTTLE_FAILURES failures for one username, local sign-in for it is refused (even
with the right password) until SIGNIN_THROTTLE_WINDOW_SECONDS after the first of them. Counted in
Redis, so the limit holds across every web process. Per username rather than per address: behind
a reverse proxy every client has the proxy's address, and one attacker must not lock everyone
out. If Redis cannot be reached, sign-in is let through and a warning logged (like the API's
rate limit, codexweb/api/ratelimit.py).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import redis
from django.conf import settings

from codexweb.api.ratelimit import counter_key, counters_redis

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Throttle:
    blocked: bool
    retry_after: int  # seconds until sign-in for this username is allowed again (when blocked)


def signin_failures_key(username: str) -> str:
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return counter_key("signin-failures", digest)


def signin_throttle(username: str) -> Throttle:
    """Whether local sign-in for `username` is paused now, and for how long."""
    try:
        pipe = counters_redis().pipeline()
        pipe.get(signin_failures_key(username))
        pipe.ttl(signin_failures_key(username))
        raw, ttl = pipe.execute()
    except redis.RedisError:
        logger.warning("sign-in throttle: Redis unavailable; not throttling", exc_info=True)
        return Throttle(False, 0)
    if raw is None or int(raw) < settings.SIGNIN_THROTTLE_FAILURES:
        return Throttle(False, 0)
    return Throttle(True, max(int(ttl), 1))


def signin_failure_record(username: str) -> None:
    """Count one failed local sign-in for `username`; the window starts at the first failure."""
    key = signin_failures_key(username)
    try:
        pipe = counters_redis().pipeline()
        pipe.incr(key)
        pipe.expire(key, settings.SIGNIN_THROTTLE_WINDOW_SECONDS, nx=True)
        pipe.execute()
    except redis.RedisError:
        logger.warning("sign-in throttle: Redis unavailable; failure not counted", exc_info=True)


def throttled_message(retry_after: int) -> str:
    minutes = (retry_after + 59) // 60
    wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
    return (
        f"Too many failed sign-ins for this account. For its safety, signing in with a password "
        f"is paused: try again in {wait}. If you forgot your password, ask an administrator."
    )
