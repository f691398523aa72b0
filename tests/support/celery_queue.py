"""Reading what was enqueued on the real Redis broker, without running it.

`empty_queue` (registered by tests/conftest.py) gives a test an empty default queue and empties it
again afterwards, so jobs one test enqueued are never read by the next.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from django.conf import settings


@dataclass(frozen=True)
class QueuedJob:
    task: str
    args: list[Any]
    kwargs: dict[str, Any]


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def _queue_name(queue: str | None) -> str:
    return queue or settings.CELERY_TASK_DEFAULT_QUEUE


def queue_clear(queue: str | None = None) -> None:
    """Drop every message waiting in `queue` (the default queue when None)."""
    _client().delete(_queue_name(queue))


def queued_jobs(queue: str | None = None) -> list[QueuedJob]:
    """The jobs waiting in `queue`, oldest first, decoded from kombu's Redis message format."""
    raw = _client().lrange(_queue_name(queue), 0, -1)
    jobs = []
    for item in reversed(raw):  # kombu LPUSHes and BRPOPs: the list's tail is the oldest
        message = json.loads(item)
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, kwargs, _embed = json.loads(body)
        jobs.append(QueuedJob(task=message["headers"]["task"], args=args, kwargs=kwargs))
    return jobs


@pytest.fixture
def empty_queue() -> Iterator[None]:
    """The default queue, empty before the test and emptied after it."""
    queue_clear()
    yield
    queue_clear()
