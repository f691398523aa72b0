"""The worker's sign of life for a running attempt.

While a job runs an attempt, the process's watch thread (tasks/worker/attempt_watch.py)
stamps `Attempt.heartbeat_at` every ATTEMPT_HEARTBEAT_SECONDS (one UPDATE for all the attempts
due). If the worker dies (SIGKILL, OOM, host lost), the stamps stop and housekeeping
(`tasks.jobs.attempts_check_heartbeats`) fails the attempt once its heartbeat is older than
ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.conf import settings

from tasks.worker.attempt_watch import attempt_watch


@contextlib.contextmanager
def heartbeat(attempt_id: int, *, interval: float | None = None) -> Iterator[None]:
    """Stamp the attempt's heartbeat every `interval` seconds while the block runs. A stamp
    that fails (database briefly away) is skipped; the next one tries again."""
    every_seconds = settings.ATTEMPT_HEARTBEAT_SECONDS if interval is None else interval
    with attempt_watch().heartbeat(attempt_id, interval=every_seconds):
        yield
