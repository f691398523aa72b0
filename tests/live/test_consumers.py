"""The attempt and team websockets on the real Redis channel layer and PostgreSQL.

Events are appended with `tasks.events.publish` — the worker's own code path — from other threads
while clients listen, reconnect and catch up.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from types import SimpleNamespace

import pytest
import redis
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection

from tasks import consumers, events, services
from tasks.consumers import after_seq
from tests.live.conftest import publish_many, receive_seqs, ws_connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def publish_in_thread(attempt_id: int, count: int) -> None:
    try:
        publish_many(attempt_id, count)
    finally:
        connection.close()


def count_database_reads(monkeypatch) -> list[int]:
    """The `after` seq of every database read an attempt socket makes from now on."""
    reads: list[int] = []
    events_after = consumers.AttemptConsumer._events_after

    def counted(self, seq: int):
        reads.append(seq)
        return events_after(self, seq)

    monkeypatch.setattr(consumers.AttemptConsumer, "_events_after", counted)
    return reads


def test_after_seq_parsing():
    assert after_seq(b"after=12") == 12
    assert after_seq(b"x=1&after=7") == 7
    assert after_seq(b"after=-3") == 0
    assert after_seq(b"after=abc") == 0
    assert after_seq(b"") == 0


async def test_anonymous_is_refused(acme_attempt):
    communicator, accepted, code = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/")
    assert not accepted
    assert code == 4404
    await communicator.disconnect()


async def test_other_team_is_refused_like_a_missing_attempt(acme_attempt, carol, globex):
    communicator, accepted, code = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/", carol)
    assert not accepted and code == 4404
    await communicator.disconnect()
    missing, accepted, code = await ws_connect("/ws/attempts/999999/", carol)
    assert not accepted and code == 4404
    await missing.disconnect()


async def test_team_member_sees_the_backlog_then_live_events(acme_attempt, bob):
    await database_sync_to_async(publish_many)(acme_attempt.pk, 3)
    communicator, accepted, _ = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/", bob)
    assert accepted
    first = await communicator.receive_json_from(timeout=10)
    assert first["event"]["seq"] == 1
    assert first["event"]["payload"]["text"] == "line 0\n"
    assert await receive_seqs(communicator, 2) == [2, 3]
    await database_sync_to_async(publish_many)(acme_attempt.pk, 2, start=3)
    assert await receive_seqs(communicator, 2) == [4, 5]
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_replay_starts_after_the_given_seq(acme_attempt, alice):
    await database_sync_to_async(publish_many)(acme_attempt.pk, 6)
    communicator, accepted, _ = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/?after=4", alice)
    assert accepted
    assert await receive_seqs(communicator, 2) == [5, 6]
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_replay_pages_through_a_long_backlog(acme_attempt, alice):
    await database_sync_to_async(publish_many)(acme_attempt.pk, 1203)
    communicator, accepted, _ = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/?after=1", alice)
    assert accepted
    assert await receive_seqs(communicator, 1202) == list(range(2, 1204))
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_reconnect_mid_stream_has_no_gaps_and_no_duplicates(acme_attempt, alice):
    total = 300
    writer = threading.Thread(target=publish_in_thread, args=(acme_attempt.pk, total), daemon=True)
    seen: list[int] = []
    path = f"/ws/attempts/{acme_attempt.pk}/"
    communicator, accepted, _ = await ws_connect(path, alice)
    assert accepted
    writer.start()
    # Read a while, drop the connection mid-stream (while the writer keeps appending), resume.
    for round_ in range(3):
        seen += await receive_seqs(communicator, 40, timeout=20)
        await communicator.disconnect()
        await asyncio.sleep(0.05 * round_)
        communicator, accepted, _ = await ws_connect(f"{path}?after={seen[-1]}", alice)
        assert accepted
    while len(seen) < total:
        seen += await receive_seqs(communicator, 1, timeout=20)
    await asyncio.to_thread(writer.join, 30)
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()
    assert seen == list(range(1, total + 1))


@pytest.mark.parametrize("read_sees_them", [False, True], ids=["read-before", "read-after"])
async def test_live_events_during_a_slow_backlog_replay_keep_their_order(
    acme_attempt, alice, monkeypatch, read_sees_them
):
    """The backlog is sent after `connect()` (a database read that under load waits its turn),
    and the socket takes its live events in meanwhile: those go out after the backlog, each once,
    whether the backlog read saw their rows (then their nudges are dropped by seq) or not. The
    backlog read is held until three more events are committed and their nudges taken in."""
    monkeypatch.setattr(consumers, "TAIL_CHECK_SECONDS", 60)  # only the backlog and the nudges
    monkeypatch.setattr(consumers, "RESYNC_SECONDS", 60)
    await database_sync_to_async(publish_many)(acme_attempt.pk, 3)
    gate, nudged = threading.Event(), []
    events_after = consumers.AttemptConsumer._events_after
    attempt_event = consumers.AttemptConsumer.attempt_event

    def held(self, seq: int):
        if read_sees_them:
            assert gate.wait(30)
        rows = events_after(self, seq)
        if not read_sees_them:
            assert gate.wait(30)
        return rows

    async def counted(self, message):
        nudged.append(message["event"]["seq"])
        await attempt_event(self, message)

    monkeypatch.setattr(consumers.AttemptConsumer, "_events_after", held)
    monkeypatch.setattr(consumers.AttemptConsumer, "attempt_event", counted)
    communicator, accepted, _ = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/", alice)
    assert accepted
    await database_sync_to_async(publish_many)(acme_attempt.pk, 3, start=3)
    for _ in range(100):  # bounded: the socket takes its nudges in while the replay is held
        if len(nudged) == 3:
            break
        await asyncio.sleep(0.05)
    assert nudged == [4, 5, 6], "live events waited for the backlog replay to end"
    assert await communicator.receive_nothing(timeout=0.2)  # nothing jumps ahead of seq 1

    gate.set()

    assert await receive_seqs(communicator, 6) == [1, 2, 3, 4, 5, 6]
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_a_dropped_nudge_is_recovered_from_the_database(acme_attempt, alice, monkeypatch):
    monkeypatch.setattr(consumers, "TAIL_CHECK_SECONDS", 60)  # isolate gap and sync recovery
    monkeypatch.setattr(consumers, "RESYNC_SECONDS", 60)
    communicator, accepted, _ = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/", alice)
    assert accepted
    await database_sync_to_async(publish_many)(acme_attempt.pk, 1)
    assert await receive_seqs(communicator, 1) == [1]
    # Seqs 2 and 3 are committed but their channel messages are lost (e.g. a full channel).
    with monkeypatch.context() as patch:
        patch.setattr(events, "_group_send", lambda group, message: None)
        await database_sync_to_async(publish_many)(acme_attempt.pk, 2, start=1)
    assert await communicator.receive_nothing(timeout=0.3)
    # The next nudge shows the gap; the consumer fills it from the database, in order.
    await database_sync_to_async(publish_many)(acme_attempt.pk, 1, start=3)
    assert await receive_seqs(communicator, 3) == [2, 3, 4]
    # With no later event, a client's "sync" asks for anything missed.
    with monkeypatch.context() as patch:
        patch.setattr(events, "_group_send", lambda group, message: None)
        await database_sync_to_async(publish_many)(acme_attempt.pk, 1, start=4)
    await communicator.send_json_to({"type": "sync"})
    assert await receive_seqs(communicator, 1) == [5]
    await communicator.send_to(text_data="not json")  # ignored, connection stays up
    await communicator.send_json_to({"type": "sync"})
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_a_socket_whose_group_redis_forgot_catches_up_on_its_own(
    acme_attempt, alice, monkeypatch
):
    """A Redis restarted without its data forgets group members while sockets stay open: the
    consumer joins again and reads the database every RESYNC_SECONDS."""
    monkeypatch.setattr(consumers, "TAIL_CHECK_SECONDS", 60)
    monkeypatch.setattr(consumers, "RESYNC_SECONDS", 0.3)
    communicator, accepted, _ = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/", alice)
    assert accepted
    await database_sync_to_async(publish_many)(acme_attempt.pk, 1)
    assert await receive_seqs(communicator, 1) == [1]
    # What a restart without persistence does: every group and message is gone.
    await asyncio.to_thread(redis.Redis.from_url(settings.REDIS_URL).flushdb)
    await database_sync_to_async(publish_many)(acme_attempt.pk, 2, start=1)
    assert await receive_seqs(communicator, 2) == [2, 3]
    # Joined again: the next event arrives live, once.
    await database_sync_to_async(publish_many)(acme_attempt.pk, 1, start=3)
    assert await receive_seqs(communicator, 1) == [4]
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_a_dropped_last_nudge_arrives_once_the_stream_goes_quiet(
    acme_attempt, alice, monkeypatch
):
    monkeypatch.setattr(consumers, "TAIL_CHECK_SECONDS", 0.3)
    communicator, accepted, _ = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/", alice)
    assert accepted
    await database_sync_to_async(publish_many)(acme_attempt.pk, 1)
    assert await receive_seqs(communicator, 1) == [1]
    with monkeypatch.context() as patch:  # the final events' nudges are lost
        patch.setattr(events, "_group_send", lambda group, message: None)
        await database_sync_to_async(publish_many)(acme_attempt.pk, 2, start=1)
    assert await receive_seqs(communicator, 2, timeout=5) == [2, 3]
    assert await communicator.receive_nothing(timeout=0.6)
    await communicator.disconnect()


async def test_a_nudge_lost_right_after_connecting_arrives_without_a_next_event(
    acme_attempt, alice, monkeypatch
):
    """A pub/sub subscription may start a moment after the socket read its backlog, so an
    event committed in between loses its nudge: the consumer reads the database once more
    TAIL_CHECK_SECONDS after connecting (the resync, 5 s, is out of the picture here)."""
    monkeypatch.setattr(consumers, "TAIL_CHECK_SECONDS", 0.3)
    monkeypatch.setattr(consumers, "RESYNC_SECONDS", 60)
    communicator, accepted, _ = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/", alice)
    assert accepted
    with monkeypatch.context() as patch:
        patch.setattr(events, "_group_send", lambda group, message: None)
        await database_sync_to_async(publish_many)(acme_attempt.pk, 1)
    assert await receive_seqs(communicator, 1, timeout=5) == [1]
    await communicator.disconnect()


async def test_live_nudges_resume_after_redis_drops_the_subscriptions(
    acme_attempt, alice, monkeypatch
):
    """Redis restarting drops every pub/sub connection: the layer reconnects and subscribes
    again on its own, so events arrive live again, none twice and none missing (the database
    reads that would also recover them are out of the picture: 60 s)."""
    monkeypatch.setattr(consumers, "TAIL_CHECK_SECONDS", 60)
    monkeypatch.setattr(consumers, "RESYNC_SECONDS", 60)
    communicator, accepted, _ = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/", alice)
    assert accepted
    await database_sync_to_async(publish_many)(acme_attempt.pk, 1)
    assert await receive_seqs(communicator, 1) == [1]
    admin = redis.Redis.from_url(settings.REDIS_URL)
    assert await asyncio.to_thread(admin.client_kill_filter, _type="pubsub") >= 1
    admin.close()
    seqs: list[int] = []
    for published in range(1, 51):  # nudges sent before the layer subscribed again are lost
        await database_sync_to_async(publish_many)(acme_attempt.pk, 1, start=published)
        if not await communicator.receive_nothing(timeout=0.2):
            seqs = await receive_seqs(communicator, 1)
            break
    assert seqs, "no live event after the subscriptions were dropped"
    while not await communicator.receive_nothing(timeout=0.3):  # a gap is filled, in order
        seqs += await receive_seqs(communicator, 1)
    assert seqs == list(range(2, published + 2))
    await communicator.disconnect()


async def test_a_socket_opens_and_serves_the_database_while_redis_is_away(
    acme_attempt, alice, monkeypatch
):
    """The pub/sub layer subscribes every new socket's own channel: with Redis away that must
    not keep the socket from opening (tasks/channel_layer.py)."""
    from channels.layers import channel_layers

    from tasks.channel_layer import PubSubLayer

    await database_sync_to_async(publish_many)(acme_attempt.pk, 2)
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    away = PubSubLayer(hosts=[{"address": dead, "socket_connect_timeout": 1}])
    monkeypatch.setitem(channel_layers.backends, "default", away)

    communicator, accepted, _ = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/", alice)

    assert accepted
    assert await receive_seqs(communicator, 2) == [1, 2]
    await communicator.disconnect()


async def test_a_socket_subscribes_its_group_only_not_a_channel_of_its_own(acme_attempt, alice):
    """Nothing is sent to a socket's own channel (tasks/channel_layer.py), so opening one makes
    one Redis subscription (its group's), not two: a burst of pages opening waits for half as
    many round trips, each taken in turn under the layer's lock."""
    communicator, accepted, _ = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/", alice)
    assert accepted
    admin = redis.Redis.from_url(settings.REDIS_URL)
    try:
        groups = await asyncio.to_thread(admin.pubsub_channels, f"*attempt-{acme_attempt.pk}")
        own = await asyncio.to_thread(admin.pubsub_channels, "*specific.*")
    finally:
        admin.close()
    assert len(groups) == 1  # the live path works through the group
    assert own == []
    await database_sync_to_async(publish_many)(acme_attempt.pk, 1)
    assert await receive_seqs(communicator, 1) == [1]
    await communicator.disconnect()


async def test_a_socket_getting_live_nudges_skips_the_periodic_database_read(
    acme_attempt, alice, monkeypatch
):
    """The resync reads the database for a subscription that may be broken; while nudges
    arrive it is not, and under load those reads (a new database connection each) were a large
    part of the web process's work. Once the stream is quiet the reads come back. The
    consumer's clock is a fake one, moved by hand."""
    clock = [1000.0]
    monkeypatch.setattr(consumers, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    monkeypatch.setattr(consumers, "TAIL_CHECK_SECONDS", 60)
    monkeypatch.setattr(consumers, "RESYNC_SECONDS", 0.05)
    reads = count_database_reads(monkeypatch)
    communicator, accepted, _ = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/", alice)
    assert accepted
    await database_sync_to_async(publish_many)(acme_attempt.pk, 1)
    assert await receive_seqs(communicator, 1) == [1]
    # A resync read asked before that nudge may still wait in the socket's outbox behind the
    # read that sent seq 1 (one queue, one sender): the next event goes out after it.
    await database_sync_to_async(publish_many)(acme_attempt.pk, 1, start=1)
    assert await receive_seqs(communicator, 1) == [2]
    reads.clear()  # the backlog read on connecting, and any resync before the nudges

    await asyncio.sleep(0.5)  # ten resync periods with a nudge "just" arrived
    assert reads == []

    clock[0] += 1.0  # the stream went quiet for twenty resync periods
    for _ in range(200):  # bounded wait for the next resync (a loaded machine: seconds)
        if reads:
            break
        await asyncio.sleep(0.05)
    assert reads and reads[0] == 2
    await communicator.disconnect()


async def test_a_page_left_open_on_an_ended_attempt_reads_the_database_rarely(
    acme_attempt, alice, monkeypatch
):
    """A running attempt's socket reads the database every RESYNC_SECONDS while no nudge
    comes (the subscription may be broken); once its status event says it ended, the reads
    space out to ENDED_RESYNC_SECONDS: pages left open for hours cost (almost) nothing."""
    monkeypatch.setattr(consumers, "TAIL_CHECK_SECONDS", 60)
    monkeypatch.setattr(consumers, "RESYNC_SECONDS", 0.05)
    monkeypatch.setattr(consumers, "ENDED_RESYNC_SECONDS", 60)
    reads = count_database_reads(monkeypatch)
    communicator, accepted, _ = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/", alice)
    assert accepted
    for _ in range(50):  # bounded: the running attempt's resync reads come every 0.05 s
        if len(reads) >= 4:
            break
        await asyncio.sleep(0.05)
    assert len(reads) >= 4

    await database_sync_to_async(events.publish)(
        acme_attempt.pk, "status", {"status": "succeeded", "message": "Done."}
    )
    assert await receive_seqs(communicator, 1) == [1]
    await asyncio.sleep(0.2)  # a resync already asleep may still read once
    reads.clear()
    await asyncio.sleep(0.5)  # ten running-attempt periods
    assert reads == []
    await communicator.disconnect()


async def test_two_clients_each_get_every_event_once(acme_attempt, alice, bob):
    path = f"/ws/attempts/{acme_attempt.pk}/"
    a, ok_a, _ = await ws_connect(path, alice)
    b, ok_b, _ = await ws_connect(path, bob)
    assert ok_a and ok_b
    await database_sync_to_async(publish_many)(acme_attempt.pk, 20)
    assert await receive_seqs(a, 20) == list(range(1, 21))
    assert await receive_seqs(b, 20) == list(range(1, 21))
    assert await a.receive_nothing(timeout=0.2) and await b.receive_nothing(timeout=0.2)
    await a.disconnect()
    await b.disconnect()


async def test_team_socket_reports_status_changes_to_the_team_only(
    acme_attempt, alice, carol, globex
):
    mine, ok, _ = await ws_connect("/ws/team/", alice)
    theirs, ok_theirs, _ = await ws_connect("/ws/team/", carol)
    assert ok and ok_theirs
    catch_up = await mine.receive_json_from(timeout=10)
    assert catch_up == {
        "type": "task",
        "task": {"id": acme_attempt.task_id, "status": "queued", "author": alice.pk},
    }
    claimed = await database_sync_to_async(services.attempt_claim)(attempt_id=acme_attempt.pk)
    assert claimed
    message = await mine.receive_json_from(timeout=10)
    assert message == {
        "type": "task",
        "task": {"id": acme_attempt.task_id, "status": "running", "author": alice.pk},
    }
    assert await theirs.receive_nothing(timeout=0.5)
    await mine.disconnect()
    await theirs.disconnect()


async def test_team_socket_reports_changes_made_before_it_connected(acme_attempt, alice):
    """A task can finish between the page's render and the socket's connection; the socket
    reports the team's current statuses first, so the sidebar never stays stale."""
    await database_sync_to_async(services.attempt_claim)(attempt_id=acme_attempt.pk)
    await database_sync_to_async(services.attempt_finish)(
        attempt_id=acme_attempt.pk, status="failed", error="boom"
    )
    mine, ok, _ = await ws_connect("/ws/team/", alice)
    assert ok
    message = await mine.receive_json_from(timeout=10)
    assert message == {
        "type": "task",
        "task": {"id": acme_attempt.task_id, "status": "failed", "author": alice.pk},
    }
    await mine.disconnect()


def count_team_reads(monkeypatch) -> list[int]:
    """The team id of every catch-up read a team socket makes from now on."""
    reads: list[int] = []
    recent_statuses = consumers.TeamConsumer._recent_statuses

    def counted(team_id: int):
        reads.append(team_id)
        return recent_statuses(team_id)

    monkeypatch.setattr(consumers.TeamConsumer, "_recent_statuses", staticmethod(counted))
    return reads


async def test_an_idle_team_socket_reads_the_database_only_once_redis_dropped_it(
    acme_attempt, alice, monkeypatch
):
    """Every page has a team socket: while its subscription stays up it does not read the
    database every RESYNC_SECONDS. Redis dropping the subscriptions (a restart) loses the
    nudges sent meanwhile: the layer counts the reconnect and the socket reads again, so a
    status whose nudge was lost still reaches the sidebar."""
    monkeypatch.setattr(consumers, "RESYNC_SECONDS", 0.05)
    reads = count_team_reads(monkeypatch)
    mine, ok, _ = await ws_connect("/ws/team/", alice)
    assert ok
    assert (await mine.receive_json_from(timeout=10))["task"]["status"] == "queued"
    await asyncio.sleep(0.5)  # ten resync periods of an idle page
    assert reads == [acme_attempt.task.team_id]  # the catch-up on connecting, no more

    with monkeypatch.context() as patch:  # the nudge is lost, as while Redis restarts
        patch.setattr(events, "_group_send", lambda group, message: None)
        await database_sync_to_async(services.attempt_claim)(attempt_id=acme_attempt.pk)
    assert await mine.receive_nothing(timeout=0.3)  # nothing says it was lost: no read yet
    admin = redis.Redis.from_url(settings.REDIS_URL)
    assert await asyncio.to_thread(admin.client_kill_filter, _type="pubsub") >= 1
    admin.close()
    message = await mine.receive_json_from(timeout=10)
    assert message["task"] == {"id": acme_attempt.task_id, "status": "running",
                               "author": alice.pk}
    assert len(reads) >= 2
    await mine.disconnect()


async def test_an_idle_team_socket_still_reads_now_and_then(acme_attempt, alice, monkeypatch):
    """A nudge the worker could not publish (no reconnect on the web's side shows it) reaches
    the sidebar within TEAM_IDLE_RESYNC_SECONDS."""
    monkeypatch.setattr(consumers, "RESYNC_SECONDS", 0.05)
    monkeypatch.setattr(consumers, "TEAM_IDLE_RESYNC_SECONDS", 0.5)
    mine, ok, _ = await ws_connect("/ws/team/", alice)
    assert ok
    assert (await mine.receive_json_from(timeout=10))["task"]["status"] == "queued"
    with monkeypatch.context() as patch:
        patch.setattr(events, "_group_send", lambda group, message: None)
        await database_sync_to_async(services.attempt_claim)(attempt_id=acme_attempt.pk)
    message = await mine.receive_json_from(timeout=10)
    assert message["task"]["status"] == "running"
    await mine.disconnect()


async def test_team_socket_refuses_anonymous(db):
    communicator, accepted, code = await ws_connect("/ws/team/")
    assert not accepted and code == 4401
    await communicator.disconnect()


@pytest.mark.timeout(60)
async def test_an_idle_socket_stays_open_and_still_gets_events(acme_attempt, alice):
    """Nothing happens for longer than the channel layer's blocking wait (5 s): the socket must
    survive the silence (a Redis read timeout used to kill the consumer) and deliver the next
    event."""
    communicator, accepted, _ = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/", alice)
    assert accepted
    await asyncio.sleep(7)
    await database_sync_to_async(events.publish)(acme_attempt.pk, "message", {"text": "later"})
    message = await communicator.receive_json_from(timeout=10)
    assert message["event"]["payload"] == {"text": "later"}
    await communicator.disconnect()


async def test_a_person_removed_from_the_team_loses_the_open_socket(
    acme_attempt, bob, monkeypatch
):
    """Access is re-checked on live events (every REAUTHORIZE_SECONDS; zero here)."""
    from codexweb.accounts.models import Membership

    monkeypatch.setattr(consumers, "REAUTHORIZE_SECONDS", 0.0)
    communicator, accepted, _ = await ws_connect(f"/ws/attempts/{acme_attempt.pk}/", bob)
    assert accepted
    await database_sync_to_async(Membership.objects.filter(user=bob).delete)()
    await database_sync_to_async(events.publish)(acme_attempt.pk, "message", {"text": "secret"})
    closed = await communicator.receive_output(timeout=10)
    assert closed == {"type": "websocket.close", "code": 4404}
    await communicator.disconnect()
