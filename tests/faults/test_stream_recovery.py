"""Redis and daphne restart while a person watches a running attempt: the worker keeps running
it, the page's websocket and the API's event stream reconnect, and every event reaches each of
them exactly once, in order (the events are in the database; Redis only nudges). Real worker,
real Docker sandbox, scripted model; Redis and daphne killed by PID."""

from __future__ import annotations

import io
import threading

import pytest
import redis

from codexweb.client.commands import _follow
from codexweb.client.config import ClientConfig
from codexweb.client.http import ApiClient
from tasks import event_kinds as kinds
from tasks.models import Status
from tests.support.live_clients import AttemptFollower, SseFollower
from tests.support.model_server import call, reply
from tests.support.processes import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]

# A command that prints for a few seconds, so the fault lands while output streams.
LOOP = "for i in $(seq 1 24); do echo line $i; sleep 0.25; done"


def script(model) -> None:
    model.add(reply(call("shell", {"command": LOOP})), reply("The loop prints 24 lines."))


def follow(app, attempt_id: int) -> tuple[AttemptFollower, SseFollower]:
    page = AttemptFollower(app.web_port, attempt_id, app.cookie).start()
    cli = SseFollower(app.web.url, attempt_id, app.token)
    cli.start()
    wait_until(lambda: kinds.OUTPUT in page.kinds, timeout=150,
               what="the command's output reaching the page")
    return page, cli


def assert_everything_seen_once(page: AttemptFollower, cli: SseFollower, attempt) -> None:
    expected = list(range(1, attempt.last_seq + 1))
    wait_until(lambda: page.last_seq() >= attempt.last_seq, timeout=30,
               what=f"the page reaching seq {attempt.last_seq} (it has {page.seqs[-5:]})")
    cli.join(timeout=30)
    page.stop()
    assert page.seqs == expected
    assert cli.seqs == expected
    assert cli.end is not None and cli.end["status"] == Status.SUCCEEDED
    assert page.kinds.count(kinds.OUTPUT) >= 2  # the log really streamed


def test_redis_restart_mid_attempt_loses_no_event(running_app):
    app = running_app
    script(app.model)
    attempt_id = app.submit_ask()
    page, cli = follow(app, attempt_id)
    seen_before = page.last_seq()

    app.redis.restart(down_seconds=1.0)  # SIGKILL: nothing of Redis survives (no persistence)

    attempt = app.wait_finished(attempt_id, timeout=150)
    assert attempt.status == Status.SUCCEEDED, attempt.error
    assert_everything_seen_once(page, cli, attempt)
    assert attempt.last_seq > seen_before  # events were still made after the restart


def test_redis_losing_its_data_under_open_sockets_loses_no_event(running_app):
    """What a Redis restarted without persistence looks like to a connection that survived: the
    group memberships are gone. The sockets stay open and still get every event."""
    app = running_app
    script(app.model)
    attempt_id = app.submit_ask()
    page, cli = follow(app, attempt_id)

    redis.Redis.from_url(app.redis.url).flushall()

    attempt = app.wait_finished(attempt_id, timeout=150)
    assert attempt.status == Status.SUCCEEDED, attempt.error
    assert_everything_seen_once(page, cli, attempt)
    assert page.connections == 1  # recovered on the open socket, not by reconnecting


def test_web_restart_mid_attempt_pages_reconnect_and_catch_up(running_app):
    app = running_app
    script(app.model)
    attempt_id = app.submit_ask()
    page, cli = follow(app, attempt_id)
    command_line = io.StringIO()  # the `codexweb code` command's own follow loop
    client = ApiClient(ClientConfig(server=app.web.url, token=app.token))
    task = {"attempts": [{"id": attempt_id, "index": 1}]}
    following = threading.Thread(target=_follow, args=(client, task, command_line),
                                 kwargs={"quiet": False}, daemon=True)
    following.start()
    connections = page.connections

    app.restart_web()

    wait_until(lambda: page.connections > connections, timeout=60,
               what="the page's websocket reconnecting")
    attempt = app.wait_finished(attempt_id, timeout=150)
    assert attempt.status == Status.SUCCEEDED, attempt.error
    assert_everything_seen_once(page, cli, attempt)
    following.join(timeout=60)
    assert not following.is_alive()
    # The interrupted command printed exactly what an uninterrupted one prints now.
    uninterrupted = io.StringIO()
    _follow(client, task, uninterrupted, quiet=False)
    assert command_line.getvalue() == uninterrupted.getvalue()
    assert "line 24" in command_line.getvalue()
