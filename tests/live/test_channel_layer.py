"""The channel layer's group send (tasks/channel_layer.py) and the worker's per-group send order
(tasks/events.py `GroupOrder`), on the real Redis the suite starts.

The group send keeps channels-redis's rules (each member gets the message once, a full channel
drops it, stale messages do not count against the capacity) in two round trips instead of four.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from django.conf import settings
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from tasks.channel_layer import RedisLayer
from tasks.events import GroupOrder

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def layer():
    made = RedisLayer(hosts=[settings.REDIS_URL], prefix=f"test-{uuid.uuid4().hex[:8]}",
                      capacity=2)
    yield made
    await made.flush()
    await made.close_pools()


async def test_every_member_gets_a_group_message_once(layer):
    local = await layer.new_channel()  # a process-specific channel, as daphne's sockets have
    other = await layer.new_channel()
    await layer.group_add("attempt-1", local)
    await layer.group_add("attempt-1", other)
    await layer.group_add("attempt-1", "plain")
    await layer.group_add("attempt-2", "elsewhere")

    await layer.group_send("attempt-1", {"type": "attempt.event", "n": 1})

    for channel in (local, other, "plain"):
        got = await asyncio.wait_for(layer.receive(channel), 5)
        assert got == {"type": "attempt.event", "n": 1}
    for channel in (local, other, "plain", "elsewhere"):  # once, and only to the group
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(channel), 0.3)


async def test_a_full_channel_drops_the_message_and_the_others_still_get_it(layer):
    await layer.group_add("g", "full")
    await layer.group_add("g", "roomy")
    for n in range(2):  # capacity 2
        await layer.send("full", {"type": "x", "n": n})

    await layer.group_send("g", {"type": "x", "n": 9})

    assert (await layer.receive("roomy"))["n"] == 9
    assert [(await layer.receive("full"))["n"] for _ in range(2)] == [0, 1]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive("full"), 0.3)


async def test_stale_messages_do_not_count_against_the_capacity(layer):
    """A channel filled with messages older than the expiry (a reader that went away) takes new
    ones: the expiry channels-redis runs as a separate call is part of the script here."""
    await layer.group_add("g", "reader")
    key = layer.prefix + "reader"
    connection = Redis.from_url(settings.REDIS_URL)
    await connection.zadd(key, {b"stale-1": 1.0, b"stale-2": 2.0})  # scores: seconds since 1970
    await connection.aclose()

    await layer.group_send("g", {"type": "x", "n": 1})

    assert await asyncio.wait_for(layer.receive("reader"), 5) == {"type": "x", "n": 1}


async def test_a_group_send_takes_two_round_trips(layer, monkeypatch):
    await layer.group_add("g", "a")
    await layer.group_add("g", "b")
    trips: list[str] = []
    plain = Redis.execute_command
    piped = Pipeline.execute

    async def command(self, *args, **kwargs):
        trips.append(str(args[0]))
        return await plain(self, *args, **kwargs)

    async def pipeline(self, *args, **kwargs):
        trips.append("pipeline")
        return await piped(self, *args, **kwargs)

    monkeypatch.setattr(Redis, "execute_command", command)
    monkeypatch.setattr(Pipeline, "execute", pipeline)
    await layer.group_send("g", {"type": "x"})
    monkeypatch.undo()

    assert trips == ["pipeline", "EVAL"]  # channels-redis: ZREMRANGEBYSCORE, ZRANGE, pipeline, EVAL
    assert (await layer.receive("a")) == (await layer.receive("b")) == {"type": "x"}


async def test_sends_keep_their_order_within_a_group_and_never_wait_on_another_group():
    order = GroupOrder()
    release = asyncio.Event()
    done: list[str] = []

    async def send(name: str, *, wait: bool = False) -> None:
        if wait:
            await release.wait()
        done.append(name)

    slow = asyncio.ensure_future(order.send("attempt-1", lambda: send("1a", wait=True)))
    after_slow = asyncio.ensure_future(order.send("attempt-1", lambda: send("1b")))
    await asyncio.wait_for(order.send("attempt-2", lambda: send("2a")), 5)
    assert done == ["2a"]  # attempt 2's send went by while attempt 1's was stuck

    release.set()
    await asyncio.wait_for(asyncio.gather(slow, after_slow), 5)
    assert done == ["2a", "1a", "1b"]
    assert order.locks == {}  # no lock kept for a group with nothing queued


async def test_a_failed_send_does_not_block_its_group():
    order = GroupOrder()

    async def fail() -> None:
        raise ConnectionError("redis away")

    with pytest.raises(ConnectionError):
        await order.send("attempt-1", fail)
    done: list[int] = []

    async def ok() -> None:
        done.append(1)

    await asyncio.wait_for(order.send("attempt-1", ok), 5)
    assert done == [1] and order.locks == {}
