"""The flush after a `transactional_db` test (a TRUNCATE of every table) retried when PostgreSQL
ends it as a deadlock victim.

The app's own processes (daphne, a worker) run beside browser and fault tests; a request still
running when the test ends may read two tables while the TRUNCATE locks them in the other order.
PostgreSQL then aborts one of the two. When it picks the flush, the table rows stay and the next
test finds the last one's people (`duplicate key ... auth_user_username_key`). The waiting in
tests/support/browser.py makes this rare; a request that starts after that wait can still meet
the TRUNCATE, so the flush is tried again (bounded): the reader has gone by then."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandError
from django.test import TransactionTestCase

TRIES = 4


def _is_deadlock(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc.__context__
    return cause is not None and "deadlock detected" in str(cause)


def _retrying(teardown: Callable[[Any], None]) -> Callable[[Any], None]:
    def fixture_teardown(self: Any) -> None:
        for attempt in range(TRIES):
            try:
                teardown(self)
                return
            except CommandError as exc:
                if attempt == TRIES - 1 or not _is_deadlock(exc):
                    raise
                time.sleep(0.2 * (attempt + 1))

    fixture_teardown.retries_deadlocks = True  # type: ignore[attr-defined]
    return fixture_teardown


def install() -> None:
    """Wrap TransactionTestCase's flush once per process."""
    current = TransactionTestCase._fixture_teardown
    if not getattr(current, "retries_deadlocks", False):
        TransactionTestCase._fixture_teardown = _retrying(current)  # type: ignore[method-assign]
