"""How the worker's nudges reach the web processes: the channel layer is Redis pub/sub (one
PUBLISH per group send, pushed to every subscribed web process, nothing queued per socket), and
the worker's sender keeps each group's sends in order without one attempt's sends waiting on
another's (tasks/events.py `GroupOrder`). On the real Redis the suite starts."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import get_channel_layer
from redis.asyncio import Redis

from tasks.events import GroupOrder

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def layer():
    made = get_channel_layer()
    yield made
    await made.flush()


async def test_every_member_of_a_group_gets_its_messages_once(layer):
    mine, theirs, elsewhere = [await layer.new_channel() for _ in range(3)]
    await layer.group_add("attempt-1", mine)
    await layer.group_add("attempt-1", theirs)
    await layer.group_add("attempt-2", elsewhere)

    await layer.group_send("attempt-1", {"type": "attempt.event", "n": 1})

    for channel in (mine, theirs):
        got = await asyncio.wait_for(layer.receive(channel), 5)
        assert got == {"type": "attempt.event", "n": 1}
    for channel in (mine, theirs, elsewhere):  # once, and only to the group
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(channel), 0.3)


async def test_a_group_send_is_one_redis_command(layer, monkeypatch):
    """The worker's sends are what an event waits on under load: each Redis reply waits for the
    sending thread to get the GIL back from the attempts' threads (channels-redis's default
    layer took four round trips per group send, and its receivers four more per socket)."""
    member = await layer.new_channel()
    await layer.group_add("g", member)
    commands: list[str] = []
    plain = Redis.execute_command

    async def command(self, *args, **kwargs):
        commands.append(str(args[0]))
        return await plain(self, *args, **kwargs)

    monkeypatch.setattr(Redis, "execute_command", command)
    await layer.group_send("g", {"type": "x"})
    monkeypatch.undo()

    assert commands == ["PUBLISH"]
    assert await asyncio.wait_for(layer.receive(member), 5) == {"type": "x"}


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
