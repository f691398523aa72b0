"""Tasks through the REST API: create, list/filter, get, events, patch, cancel, PR; who may."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from codexweb.api.openapi import openapi_document
from codexweb.audit.models import AuditEntry
from repos.environments.services import secret_set
from tasks import events, services
from tasks.models import Task
from tests.support import factories
from tests.support.celery_queue import queued_jobs

PATCH = "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


pytestmark = pytest.mark.usefixtures("empty_queue")


def _create(api, **overrides):
    body = {"repository": "acme/webapp", "mode": "code", "prompt": "Make x two", "attempts": 2}
    body.update(overrides)
    return api.post("/tasks", body)


def test_openapi_is_served_and_valid(anonymous_api):
    response = anonymous_api.client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    OpenAPI.from_dict(response.json())  # raises if the document is not valid OpenAPI 3.1


def test_the_response_check_catches_drift():
    spec = OpenAPI.from_dict(openapi_document())
    request = MockRequest("http://testserver", "get", "/api/v1/me")
    with pytest.raises(Exception, match="validat|Invalid|required"):
        spec.validate_response(request, MockResponse(b'{"user": "alice"}'))


def test_create_task_queues_its_attempts(alice_api, acme_repo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _create(alice_api)
    assert response.status_code == 201
    task = response.json()
    assert task["repository"] == "acme/webapp" and task["author"] == "alice"
    assert task["branch"] == "main" and task["mode"] == "code"
    assert [a["index"] for a in task["attempts"]] == [1, 2]
    assert response["Location"] == f"/api/v1/tasks/{task['id']}"
    jobs = queued_jobs()
    assert sorted(j.args[0] for j in jobs) == sorted(a["id"] for a in task["attempts"])


@pytest.mark.parametrize(
    "body,status,message",
    [
        ({"repository": "acme/webapp", "mode": "draw", "prompt": "x"}, 400, "mode"),
        ({"repository": "acme/webapp", "mode": "ask", "prompt": "   "}, 400, "prompt"),
        (
            {"repository": "acme/webapp", "mode": "ask", "prompt": "x", "attempts": 9},
            400,
            "attempts",
        ),
        (
            {"repository": "acme/webapp", "mode": "ask", "prompt": "x", "branch": "a..b"},
            400,
            "branch",
        ),
        (
            {"repository": "acme/webapp", "mode": "ask", "prompt": "x", "colour": "red"},
            400,
            "colour",
        ),
        ({"repository": "webapp", "mode": "ask", "prompt": "x"}, 400, "owner/name"),
        ({"repository": "acme/nope", "mode": "ask", "prompt": "x"}, 404, "No repository acme/nope"),
        ({"repository": "globex/secret-plans", "mode": "ask", "prompt": "x"}, 404, "No repository"),
    ],
)
def test_bad_payloads_get_clear_errors(alice_api, acme_repo, globex_repo, body, status, message):
    response = alice_api.post("/tasks", body)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert not Task.objects.exists()


def test_malformed_json(alice_api):
    response = alice_api.call("POST", "/tasks", raw=b"{nope")
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]


def test_ambiguous_repository_needs_a_team(alice, alice_api, acme_repo):
    other = factories.make_team("Other", admin=alice)
    factories.make_repository(other, owner="acme", name="webapp")
    response = alice_api.post("/tasks", {"repository": "acme/webapp", "mode": "ask", "prompt": "x"})
    assert response.status_code == 409 and 'pass "team"' in response.json()["error"]
    ok = alice_api.post(
        "/tasks", {"repository": "acme/webapp", "team": other.slug, "mode": "ask", "prompt": "x"}
    )
    assert ok.status_code == 201 and ok.json()["team"] == other.slug


def test_list_and_filter(alice_api, bob, alice, acme_repo, globex_repo, carol):
    factories.make_task(acme_repo, alice, prompt="Explain caching")
    code = factories.make_task(acme_repo, bob, prompt="Fix the cache bug", mode="code")
    factories.make_task(globex_repo, carol, prompt="Globex plan")
    Task.objects.filter(pk=code.pk).update(status="failed")
    titles = lambda **p: [t["title"] for t in alice_api.get("/tasks", params=p).json()["results"]]  # noqa: E731
    assert titles() == ["Fix the cache bug", "Explain caching"]
    assert titles(author="bob") == ["Fix the cache bug"]
    assert titles(mode="ask") == ["Explain caching"]
    assert titles(status="failed") == ["Fix the cache bug"]
    assert titles(q="CACHE bug") == ["Fix the cache bug"]
    assert titles(repository="globex/secret-plans") == []
    page = alice_api.get("/tasks", params={"page_size": 1}).json()
    assert page["has_next"] is True and len(page["results"]) == 1
    assert alice_api.get("/tasks", params={"status": "weird"}).status_code == 400
    assert alice_api.get("/tasks", params={"page_size": "x"}).status_code == 400


def test_list_by_day_and_a_bad_date_is_a_clear_400(alice_api, acme_repo, alice):
    old = factories.make_task(acme_repo, alice, prompt="Old question")
    factories.make_task(acme_repo, alice, prompt="New question")
    Task.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    today = timezone.localdate()
    titles = lambda **p: [t["title"] for t in alice_api.get("/tasks", params=p).json()["results"]]  # noqa: E731
    assert titles(since=today.isoformat()) == ["New question"]
    assert titles(until=(today - timedelta(days=5)).isoformat()) == ["Old question"]
    response = alice_api.get("/tasks", params={"since": "yesterday"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "since must be a date written YYYY-MM-DD, not 'yesterday'.",
        "code": "invalid_parameter",
    }


@pytest.mark.parametrize(
    "api_params,page_params",
    [
        ({"repository": "acme/docs"}, {"repository": "acme/docs"}),
        ({"repository": "acme/nope"}, {"repository": "acme/nope"}),
        ({"status": "failed"}, {"status": "failed"}),
        ({"mode": "code"}, {"mode": "code"}),
        ({"author": "bob"}, {"author": "BOB_ID"}),
        ({"q": "FLAKY login"}, {"q": "FLAKY login"}),
        ({"since": "TODAY"}, {"since": "TODAY"}),
    ],
)
def test_the_api_and_the_history_page_search_alike(
    alice_api, alice_client, acme, acme_repo, alice, bob, api_params, page_params
):
    """One search (tasks.selectors.tasks_search) behind both: the same filters, the same tasks."""
    docs = factories.make_repository(acme, owner="acme", name="docs")
    old = factories.make_task(acme_repo, alice, prompt="Explain the build pipeline")
    failed = factories.make_task(acme_repo, bob, prompt="Fix the flaky login test", mode="code")
    factories.make_task(docs, bob, prompt="Document the API")
    Task.objects.filter(pk=failed.pk).update(status="failed")
    Task.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    values = {"BOB_ID": str(bob.pk), "TODAY": timezone.localdate().isoformat()}
    api_params = {k: values.get(v, v) for k, v in api_params.items()}
    page_params = {k: values.get(v, v) for k, v in page_params.items()}

    from_api = {t["id"] for t in alice_api.get("/tasks", params=api_params).json()["results"]}
    page = alice_client.get(reverse("tasks:history"), page_params).content.decode()
    on_page = {int(pk) for pk in re.findall(r'<tr data-task-id="(\d+)"', page)}
    assert from_api == on_page
    assert len(from_api) < 3  # the filter did narrow the list


def test_get_task_with_attempts_and_other_team_404(alice_api, carol_api, bob_api, acme_repo, alice):
    task = factories.make_task(acme_repo, alice, attempts=2)
    got = alice_api.get(f"/tasks/{task.pk}").json()
    assert [a["status"] for a in got["attempts"]] == ["queued", "queued"]
    assert bob_api.get(f"/tasks/{task.pk}").status_code == 200  # a teammate
    missing = carol_api.get(f"/tasks/{task.pk}")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    attempt = task.attempts.first()
    for path in (
        f"/attempts/{attempt.pk}",
        f"/attempts/{attempt.pk}/events",
        f"/attempts/{attempt.pk}/patch",
    ):
        assert carol_api.get(path).status_code == 404
    assert carol_api.post(f"/tasks/{task.pk}/cancel").status_code == 404
    assert carol_api.post(f"/attempts/{attempt.pk}/cancel").status_code == 404
    assert carol_api.post(f"/tasks/{task.pk}/pr").status_code == 404


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/tasks"),
        ("POST", "/tasks"),
        ("GET", "/tasks/1"),
        ("POST", "/tasks/1/cancel"),
        ("POST", "/tasks/1/pr"),
        ("GET", "/attempts/1"),
        ("POST", "/attempts/1/cancel"),
        ("GET", "/attempts/1/events"),
        ("GET", "/attempts/1/patch"),
        ("GET", "/repositories"),
        ("GET", "/attempts/1/events/stream"),
    ],
)
def test_every_endpoint_needs_a_token(anonymous_api, method, path):
    response = anonymous_api.call(method, path, {} if method == "POST" else None)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_unknown_endpoint_and_wrong_method_are_json(alice_api):
    assert alice_api.get("/nope", validate=False).json()["code"] == "not_found"
    response = alice_api.call("DELETE", "/tasks", validate=False)
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


def test_events_page_after_seq(alice_api, acme_repo, alice):
    attempt = factories.make_task(acme_repo, alice).attempts.get()
    for i in range(5):
        events.publish(
            attempt.pk,
            "output",
            {"chunk_id": "c1", "stream": "stdout", "text": f"line {i}\n", "at": 0.1},
        )
    page = alice_api.get(f"/attempts/{attempt.pk}/events", params={"after": 2, "limit": 2}).json()
    assert [e["seq"] for e in page["events"]] == [3, 4]
    assert page["next_after"] == 4 and page["finished"] is False
    services.attempt_finish(attempt_id=attempt.pk, status="succeeded", patch=PATCH, summary="Done.")
    page = alice_api.get(f"/attempts/{attempt.pk}/events", params={"after": 4}).json()
    assert [e["kind"] for e in page["events"]] == ["output", "status"]
    assert page["finished"] is True


def test_patch_only_once_finished(alice_api, acme_repo, alice):
    attempt = factories.make_task(acme_repo, alice, mode="code").attempts.get()
    early = alice_api.get(f"/attempts/{attempt.pk}/patch")
    assert early.status_code == 409 and "still queued" in early.json()["error"]
    services.attempt_finish(attempt_id=attempt.pk, status="succeeded", patch=PATCH)
    response = alice_api.get(f"/attempts/{attempt.pk}/patch")
    assert response.status_code == 200 and response.content.decode() == PATCH
    assert response["Content-Type"].startswith("text/x-diff")


def test_cancel_task_and_audit(bob_api, acme, acme_repo, alice):
    task = factories.make_task(acme_repo, alice, attempts=2)
    first = task.attempts.get(index=1)
    services.attempt_finish(attempt_id=first.pk, status="failed", error="boom")
    response = bob_api.post(f"/tasks/{task.pk}/cancel")
    assert response.status_code == 200
    assert [a["status"] for a in response.json()["attempts"]] == ["failed", "cancelled"]
    assert response.json()["status"] == "failed"
    entry = AuditEntry.objects.get(team=acme, action="task.cancelled")
    assert entry.actor_name == "bob" and entry.changes["attempt"] == 2
    again = bob_api.post(f"/tasks/{task.pk}/cancel")
    assert again.status_code == 409 and "already finished" in again.json()["error"]


def test_cancel_one_attempt(alice_api, acme_repo, alice):
    attempt = factories.make_task(acme_repo, alice).attempts.get()
    assert alice_api.post(f"/attempts/{attempt.pk}/cancel").json()["status"] == "cancelled"
    assert alice_api.post(f"/attempts/{attempt.pk}/cancel").status_code == 409


def test_pull_request_answers_clearly(alice_api, acme_repo, alice):
    ask = factories.make_task(acme_repo, alice, mode="ask")
    assert alice_api.post(f"/tasks/{ask.pk}/pr").json()["code"] == "not_code_task"
    code = factories.make_task(acme_repo, alice, mode="code")
    assert alice_api.post(f"/tasks/{code.pk}/pr").json()["code"] == "no_patch"
    services.attempt_finish(attempt_id=code.attempts.get().pk, status="succeeded", patch=PATCH)
    response = alice_api.post(f"/tasks/{code.pk}/pr", {"attempt": 1})
    assert response.status_code == 409  # a plain git repository: no GitHub to open a PR on
    assert response.json() == {
        "error": "Pull requests need a repository connected from GitHub.",
        "code": "cannot_open_pr",
    }
    assert alice_api.post(f"/tasks/{code.pk}/pr", {"attempt": 7}).status_code == 404


def test_repositories_listing(alice_api, acme_repo, globex_repo):
    names = [
        r["full_name"]
        for r in alice_api.get("/repositories", params={"q": "web"}).json()["results"]
    ]
    assert names == ["acme/webapp"]


def test_secrets_never_in_api_responses_or_logs(alice_api, alice, acme_repo, caplog):
    caplog.set_level(logging.DEBUG)
    value = "api-secret-value-1234567890"
    secret_set(environment=acme_repo.environment, actor=alice, name="DEPLOY_KEY", value=value)
    task = _create(alice_api).json()
    services.attempt_claim(attempt_id=task["attempts"][0]["id"])
    bodies = [
        alice_api.get(f"/tasks/{task['id']}").content,
        alice_api.get("/tasks").content,
        alice_api.get(f"/attempts/{task['attempts'][0]['id']}").content,
        alice_api.get(f"/attempts/{task['attempts'][0]['id']}/events").content,
    ]
    for body in bodies:
        assert value.encode() not in body
    assert value not in caplog.text
