"""A small database step repeated in a thread while a block runs (the egress follower, a
verification's heartbeat and stop check; an attempt's heartbeat and cancel check share one
thread per process instead: tasks/worker/attempt_watch.py). Each thread has its own
connection, closed when it ends; a database that is briefly away only skips a round (the
broken connection is dropped, the next round opens a new one).

A step repeated every few seconds keeps its connection between rounds: with
DATABASE_CONN_MAX_AGE=0 `close_old_connections()` closes it every round, and opening a
PostgreSQL connection cost more CPU than the step itself (py-spy, 10 attempts at once: the
cancel watch's reconnects, then a thread of this module, were a quarter of the worker's Python
CPU). A slower step (a heartbeat) opens one per round rather than hold an idle one for the
block's life."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

from django.db import close_old_connections

from tasks.resilience import TRANSIENT_DB_ERRORS, drop_connection

logger = logging.getLogger(__name__)

KEEP_CONNECTION_BELOW_SECONDS = 5.0


@contextlib.contextmanager
def every(interval: float, step: Callable[[], bool], *, name: str) -> Iterator[None]:
    """Call `step` every `interval` seconds while the block runs, until it returns True."""
    done = threading.Event()
    keep = interval < KEEP_CONNECTION_BELOW_SECONDS

    def run() -> None:
        try:
            while not done.wait(interval):
                if not keep:
                    close_old_connections()
                try:
                    if step():
                        return
                except TRANSIENT_DB_ERRORS as exc:
                    logger.warning("%s skipped a round: %s", name, exc)
                    drop_connection()
        except Exception:
            logger.warning("%s stopped", name, exc_info=True)
        finally:
            drop_connection()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=interval + 5)
