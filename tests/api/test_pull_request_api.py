"""POST /api/v1/tasks/<id>/pr against the GitHub stand-in: the PR opens, a second call returns
the same PR, the audit log records it; refusals are JSON with a reason."""

from __future__ import annotations

import pytest

from codexweb.audit.models import AuditEntry
from tasks.models import Status
from tests.support import factories
from tests.support.connected_github import connect, connected_repository, serve

PATCH = """diff --git a/app.py b/app.py
--- a/app.py
+++ b/app.py
@@ -1 +1 @@
-print('v1')
+print('v2')
"""


@pytest.fixture
def webapp(gh, tmp_path):
    gh.state.add_user("alice-gh")
    gh.state.add_user("bob-gh")
    gh.state.add_org("acme", members={"alice-gh": "write", "bob-gh": "read"})
    return serve(gh, tmp_path, "acme", "webapp", {"app.py": "print('v1')\n"})


def _finished(repository, author):
    task = factories.make_succeeded_attempt(repository, author, patch=PATCH, summary="Now v2.").task
    task.status = Status.SUCCEEDED
    task.save()
    return task


def test_pr_opens_once_and_is_audited(alice_api, gh, webapp, acme, alice):
    connect(alice, gh, login="alice-gh")
    task = _finished(connected_repository(acme, webapp), alice)
    response = alice_api.post(f"/tasks/{task.pk}/pr")
    assert response.status_code == 201, response.json()
    body = response.json()
    (pull,) = webapp.pulls
    assert body["number"] == pull.number and body["url"].endswith(
        f"/acme/webapp/pull/{pull.number}"
    )
    assert body["state"] == "open" and body["branch"].startswith("codex/")
    again = alice_api.post(f"/tasks/{task.pk}/pr")
    assert again.status_code == 201 and again.json()["url"] == body["url"]
    assert len(webapp.pulls) == 1
    (entry,) = AuditEntry.objects.filter(team=acme, action="pr.created")
    assert entry.actor_name == "alice" and entry.target == body["url"]
    assert entry.changes["number"] == pull.number


def test_pr_refused_without_push_access(bob_api, gh, webapp, acme, alice, bob):
    connect(bob, gh, login="bob-gh")
    task = _finished(connected_repository(acme, webapp), alice)
    response = bob_api.post(f"/tasks/{task.pk}/pr")
    assert response.status_code == 409
    assert response.json()["code"] == "cannot_open_pr" and response.json()["error"]
    assert webapp.pulls == []
    assert not AuditEntry.objects.filter(action="pr.created").exists()
