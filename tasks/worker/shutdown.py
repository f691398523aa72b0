"""A worker told to stop (SIGTERM: Ctrl-C on `codexweb serve`, a service manager) ends the
attempts it is running instead of waiting minutes for them, so the stop is orderly and bounded.

Celery's warm shutdown stops taking jobs and waits for the running ones. Here, as it begins,
each attempt this process runs is failed with a sentence that says why and offers Retry (its
cancel watch then stops the sandbox's command and the attempt's own code kills its container
and queues its removal, tasks/sandbox/removal.py); whatever container is still there a few
seconds later is removed here, and the queued removals are waited for. A job that
is redelivered later finds its attempt ended and never runs it again (tasks/jobs.py).
Attempts run as threads of the worker (WORKER_POOL=threads, the default) or in the process
itself (solo) are seen; with prefork they run in pool processes this one does not see, and
housekeeping ends them once their heartbeat stops.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator

from django.db import close_old_connections

from tasks.models import Status
from tasks.sandbox import removal

logger = logging.getLogger(__name__)

SHUTDOWN_MESSAGE = (
    "The worker running this attempt was stopped (the server shut down) before the attempt "
    "finished; its container was removed. Use Retry to run it again as a new attempt."
)
# How long the attempts get to stop by themselves before their containers are removed here:
# their cancel watch asks every 2 s, and `codexweb serve` kills a child after 15 s.
SETTLE_SECONDS = 6.0
# After that, how long an attempt's thread may still take (its cancel watch ends a model call
# in flight too; collecting the patch may not be done) before the process exits anyway: its
# attempt is ended and its container gone, and the job's late acknowledgement only ends it
# again (tasks/jobs.py).
EXIT_AFTER_SECONDS = 4.0
# How long the ended attempts' queued container removals get (tasks/sandbox/removal.py) before
# the process goes on stopping; what is left then goes at exit, or to the reaper.
REMOVALS_SECONDS = 3.0

_lock = threading.Lock()
_running: set[int] = set()


@contextlib.contextmanager
def running(attempt_id: int) -> Iterator[None]:
    """Mark the attempt as run by this process while the block runs."""
    with _lock:
        _running.add(attempt_id)
    try:
        yield
    finally:
        with _lock:
            _running.discard(attempt_id)


def running_attempts() -> list[int]:
    with _lock:
        return sorted(_running)


def end_running_attempts(*, settle_seconds: float = SETTLE_SECONDS) -> list[int]:
    """Fail the attempts this process runs (SHUTDOWN_MESSAGE), wait up to `settle_seconds`
    for them to stop, then remove the containers of those still running. Returns the ids."""
    from tasks.services import attempt_finish
    from tasks.worker.housekeeping import reap_attempt_sandboxes

    ended = running_attempts()
    if not ended:
        return []
    close_old_connections()
    for attempt_id in ended:
        try:
            attempt_finish(attempt_id=attempt_id, status=Status.FAILED, error=SHUTDOWN_MESSAGE)
        except Exception:  # the database may be going away too: housekeeping ends it later
            logger.exception("could not end attempt %s on shutdown", attempt_id)
    deadline = time.monotonic() + settle_seconds
    while time.monotonic() < deadline and set(running_attempts()) & set(ended):
        time.sleep(0.2)
    left = sorted(set(running_attempts()) & set(ended))
    if left:
        reap_attempt_sandboxes(left)
    # Those that stopped by themselves killed their containers and queued the removals.
    removal.drain(REMOVALS_SECONDS)
    logger.warning("worker stopping: ended attempts %s (removed the containers of %s)",
                   ended, left)
    return ended


def end_running_attempts_in_background() -> threading.Thread:
    """From Celery's shutdown signal handler: do the work in a thread (not a daemon, so the
    process waits for it, bounded by SETTLE_SECONDS) and let the handler return at once, so
    Celery stops taking jobs meanwhile."""

    def run() -> None:
        try:
            ended = end_running_attempts()
        finally:
            from django.db import connection

            connection.close()
        deadline = time.monotonic() + EXIT_AFTER_SECONDS
        while ended and time.monotonic() < deadline and set(running_attempts()) & set(ended):
            time.sleep(0.2)
        busy = sorted(set(running_attempts()) & set(ended))
        if busy:
            logger.warning("attempts %s are ended but their threads are still busy (a model "
                           "call in flight); exiting now", busy)
            logging.shutdown()
            os._exit(0)

    thread = threading.Thread(target=run, name="end-attempts-on-shutdown", daemon=False)
    thread.start()
    return thread
