"""How the worker rides out a database that is briefly away (a PostgreSQL restart, a SQLite file
locked by a sibling writer): retry the write with backoff for a bounded time, then give up with
`DatabaseUnavailable`, which the attempt job turns into a clear ending.

Only the outermost transaction can be retried (a failed statement poisons the block it runs in),
so inside an atomic block the error is passed on for the outer caller to retry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

T = TypeVar("T")

# What a database that restarts, refuses connections or is locked raises (Django wraps the
# driver's errors in these).
TRANSIENT_DB_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)

DATABASE_UNAVAILABLE_MESSAGE = (
    "The database was unavailable for too long while this attempt ran, so it was stopped. "
    "Use Retry to run it again."
)


class DatabaseUnavailable(Exception):
    """The database stayed unreachable (or locked) for longer than the retry budget."""


def with_db_retry(
    fn: Callable[[], T], *, what: str, total_seconds: float | None = None
) -> T:
    """Run `fn`; on a transient database error drop the connection and retry with backoff
    (0.1 s doubling to 2 s) until `total_seconds` (DB_RETRY_SECONDS) have passed."""
    if connection.in_atomic_block:
        return fn()
    budget = settings.DB_RETRY_SECONDS if total_seconds is None else total_seconds
    deadline = time.monotonic() + budget
    delay = 0.1
    while True:
        try:
            return fn()
        except TRANSIENT_DB_ERRORS as exc:
            if time.monotonic() + delay > deadline:
                raise DatabaseUnavailable(f"could not {what} for {budget:g} s: {exc}") from exc
            logger.warning("could not %s (%s); retrying in %.1f s", what, exc, delay)
            drop_connection()
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def drop_connection() -> None:
    """Forget a connection that broke, so the next query opens a fresh one."""
    try:
        connection.close()
    except TRANSIENT_DB_ERRORS:
        connection.connection = None
