"""Fixtures for the live page: an Acme task with one attempt, and websocket clients that sign in
through a real session cookie (the same path a browser takes through AuthMiddlewareStack)."""

from __future__ import annotations

import pytest

from tasks import events
from tests.support import factories
from tests.support.live_sockets import (  # noqa: F401 (helpers this suite's tests import)
    close_kept_connections,
    session_cookie,
    ws_connect,
)


@pytest.fixture(autouse=True)
def _close_kept_connections():
    yield
    close_kept_connections()


@pytest.fixture
def acme_task(acme_repo, alice):
    return factories.make_task(acme_repo, alice, prompt="Fix the flaky test", mode="code")


@pytest.fixture
def acme_attempt(acme_task):
    return acme_task.attempts.get(index=1)


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
