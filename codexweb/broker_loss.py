"""A worker that loses Redis while attempts run reconnects instead of stopping.

When the connection to Redis drops, Celery closes the broker channel and reconnects. kombu's
Redis channel, when closed with jobs still unacknowledged (ours are acknowledged late, so every
running attempt's job is), gives those jobs back to the queue over a connection it has just
torn down: that raises AttributeError ("'NoneType' object has no attribute 'hostname'",
kombu 5.7), which Celery treats as unrecoverable. The worker then stops consuming and waits for
its running attempts to end before it exits, so every attempt started meanwhile waits too, up
to an attempt's whole time limit, until the supervisor starts a new worker.

The running job's acknowledgement, when it ends, goes to that same dead channel and raises the
same way, now from the worker's event loop: unrecoverable again, and the worker exits with every
other attempt it runs. Both are caught here.

Nothing needs giving back or acknowledging there: the jobs are still in Redis's unacknowledged
set (kombu puts them there on delivery), which kombu restores after its visibility timeout, and
a job delivered again never runs its attempt twice (tasks/jobs.py: the claim is atomic). So
when the connection is gone, both are skipped with a warning and the worker goes on (it
reconnects at once).
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
                len(self._delivered), exc.__class__.__name__,
            )
            self._delivered.clear()
            return None

    return restore_unacked


def _leave_unacknowledged(settle: Callable[..., Any]) -> Callable[..., Any]:
    """`ack`/`reject` of a job whose channel went away with the connection (it ran through
    the outage): leave it in Redis's unacknowledged set instead of raising."""

    @functools.wraps(settle)
    def settle_or_leave(self: Any, delivery_tag: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return settle(self, delivery_tag, *args, **kwargs)
        except _CONNECTION_GONE as exc:
            logger.warning(
                "could not acknowledge job %s over a connection Redis dropped (%s); it is "
                "delivered again after the visibility timeout and then finds its work done",
                delivery_tag, exc.__class__.__name__,
            )
            self._delivered.pop(delivery_tag, None)
            return None

    return settle_or_leave


def install() -> None:
    """Make the Redis transport's give-back and acknowledgement of jobs survive a dropped
    connection. Idempotent; called when the Celery app is created."""
    qos = kombu_redis.QoS
    if getattr(qos, "codexweb_broker_loss", False):
        return
    qos.restore_unacked = _keep_for_visibility_restore(qos.restore_unacked)  # type: ignore[method-assign]
    qos.ack = _leave_unacknowledged(qos.ack)  # type: ignore[method-assign]
    qos.reject = _leave_unacknowledged(qos.reject)  # type: ignore[method-assign]
    qos.codexweb_broker_loss = True  # type: ignore[attr-defined]


def uninstall() -> None:
    """Undo `install` (tests show what happens without it)."""
    qos = kombu_redis.QoS
    if not getattr(qos, "codexweb_broker_loss", False):
        return
    for name in ("restore_unacked", "ack", "reject"):
        setattr(qos, name, getattr(qos, name).__wrapped__)
    qos.codexweb_broker_loss = False  # type: ignore[attr-defined]
