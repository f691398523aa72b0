"""POST /api/v1/tasks/<id>/pr with `draft`: absent, the PR is a draft when the summary's checks
found problems; `false` opens it ready for review anyway."""

from __future__ import annotations

from tests.github.conftest import connect, connected_repository, gh  # noqa: F401
from tests.github.test_pull_request_text import VERDICT, finished, webapp  # noqa: F401


def test_the_api_field_overrides_the_draft(alice_api, gh, webapp, acme, alice):  # noqa: F811
    connect(alice, gh, login="alice-gh")
    repository = connected_repository(acme, webapp)
    auto = finished(repository, alice, verdict=VERDICT)
    chosen = finished(repository, alice, verdict=VERDICT)
    assert alice_api.post(f"/tasks/{auto.task_id}/pr").status_code == 201
    response = alice_api.post(f"/tasks/{chosen.task_id}/pr", {"draft": False})
    assert response.status_code == 201, response.json()
    assert [p.draft for p in webapp.pulls] == [True, False]
