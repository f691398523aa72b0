"""The websocket consumers' database reads, on a connection the web process keeps.

Every consumer read (connect, gap, tail check, resync, access re-check) runs on channels' one
sync thread. With `DATABASE_CONN_MAX_AGE=0` channels' `database_sync_to_async` closes the
connection after each call, so each read opened a new PostgreSQL connection (a server process
forked, authentication) while every other socket's read queued behind it on that thread.

`live_read` keeps the thread's connection for `LIVE_DB_KEEP_SECONDS` instead. A read on a kept
connection that the database closed meanwhile (a PostgreSQL restart) fails with a connection
error: the connection is dropped and the read runs once more on a new one, so no read fails
for it. (Django's health check did the same with a `SELECT 1` before every read: one more
round trip per read, a tenth of daphne's busy time under load; a read is safe to run twice.)
A socket's sign-in
check (session and user) reads there too, through `live_auth_stack`: with channels' own, a
burst of opening sockets (pages reconnecting after a restart) opened a connection each before
the first kept one existed, and the handshakes passed daphne's 5 s limit (bench/ws_opens.py).

Only this thread's connection is kept: the web's HTTP views each run in a thread of their own
that ends with the request, where a kept connection would linger until the garbage collector
found it, so they go on with `DATABASE_CONN_MAX_AGE`, or on PostgreSQL take theirs from the
web process's pool (codexweb/db_pool.py); the kept one here is then one of the pool's, lent for
as long as it is kept.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from asgiref.sync import SyncToAsync
from channels.auth import AuthMiddleware, get_user
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connections

T = TypeVar("T")


def keep_connections() -> None:
    """Let this thread's open connections live `LIVE_DB_KEEP_SECONDS` from when they opened."""
    for conn in connections.all(initialized_only=True):
        raw = conn.connection
        if raw is None or getattr(conn, "codexweb_kept", None) is raw:
            continue  # closed, or already kept (a reconnect makes a new raw connection)
        conn.codexweb_kept = raw  # type: ignore[attr-defined]
        conn.close_at = time.monotonic() + settings.LIVE_DB_KEEP_SECONDS


def _reusing_kept() -> bool:
    """Will this thread's next read go on a connection kept from an earlier one?"""
    return any(
        conn.connection is not None and getattr(conn, "codexweb_kept", None) is conn.connection
        for conn in connections.all(initialized_only=True)
    )


class LiveRead(SyncToAsync):
    """channels' `database_sync_to_async` (which drops broken and expired connections before
    and after the call) that marks the thread's connection kept before the last drop, and
    reads once more on a new connection when a kept one turns out dead."""

    def thread_handler(self, loop: Any, *args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        try:
            if not _reusing_kept():
                return super().thread_handler(loop, *args, **kwargs)
            try:
                return super().thread_handler(loop, *args, **kwargs)
            except (OperationalError, InterfaceError):
                connections.close_all()  # the database closed it: a restart, an idle limit
                return super().thread_handler(loop, *args, **kwargs)
        finally:
            keep_connections()
            close_old_connections()


def live_read(func: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """`func` as a coroutine function run on channels' sync thread, on a kept connection."""
    return cast("Callable[..., Awaitable[T]]", LiveRead(func))


class LiveAuthMiddleware(AuthMiddleware):
    """channels' `AuthMiddleware` whose session and user reads go through `live_read`."""

    async def resolve_scope(self, scope: dict[str, Any]) -> None:
        scope["user"]._wrapped = await live_read(get_user.func)(scope)


def live_auth_stack(inner: Any) -> Any:
    """channels' `AuthMiddlewareStack` on the kept connection."""
    return CookieMiddleware(SessionMiddleware(LiveAuthMiddleware(inner)))
