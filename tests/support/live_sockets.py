"""Websockets through the real ASGI application, signed in with a real session cookie (the
path a browser takes), for every suite that drives the consumers in-process (tests/live,
tests/security)."""

from __future__ import annotations

from asgiref.sync import SyncToAsync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from codexweb.asgi import application


def close_kept_connections() -> None:
    """The consumers keep their connection on channels' sync thread (tasks/live_db.py): a test
    that drove them closes it when it ends (an autouse fixture in its suite), or the test
    database could not be dropped at the session's end."""
    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=60)


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def ws_connect(
    path: str, user=None, *, cookie: str | None = None
) -> tuple[WebsocketCommunicator, bool, int | None]:
    """Open a websocket through the real ASGI application, signed in as `user` (or with a
    session `cookie` made beforehand); returns (communicator, accepted, close code when
    refused)."""
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if user is not None:
        cookie = await sync_to_async(session_cookie)(user)
    if cookie is not None:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    accepted, code = await communicator.connect(timeout=10)
    return communicator, accepted, (None if accepted else code)
