"""The pull-request record moved from the repos app to tasks without touching its table: records
made before the upgrade are read back whole after it, new ones continue the same id sequence, and
the content type (what admin permissions point at) follows the model."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType

from tasks.pull_requests.models import PullRequestRecord
from tests.support.migrations import historical_task, migrate_to, migrate_to_latest

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("repos", "0008_environment_image_choice"), ("tasks", "0009_prompt_trgm_fastupdate_off")]
AFTER = [("repos", "0009_h5_pull_request_record_to_tasks"),
         ("tasks", "0010_h5_pull_request_record")]


def test_records_made_before_the_move_read_back_whole_after_it():
    old = migrate_to(BEFORE)
    try:
        user, task = historical_task(old, name="pr", mode="code")
        attempt = old.get_model("tasks", "Attempt").objects.create(task=task, index=1,
                                                                   requested_by=user)
        old_record = old.get_model("repos", "PullRequestRecord").objects.create(
            attempt=attempt, requested_by=user, branch="codex/fix-it-0123abcd", state="open",
            draft=True, number=42, html_url="https://github.com/acme/pr/pull/42",
            head_sha="a" * 40, error="")
        content_type_pk = ContentType.objects.get(app_label="repos",
                                                  model="pullrequestrecord").pk

        new = migrate_to(AFTER)
        moved = new.get_model("tasks", "PullRequestRecord").objects.get(pk=old_record.pk)
        assert (moved.attempt_id, moved.requested_by_id, moved.branch, moved.state, moved.draft,
                moved.number, moved.html_url, moved.head_sha) == (
            attempt.pk, user.pk, "codex/fix-it-0123abcd", "open", True, 42,
            "https://github.com/acme/pr/pull/42", "a" * 40)
        assert moved.created_at == old_record.created_at
        assert ContentType.objects.get(app_label="tasks", model="pullrequestrecord").pk == (
            content_type_pk)
        assert not ContentType.objects.filter(app_label="repos",
                                              model="pullrequestrecord").exists()
    finally:
        migrate_to_latest()

    record = PullRequestRecord.objects.select_related("attempt").get(pk=old_record.pk)
    assert record.attempt.pull_request == record and record.number == 42
    second = PullRequestRecord.objects.create(
        attempt=type(record.attempt).objects.create(task_id=task.pk, index=2,
                                                   requested_by_id=user.pk),
        branch="codex/fix-it-4567cdef")
    assert second.pk > record.pk  # the id sequence carried on
