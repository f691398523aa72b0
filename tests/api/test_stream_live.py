"""Server-Sent Events against the real app in daphne: live events arrive once, in order, and a
reconnect with Last-Event-ID resumes without gaps or repeats."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from codexweb.api.tokens import api_token_create
from codexweb.client.http import parse_sse
from tasks import events, services
from tests.support import factories

pytestmark = pytest.mark.timeout(120)


def _read_sse(response):
    """(event, data, id) triples, with the CLI's own parser."""
    for sse in parse_sse(response.iter_lines(decode_unicode=True)):
        yield sse.event, sse.data, sse.id


@pytest.fixture
def world(transactional_db):
    alice, carol = factories.make_user("alice"), factories.make_user("carol")
    acme = factories.make_team("Acme", admin=alice)
    factories.make_team("Globex", admin=carol)
    repo = factories.make_repository(acme, owner="acme", name="webapp")
    task = factories.make_task(repo, alice, mode="code")
    return {
        "attempt": task.attempts.get(),
        "alice": api_token_create(user=alice, name="t").secret,
        "carol": api_token_create(user=carol, name="t").secret,
    }


def test_stream_live_then_end(live_app, world):
    attempt = world["attempt"]
    events.publish(attempt.pk, "phase", {"phase": "prepare", "message": "Preparing"})
    url = f"{live_app.url}/api/v1/attempts/{attempt.pk}/events/stream"
    headers = {"Authorization": f"Bearer {world['alice']}"}

    def worker() -> None:  # the worker's real code path, a moment after the client connects
        time.sleep(0.5)
        services.attempt_claim(attempt_id=attempt.pk)
        for i in range(3):
            events.publish(
                attempt.pk,
                "output",
                {"chunk_id": "c1", "stream": "stdout", "text": f"line {i}\n", "at": 0.0},
            )
        services.attempt_finish(attempt_id=attempt.pk, status="succeeded", summary="Done.")

    thread = threading.Thread(target=worker)
    with requests.get(url, headers=headers, stream=True, timeout=(5, 30)) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        thread.start()
        received = list(_read_sse(response))
    thread.join(10)
    seqs = [int(ident) for _, _, ident in received if ident]
    assert seqs == list(range(1, len(seqs) + 1))  # every event once, in order
    kinds = [event for event, _, _ in received]
    assert kinds[0] == "phase" and kinds.count("output") == 3 and kinds[-1] == "end"
    assert received[-1][1]["status"] == "succeeded"

    # Reconnecting after seq 2 replays exactly the rest.
    with requests.get(
        url, headers={**headers, "Last-Event-ID": "2"}, stream=True, timeout=(5, 30)
    ) as again:
        replay = [int(ident) for _, _, ident in _read_sse(again) if ident]
    assert replay == seqs[2:]


def test_stream_is_404_for_another_team_and_401_without_token(live_app, world):
    url = f"{live_app.url}/api/v1/attempts/{world['attempt'].pk}/events/stream"
    other = requests.get(url, headers={"Authorization": f"Bearer {world['carol']}"}, timeout=10)
    assert other.status_code == 404 and other.json()["code"] == "not_found"
    anonymous = requests.get(url, timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthenticated"
