"""The test flush is tried again only when PostgreSQL chose it as a deadlock's victim
(tests/support/flush_retry.py); any other failure is raised at once."""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError

from tests.support import flush_retry


@pytest.fixture(autouse=True)
def no_pause(monkeypatch):
    monkeypatch.setattr(flush_retry.time, "sleep", lambda _s: None)


def failing(times: int, cause: str):
    calls = []

    def teardown(_self) -> None:
        calls.append(1)
        if len(calls) <= times:
            raise CommandError("The database could not be flushed.") from RuntimeError(cause)

    return teardown, calls


def test_a_flush_lost_to_a_deadlock_is_tried_again():
    teardown, calls = failing(2, "deadlock detected\nDETAIL: Process 1 waits for AccessShareLock")
    flush_retry._retrying(teardown)(object())
    assert len(calls) == 3


def test_another_flush_failure_is_raised_at_once():
    teardown, calls = failing(1, "relation does not exist")
    with pytest.raises(CommandError):
        flush_retry._retrying(teardown)(object())
    assert len(calls) == 1


def test_a_deadlock_every_time_is_raised_after_the_last_try():
    teardown, calls = failing(99, "deadlock detected")
    with pytest.raises(CommandError):
        flush_retry._retrying(teardown)(object())
    assert len(calls) == flush_retry.TRIES
