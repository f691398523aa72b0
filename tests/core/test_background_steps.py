"""A database step repeated in a thread (tasks/background.py): a frequent one (the cancel watch,
every 2 s) keeps its connection between rounds instead of opening one per round (the CPU of
20 attempts' reconnects), and still rides out a connection that breaks."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tasks.background import KEEP_CONNECTION_BELOW_SECONDS, every

pytestmark = pytest.mark.django_db(transaction=True)


def backend_pids(interval: float, rounds: int, *, kill_after: int | None = None) -> list[int]:
    """The PostgreSQL backend each round's step ran on; with `kill_after`, that backend is
    terminated from outside after that many rounds (a database restart, as the step sees it)."""
    seen: list[int] = []
    enough = threading.Event()

    def step() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            seen.append(cursor.fetchone()[0])
        if kill_after is not None and len(seen) == kill_after:
            killer = threading.Thread(target=terminate, args=(seen[-1],))  # its own connection
            killer.start()
            killer.join(timeout=10)
        if len(seen) >= rounds:
            enough.set()
            return True
        return False

    with every(interval, step, name="test-step"):
        assert enough.wait(timeout=30), f"only {len(seen)} rounds ran"
    return seen


def terminate(pid: int) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        connection.close()


def test_a_frequent_step_keeps_its_connection_between_rounds():
    assert KEEP_CONNECTION_BELOW_SECONDS > 0.05
    pids = backend_pids(0.05, rounds=4)
    assert len(set(pids)) == 1, pids


def test_a_step_whose_connection_broke_skips_a_round_and_reconnects():
    pids = backend_pids(0.05, rounds=3, kill_after=1)
    assert pids[0] != pids[1] == pids[2], pids  # a new connection, kept again
