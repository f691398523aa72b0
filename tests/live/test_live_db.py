"""The consumers' database reads keep their connection (tasks/live_db.py), and survive the
database dropping it (a PostgreSQL restart), on the real ASGI application and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import SyncToAsync
from channels.db import database_sync_to_async
from django.db import connection, connections
from django.db.backends.signals import connection_created

from tasks import consumers
from tasks.live_db import live_read
from tests.live.conftest import publish_many, receive_seqs, session_cookie, ws_connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def kept_backend_pid() -> int | None:
    """The PostgreSQL server process behind the consumers' thread's connection, if open."""
    return None if connection.connection is None else connection.connection.info.backend_pid


def terminate_backend(pid: int) -> None:
    """What a PostgreSQL restart does to an open connection: the server closes it."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone() == (True,)
    finally:
        connection.close()


def cookie_of(user) -> str:  # noqa: ANN001
    """A signed-in session's cookie, made in a thread that closes its connection after."""
    try:
        return session_cookie(user)
    finally:
        connection.close()


def close_kept() -> None:
    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=60)


@pytest.fixture
def opened_connections():
    """The database connections opened from now on, by the name of the thread opening them."""
    opened: list[str] = []

    def count(sender, connection, **kwargs):  # noqa: ANN001, ANN003
        opened.append(threading.current_thread().name)

    connection_created.connect(count, weak=False)
    yield opened
    connection_created.disconnect(count)


async def test_a_socket_s_reads_reuse_one_connection(acme_attempt, alice, opened_connections):
    """Before, each read (connect, every sync, tail check, resync) opened a new PostgreSQL
    connection on channels' one sync thread, while every other socket's read waited."""
    communicator, accepted, _ = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/", alice)
    assert accepted
    pid = await live_read(kept_backend_pid)()
    assert pid is not None
    opened_connections.clear()

    for round_ in range(5):
        await database_sync_to_async(publish_many)(acme_attempt.pk, 1, start=round_)
        assert await receive_seqs(communicator, 1) == [round_ + 1]
        await communicator.send_json_to({"type": "sync"})  # a database read each
    assert await communicator.receive_nothing(timeout=0.3)

    assert await live_read(kept_backend_pid)() == pid
    assert opened_connections == []  # the appends in the test share that thread too
    await communicator.disconnect()


async def test_sockets_opening_at_once_share_one_connection(
    acme_attempt, alice, bob, opened_connections
):
    """Pages reconnecting together (after a daphne restart): their sign-in checks queue on the
    sync thread before any consumer read; each opened (and closed) a connection of its own, and
    under load the handshakes passed daphne's limit and were refused."""
    cookies = [await asyncio.to_thread(cookie_of, who) for who in (alice, bob, alice, bob)]
    await asyncio.to_thread(close_kept)  # as in a daphne just started
    opened_connections.clear()
    path = f"/ws/attempts/{acme_attempt.pk}/"
    opened = await asyncio.gather(*(ws_connect(path, cookie=c) for c in cookies))

    assert [accepted for _, accepted, _ in opened] == [True] * 4
    assert len(opened_connections) == 1
    for communicator, _, _ in opened:
        await communicator.disconnect()


async def test_a_kept_connection_the_database_closed_is_replaced_without_an_error(
    acme_attempt, alice, monkeypatch
):
    """The database restarts between two reads: the read fails on the dead kept connection
    and runs once more on a new one; the socket stays open and misses nothing."""
    monkeypatch.setattr(consumers, "TAIL_CHECK_SECONDS", 60)  # only the sync reads
    monkeypatch.setattr(consumers, "RESYNC_SECONDS", 60)
    communicator, accepted, _ = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/", alice)
    assert accepted
    pid = await live_read(kept_backend_pid)()
    assert pid is not None

    await asyncio.to_thread(terminate_backend, pid)  # from a connection of its own
    # Rows the socket has no nudge for (as while Redis was away): only a read finds them.
    monkeypatch.setattr(consumers.AttemptConsumer, "attempt_event", _ignore_nudge)
    await database_sync_to_async(publish_many)(acme_attempt.pk, 3)
    await communicator.send_json_to({"type": "sync"})

    assert await receive_seqs(communicator, 3) == [1, 2, 3]
    new_pid = await live_read(kept_backend_pid)()
    assert new_pid not in (None, pid)
    await communicator.disconnect()


async def _ignore_nudge(self, message) -> None:  # noqa: ANN001
    """A consumer that drops every nudge."""


async def test_a_read_on_the_kept_connection_sends_no_health_check_first(
    acme_attempt, alice, monkeypatch
):
    """Django's health check pinged the server (`SELECT 1`) before every read on a kept
    connection: a round trip more per read. A dead kept connection is found by the read itself
    now (the test above)."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    monkeypatch.setattr(consumers, "TAIL_CHECK_SECONDS", 60)  # only the sync reads
    monkeypatch.setattr(consumers, "RESYNC_SECONDS", 60)
    pings: list[int] = []
    is_usable = DatabaseWrapper.is_usable

    def counted(self) -> bool:  # noqa: ANN001
        pings.append(1)
        return is_usable(self)

    monkeypatch.setattr(DatabaseWrapper, "is_usable", counted)
    communicator, accepted, _ = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/", alice)
    assert accepted
    monkeypatch.setattr(consumers.AttemptConsumer, "attempt_event", _ignore_nudge)
    for round_ in range(3):
        await database_sync_to_async(publish_many)(acme_attempt.pk, 1, start=round_)
        await communicator.send_json_to({"type": "sync"})  # a read on the kept connection
        assert await receive_seqs(communicator, 1) == [round_ + 1]

    assert pings == []
    await communicator.disconnect()
