"""Issue 17 item 9: the API's event stream (SSE) re-checks access while it is open, like the
websocket: a person removed from the team stops receiving the attempt's events."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import AsyncRequestFactory

from codexweb.accounts.models import Membership
from codexweb.api import stream
from codexweb.api.tokens import api_token_create
from tasks import consumers, events
from tests.support import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


async def next_chunk(body) -> str:
    chunk = await asyncio.wait_for(body.__anext__(), timeout=10)
    return chunk.decode() if isinstance(chunk, bytes) else chunk


async def test_a_person_removed_from_the_team_stops_receiving(acme_repo, alice, bob,
                                                              monkeypatch):
    monkeypatch.setattr(consumers, "REAUTHORIZE_SECONDS", 0.0)  # re-check on every poll
    attempt = await sync_to_async(
        lambda: factories.make_task(acme_repo, alice).attempts.get())()
    secret = (await sync_to_async(api_token_create)(user=bob, name="cli")).secret
    await sync_to_async(events.publish)(attempt.pk, "message", {"text": "before"})
    request = AsyncRequestFactory().get(
        f"/api/v1/attempts/{attempt.pk}/events/stream",
        headers={"Authorization": f"Bearer {secret}"},
    )

    response = await stream.attempt_events_stream(request, attempt.pk)
    assert response.status_code == 200
    body = aiter(response.streaming_content)
    assert (await next_chunk(body)).startswith(": stream open")
    assert '"text":"before"' in await next_chunk(body)

    await sync_to_async(Membership.objects.filter(user=bob).delete)()
    await sync_to_async(events.publish)(attempt.pk, "message", {"text": "after removal"})

    rest = []
    for _ in range(50):  # the stream must end on its own, soon (old code: TimeoutError)
        try:
            rest.append(await next_chunk(body))
        except StopAsyncIteration:
            break
    else:
        pytest.fail(f"the stream went on: {rest}")
    text = "".join(rest)
    assert "event: forbidden" in text
    assert "after removal" not in text
    await sync_to_async(connections.close_all)()


async def test_a_member_keeps_receiving_through_re_checks(acme_repo, alice, bob, monkeypatch):
    monkeypatch.setattr(consumers, "REAUTHORIZE_SECONDS", 0.0)
    attempt = await sync_to_async(
        lambda: factories.make_task(acme_repo, alice).attempts.get())()
    secret = (await sync_to_async(api_token_create)(user=bob, name="cli")).secret
    request = AsyncRequestFactory().get(
        f"/api/v1/attempts/{attempt.pk}/events/stream",
        headers={"Authorization": f"Bearer {secret}"},
    )
    response = await stream.attempt_events_stream(request, attempt.pk)
    body = aiter(response.streaming_content)
    await next_chunk(body)
    await sync_to_async(events.publish)(attempt.pk, "message", {"text": "still here"})
    assert '"text":"still here"' in await next_chunk(body)
    await body.aclose()
    await sync_to_async(connections.close_all)()
