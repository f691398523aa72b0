"""Every view authorizes: anonymous people sign in first, other teams get 404, not 403."""

from __future__ import annotations

import pytest

from tasks.models import Status
from tests.support import factories


@pytest.fixture
def acme_task(acme_repo, alice):
    return factories.make_task(acme_repo, alice, attempts=2)


# An allowed host in the test settings (GIT_ALLOWED_HOSTS); registering does not contact it.
NEW_REPOSITORY = {"location": "http://127.0.0.1:9/a/b.git", "visibility": "private"}
HTML_PAGES = ["/", "/repositories/", "/repositories/new/", "/tasks/{task}/"]
JSON_ENDPOINTS = ["/repositories/picker/?q=a", "/tasks/{task}/status/"]


@pytest.mark.parametrize("path", HTML_PAGES)
def test_anonymous_is_sent_to_sign_in(client, acme_task, path):
    url = path.format(task=acme_task.pk)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_anonymous_json_endpoints_answer_401(client, acme_task, path):
    response = client.get(path.format(task=acme_task.pk))
    assert response.status_code == 401
    assert response.json() == {"error": "Authentication required."}


def test_anonymous_cannot_post_anything(client, acme_task, acme_repo, acme):
    attempt = acme_task.attempts.first()
    for url in ["/", f"/attempts/{attempt.pk}/cancel/", f"/accounts/switch-team/{acme.pk}/",
                "/repositories/new/"]:
        response = client.post(url, {"prompt": "x", "repository": acme_repo.pk, "mode": "ask"})
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url
    attempt.refresh_from_db()
    assert attempt.status == Status.QUEUED
    assert acme_task.team.tasks.count() == 1


@pytest.mark.parametrize("path", ["/tasks/{task}/", "/tasks/{task}/status/"])
def test_other_team_gets_404_for_a_task(carol_client, globex, acme_task, path):
    assert carol_client.get(path.format(task=acme_task.pk)).status_code == 404


def test_other_team_gets_404_when_cancelling(carol_client, globex, acme_task):
    attempt = acme_task.attempts.first()
    assert carol_client.post(f"/attempts/{attempt.pk}/cancel/").status_code == 404
    attempt.refresh_from_db()
    assert attempt.status == Status.QUEUED


def test_team_members_see_and_cancel_team_tasks(bob_client, acme_task):
    assert bob_client.get(f"/tasks/{acme_task.pk}/").status_code == 200
    status = bob_client.get(f"/tasks/{acme_task.pk}/status/").json()
    assert status["status"] == "queued" and len(status["attempts"]) == 2
    attempt = acme_task.attempts.first()
    assert bob_client.post(f"/attempts/{attempt.pk}/cancel/").status_code == 302
    attempt.refresh_from_db()
    assert attempt.status == Status.CANCELLED


def test_missing_task_is_404(alice_client, acme):
    assert alice_client.get("/tasks/999999/").status_code == 404


def test_non_admin_cannot_register_repositories(bob_client, acme, tmp_path):
    assert bob_client.get("/repositories/new/").status_code == 404
    response = bob_client.post(
        "/repositories/new/", NEW_REPOSITORY
    )
    assert response.status_code == 404
    assert not acme.repositories.exists()
    listing = bob_client.get("/repositories/").content.decode()
    assert "/repositories/new/" not in listing
    assert "Ask a team admin" in listing


def test_admin_of_another_team_cannot_register_into_acme(carol_client, acme, globex):
    response = carol_client.post(
        "/repositories/new/", NEW_REPOSITORY
    )
    assert response.status_code == 302
    assert not acme.repositories.exists()
    assert globex.repositories.get().full_name == "a/b"


def test_picker_returns_only_the_current_teams_repositories(
    alice_client, acme, acme_repo, globex_repo
):
    factories.make_repository(acme, owner="acme", name="secret-tools")
    everything = alice_client.get("/repositories/picker/?q=").json()["results"]
    assert sorted(r["full_name"] for r in everything) == ["acme/secret-tools", "acme/webapp"]
    secret = alice_client.get("/repositories/picker/?q=secret").json()["results"]
    assert [r["full_name"] for r in secret] == ["acme/secret-tools"]
    assert alice_client.get("/repositories/picker/?q=globex").json()["results"] == []


def test_picker_filters_by_owner_and_name(alice_client, acme):
    for owner, name in [("acme", "web"), ("acme", "api"), ("tools", "web-lint")]:
        factories.make_repository(acme, owner=owner, name=name)
    def names(query):
        results = alice_client.get("/repositories/picker/", {"q": query}).json()["results"]
        return [r["full_name"] for r in results]

    assert names("acme/w") == ["acme/web"]
    assert names("WEB") == ["acme/web", "tools/web-lint"]
    assert names("web lint") == ["tools/web-lint"]
    result = alice_client.get("/repositories/picker/?q=api").json()["results"][0]
    assert set(result) == {"id", "full_name", "default_branch", "visibility", "recent",
                           "branches_url", "pulls_url"}


def test_picker_for_someone_in_no_team_is_empty(client, db):
    client.force_login(factories.make_user("loner"))
    assert client.get("/repositories/picker/?q=").json() == {"results": []}


def test_sidebar_shows_only_the_current_teams_tasks(carol_client, globex, acme_task):
    html = carol_client.get("/").content.decode()
    assert acme_task.title not in html
    assert f"/tasks/{acme_task.pk}/" not in html
