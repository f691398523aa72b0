"""The team socket (`/ws/team/`, the sidebar's live statuses) re-checks membership while it is
open, like the attempt socket and the API's stream: a person removed from the team stops
learning of its tasks (their ids, statuses and authors) and the socket closes."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from codexweb.accounts.models import Membership
from tasks import consumers, services
from tests.support import factories
from tests.support.live_sockets import close_kept_connections, ws_connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


@pytest.fixture(autouse=True)
def _close_kept_connections():
    """As in tests/live: the consumers' kept connection is closed after each test."""
    yield
    close_kept_connections()


async def test_a_person_removed_from_the_team_stops_receiving_its_tasks(
    acme_repo, alice, bob, monkeypatch
):
    """Re-checked on each status change (every REAUTHORIZE_SECONDS; zero here)."""
    monkeypatch.setattr(consumers, "REAUTHORIZE_SECONDS", 0.0)
    socket, accepted, _ = await ws_connect("/ws/team/", bob)
    assert accepted
    await database_sync_to_async(Membership.objects.filter(user=bob).delete)()
    task = await database_sync_to_async(factories.make_task)(acme_repo, alice,
                                                             prompt="Secret plans")
    attempt = await database_sync_to_async(task.attempts.get)()
    await database_sync_to_async(services.attempt_claim)(attempt_id=attempt.pk)

    closed = await socket.receive_output(timeout=10)

    assert closed == {"type": "websocket.close", "code": consumers.CLOSE_NOT_FOUND}
    await socket.disconnect()
