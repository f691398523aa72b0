"""The data model's constraints hold in the real database."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection

from tasks import event_kinds as kinds
from tasks import events
from tasks.models import Event


def test_runs_on_postgresql(db):
    assert connection.vendor == "postgresql"


def test_event_seq_increases_per_attempt(acme_repo, alice):
    from tests.support.factories import make_task

    task = make_task(acme_repo, alice, attempts=2)
    first, second = task.attempts.order_by("index")
    seqs = [events.publish(first.pk, kinds.MESSAGE, {"text": f"note {i}"}).seq for i in range(3)]
    other = events.publish(second.pk, kinds.MESSAGE, {"text": "other"}).seq
    assert seqs == [1, 2, 3]
    assert other == 1


def test_event_seq_is_unique(acme_repo, alice):
    from tests.support.factories import make_task

    attempt = make_task(acme_repo, alice).attempts.get()
    Event.objects.create(attempt=attempt, seq=1, kind="x")
    with pytest.raises(IntegrityError):
        Event.objects.create(attempt=attempt, seq=1, kind="y")
