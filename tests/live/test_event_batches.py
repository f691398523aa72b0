"""Events written together (tasks/events.py `publish_many`) and the agent loop's publisher
(tasks/worker/agent.py `LoopEvents`): a usage event waits for the event after it and shares
its transaction, so the person sees the same events in the same order with one commit fewer
between a model reply and its tool's result."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks import event_kinds as kinds
from tasks import events
from tasks.models import Attempt
from tasks.worker.agent import LoopEvents

pytestmark = pytest.mark.django_db

USAGE = {"input_tokens": 10, "output_tokens": 2, "cost": 0.001}
PATCH = {"call_id": "c1", "ok": True, "files": ["a.py"], "error": ""}


def kinds_and_seqs(attempt: Attempt) -> list[tuple[str, int]]:
    return list(attempt.events.order_by("seq").values_list("kind", "seq"))


def test_events_written_together_get_consecutive_seqs_in_order(acme_attempt):
    events.publish(acme_attempt.pk, kinds.PHASE, {"phase": "agent", "message": "Started."})

    written = events.publish_many(acme_attempt.pk, [(kinds.USAGE, USAGE), (kinds.PATCH, PATCH)])

    assert [e.seq for e in written] == [2, 3]
    assert kinds_and_seqs(acme_attempt) == [(kinds.PHASE, 1), (kinds.USAGE, 2), (kinds.PATCH, 3)]
    assert Attempt.objects.get(pk=acme_attempt.pk).last_seq == 3


def test_one_broken_event_writes_none_of_them(acme_attempt):
    with pytest.raises(kinds.EventContractError):
        events.publish_many(acme_attempt.pk, [(kinds.USAGE, USAGE), (kinds.PATCH, {"ok": True})])
    assert not acme_attempt.events.exists()
    assert Attempt.objects.get(pk=acme_attempt.pk).last_seq == 0


def test_a_usage_event_waits_for_the_next_event_and_shares_its_transaction(acme_attempt):
    loop_events = LoopEvents(acme_attempt.pk)

    loop_events.on_event(kinds.USAGE, USAGE)
    assert not acme_attempt.events.exists()  # nothing written yet
    with CaptureQueriesContext(connection) as queries:
        loop_events.on_event(kinds.PATCH, PATCH)

    assert kinds_and_seqs(acme_attempt) == [(kinds.USAGE, 1), (kinds.PATCH, 2)]
    seq_updates = [q for q in queries.captured_queries
                   if q["sql"].startswith("UPDATE") and "last_seq" in q["sql"]]
    assert len(seq_updates) == 1  # one append, not two


def test_a_waiting_usage_event_is_written_by_flush(acme_attempt):
    loop_events = LoopEvents(acme_attempt.pk)
    loop_events.on_event(kinds.USAGE, USAGE)
    loop_events.on_event(kinds.USAGE, {**USAGE, "input_tokens": 20})

    loop_events.flush()
    loop_events.flush()  # nothing left: writes nothing more

    assert kinds_and_seqs(acme_attempt) == [(kinds.USAGE, 1), (kinds.USAGE, 2)]
    assert acme_attempt.events.get(seq=2).payload["input_tokens"] == 20
