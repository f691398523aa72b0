"""Fixtures for the live page: an Acme task with one attempt, and websocket clients that sign in
through a real session cookie (the same path a browser takes through AuthMiddlewareStack)."""

from __future__ import annotations

import pytest
from asgiref.sync import SyncToAsync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from codexweb.asgi import application
from tasks import events
from tests.support import factories


@pytest.fixture(autouse=True)
def _close_kept_connections():
    """The consumers keep their connection on channels' sync thread (tasks/live_db.py); close
    it after each test, or the test database could not be dropped at the session's end."""
    yield
    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=60)


@pytest.fixture
def acme_task(acme_repo, alice):
    return factories.make_task(acme_repo, alice, prompt="Fix the flaky test", mode="code")


@pytest.fixture
def acme_attempt(acme_task):
    return acme_task.attempts.get(index=1)


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


def publish_many(attempt_id: int, count: int, *, start: int = 0) -> None:
    """Append `count` output events the worker's way (`tasks.events.publish`)."""
    for i in range(start, start + count):
        payload = {"chunk_id": "c1", "stream": "stdout", "text": f"line {i}\n"}
        events.publish(attempt_id, "output", payload)


async def receive_seqs(communicator, count: int, timeout: float = 10) -> list[int]:  # noqa: ANN001
    """The seqs of the next `count` event messages."""
    seqs = []
    for _ in range(count):
        message = await communicator.receive_json_from(timeout=timeout)
        assert message["type"] == "event"
        seqs.append(message["event"]["seq"])
    return seqs
