"""The migration that adds Attempt.requested_by gives existing attempts their task's author, so
an attempt queued before the upgrade still runs with its author's own credential."""

from __future__ import annotations

import pytest

from tests.support.migrations import historical_task, migrate_to, migrate_to_latest

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("tasks", "0006_event_attempt_kind_index")]
AFTER = [("tasks", "0007_attempt_requested_by")]


def test_existing_attempts_get_their_task_s_author():
    old = migrate_to(BEFORE)
    alice, task = historical_task(old, name="m")
    old.get_model("tasks", "Attempt").objects.create(task=task, index=1)

    new = migrate_to(AFTER)
    try:
        attempt = new.get_model("tasks", "Attempt").objects.get(task_id=task.pk)
        assert attempt.requested_by_id == alice.pk
    finally:
        migrate_to_latest()
