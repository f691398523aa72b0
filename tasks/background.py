"""A small database step repeated in a thread while a block runs (the heartbeat, the cancel
watch). Each thread has its own connection, closed when it ends; a database that is briefly
away only skips a round."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

from django.db import close_old_connections

from tasks.resilience import TRANSIENT_DB_ERRORS, drop_connection

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def every(interval: float, step: Callable[[], bool], *, name: str) -> Iterator[None]:
    """Call `step` every `interval` seconds while the block runs, until it returns True."""
    done = threading.Event()

    def run() -> None:
        try:
            while not done.wait(interval):
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
