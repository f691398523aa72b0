"""The web process's PostgreSQL connection pool (issue 18).

Without one, every HTTP request daphne serves opened a PostgreSQL connection (a server process
forked, authentication: ~12 ms of the server's CPU against ~0.2 ms for a query on a kept one)
and closed it at the end. With `OPTIONS["pool"]` Django takes a connection from a psycopg pool
and gives it back at the request's end instead.

Only the web process gets it: `codexweb/asgi.py` (what daphne loads) calls `mark_web_process()`
before the settings load. The Celery worker does not: a prefork pool process would inherit a pool
opened in the parent (its sockets and dead threads), and an attempt's threads hold their
connection for the attempt's whole life, so a bounded pool would make the twenty-first attempt
wait. Management commands run once and end.

Each connection is checked (an empty query) as it leaves the pool, so one the database closed
meanwhile (a PostgreSQL restart) is dropped and replaced, never handed to a view. While the
database is down a request waits up to DATABASE_POOL_TIMEOUT for a connection, then fails with a
database error as it did without the pool.
"""

from __future__ import annotations

from typing import Any

POSTGRESQL = "django.db.backends.postgresql"

_web_process = False


def mark_web_process() -> None:
    """Say this process is the web server; call it before Django's settings load."""
    global _web_process
    _web_process = True


def is_web_process() -> bool:
    return _web_process


def with_pool(
    database: dict[str, Any], *, min_size: int, max_size: int, timeout: float
) -> dict[str, Any]:
    """`database` (a DATABASES entry) with a connection pool when it is PostgreSQL, this is the
    web process and `max_size` > 0; unchanged otherwise (SQLite, the worker, commands)."""
    if database.get("ENGINE") != POSTGRESQL or not _web_process or max_size <= 0:
        return database
    pooled = dict(database)
    pooled["OPTIONS"] = {
        **database.get("OPTIONS", {}),
        "pool": {
            "min_size": min(min_size, max_size),
            "max_size": max_size,
            "timeout": timeout,
            "name": "codexweb-web",
        },
    }
    pooled["CONN_MAX_AGE"] = 0  # Django refuses a pool with persistent connections
    pooled["CONN_HEALTH_CHECKS"] = True  # the pool checks a connection before lending it
    return pooled

