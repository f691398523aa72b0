"""A worker that loses Redis while attempts run reconnects instead of stopping.

When the connection to Redis drops, Celery closes the broker channel and reconnects. kombu's
Redis channel, when closed with jobs still unacknowledged (ours are acknowledged late, so every
running attempt's job is), gives those jobs back to the queue over a connection it has just
torn down: that raises AttributeError ("'NoneType' object has no attribute 'hostname'",
kombu 5.7), which Celery treats as unrecoverable. The worker then stops consuming and waits for
its running attempts to end before it exits, so every attempt started meanwhile waits too, up
to an attempt's whole time limit, until the supervisor starts a new worker.

Nothing needs giving back there: the jobs are still in Redis's unacknowledged set (kombu puts
them there on delivery), which kombu restores after its visibility timeout, and a job delivered
again never runs its attempt twice (tasks/jobs.py: the claim is atomic). So when the connection
is gone, giving them back is skipped with a warning and the worker reconnects at once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError

logger = logging.getLogger(__name__)

# The errors a give-back over a dropped connection raises (see the module's docstring).
_CONNECTION_GONE = (AttributeError, RedisConnectionError, ConnectionError)


def _keep_for_visibility_restore(restore: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(restore)
    def restore_unacked(self: Any, client: Any = None) -> Any:
        try:
            return restore(self, client)
        except _CONNECTION_GONE as exc:
            logger.warning(
                "Redis went away with %d job(s) not yet acknowledged; they stay in Redis and "
                "are delivered again after the visibility timeout (%s)",
                len(getattr(self, "_delivered", ())), exc.__class__.__name__,
            )
            getattr(self, "_delivered", {}).clear()
            return None

    restore_unacked.codexweb_broker_loss = True  # type: ignore[attr-defined]
    return restore_unacked


def install() -> None:
    """Make the Redis transport's give-back of unacknowledged jobs survive a dropped
    connection. Idempotent; called when the Celery app is created."""
    qos = kombu_redis.QoS
    if getattr(qos.restore_unacked, "codexweb_broker_loss", False):
        return
    qos.restore_unacked = _keep_for_visibility_restore(qos.restore_unacked)  # type: ignore[method-assign]
