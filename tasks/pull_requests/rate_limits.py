"""GitHub's short secondary rate limits waited out inside a pull-request request.

Opening a pull request is a content-creating call, the kind GitHub's secondary limits target,
often with a wait of a few seconds; failing the person's request then ("try again after 14:02")
would cost them a click and a wait longer than GitHub's. A limit that lifts within
`SHORT_WAIT_SECONDS` is waited for and the call made once more; a longer one is raised as is,
its message saying when to try again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from repos.github.client import GitHubRateLimited

logger = logging.getLogger(__name__)

SHORT_WAIT_SECONDS = 10.0

T = TypeVar("T")


def after_a_short_wait(call: Callable[[], T], *,
                       sleep: Callable[[float], None] = time.sleep) -> T:
    """`call()`, made once more after waiting when GitHub's rate limit lifts within
    SHORT_WAIT_SECONDS. Raises GitHubRateLimited for a longer limit, or for a second one."""
    try:
        return call()
    except GitHubRateLimited as exc:
        wait = (exc.retry_at - datetime.now(tz=UTC)).total_seconds()
        if wait > SHORT_WAIT_SECONDS:
            raise
        logger.info("GitHub asked to wait %.1f s (a rate limit); waiting, then asking again",
                    wait)
        sleep(max(0.0, wait))
    return call()
