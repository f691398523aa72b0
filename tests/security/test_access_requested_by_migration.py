"""The migration that adds Attempt.requested_by gives existing attempts their task's author, so
an attempt queued before the upgrade still runs with its author's own credential."""

from __future__ import annotations

import pytest

from tests.support.migrations import migrate_to, migrate_to_latest

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("tasks", "0006_event_attempt_kind_index")]
AFTER = [("tasks", "0007_attempt_requested_by")]


def test_existing_attempts_get_their_task_s_author():
    old = migrate_to(BEFORE)
    user_model = old.get_model("auth", "User")
    alice = user_model.objects.create(username="alice-m")
    team = old.get_model("accounts", "Team").objects.create(name="Acme M", slug="acme-m")
    repository = old.get_model("repos", "Repository").objects.create(
        team=team, owner="acme", name="m", provider="git", default_branch="main",
        clone_url="/srv/git/acme/m.git")
    task = old.get_model("tasks", "Task").objects.create(
        team=team, repository=repository, author=alice, mode="ask", prompt="p",
        base_branch="main", model_tier="fast")
    old.get_model("tasks", "Attempt").objects.create(task=task, index=1)

    new = migrate_to(AFTER)
    try:
        attempt = new.get_model("tasks", "Attempt").objects.get(task_id=task.pk)
        assert attempt.requested_by_id == alice.pk
    finally:
        migrate_to_latest()
