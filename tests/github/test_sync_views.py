"""Syncing after sign-in, "Refresh from GitHub" on the repositories page, and its progress."""

from __future__ import annotations

import pytest

from repos.github.models import GitHubCredential
from repos.jobs import sync_repositories
from tests.support.celery_queue import queued_jobs
from tests.support.connected_github import connect
from tests.support.oauth_flow import sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_queue")]


@pytest.fixture
def octo_org(gh):
    gh.state.add_user("alice-gh")
    gh.state.add_org("acme", members={"alice-gh": "write"})
    for n in range(3):
        gh.state.add_repo("acme", f"svc-{n}")
    return gh.state


def run_callbacks(callbacks) -> None:
    for callback in callbacks:
        callback()


def test_signing_in_enqueues_a_sync_after_commit(client, gh, django_capture_on_commit_callbacks):
    gh.state.add_user("octocat", sign_in=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = sign_in(client, gh, "github")
    assert response.status_code == 302
    assert queued_jobs() == [], "nothing is enqueued before the sign-in is saved"

    run_callbacks(callbacks)

    credential = GitHubCredential.objects.get(login="octocat")
    assert [(j.task, j.args) for j in queued_jobs()] == [
        ("repos.sync_repositories", [credential.pk])]
    assert credential.sync_requested_at is not None


def test_refresh_enqueues_once_shows_progress_then_the_result(
    alice_client, alice, acme, gh, octo_org, django_capture_on_commit_callbacks
):
    credential = connect(alice, gh, login="alice-gh")
    page = alice_client.get("/repositories/").content.decode()
    assert "have not been fetched from GitHub yet" in page
    assert "Refresh from GitHub</button>" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post("/repositories/sync/", {"next": "/repositories/"})
        again = alice_client.post("/repositories/sync/", {"next": "/repositories/"})
    assert response.status_code == 302 and response["Location"] == "/repositories/"
    assert again.status_code == 302
    assert [(j.task, j.args) for j in queued_jobs()] == [
        ("repos.sync_repositories", [credential.pk])], "a second press while it runs adds nothing"

    page = alice_client.get("/repositories/").content.decode()
    assert "Fetching your repositories from GitHub…" in page
    assert "already being fetched" in page
    assert 'id="sync-status"' in page and "data-running" in page
    assert alice_client.get("/repositories/sync/status/").json()["running"] is True

    sync_repositories(credential.pk)  # what the worker does with the queued job

    state = alice_client.get("/repositories/sync/status/").json()
    assert state["running"] is False
    assert state["catalogs"][0]["state"] == "synced"
    assert state["catalogs"][0]["repositories"] == 3
    page = alice_client.get("/repositories/").content.decode()
    assert "3 repositories you can reach, fetched" in page
    assert "data-running" not in page


def test_rate_limit_is_shown_in_words(alice_client, alice, acme, gh, octo_org):
    credential = connect(alice, gh, login="alice-gh")
    gh.state.rate_limit.remaining = 0

    sync_repositories(credential.pk)

    page = alice_client.get("/repositories/").content.decode()
    assert "GitHub&#x27;s API rate limit is used up; try again after" in page
    state = alice_client.get("/repositories/sync/status/").json()["catalogs"][0]
    assert state["state"] == "error" and "rate limit" in state["message"]


def test_revoked_token_asks_to_sign_in_again_and_enqueues_nothing(
    alice_client, alice, acme, gh, octo_org, django_capture_on_commit_callbacks
):
    credential = connect(alice, gh, login="alice-gh")
    gh.state.revoke_tokens("alice-gh")
    sync_repositories(credential.pk)
    credential.refresh_from_db()
    assert credential.invalid_at is not None

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post("/repositories/sync/")
    assert queued_jobs() == []
    page = alice_client.get(response["Location"]).content.decode()
    assert "Your GitHub sign-in has expired or was revoked. Sign in again with GitHub" in page
    assert "Sign in again with GitHub</button>" in page
    assert 'action="/oauth/login/github/' in page


def test_without_github_there_is_nothing_to_refresh(alice_client, acme, gh):
    page = alice_client.get("/repositories/").content.decode()
    assert "Refresh from GitHub" not in page
    response = alice_client.post("/repositories/sync/")
    assert "Sign in with GitHub first" in alice_client.get(response["Location"]).content.decode()
    assert queued_jobs() == []


def test_status_shows_only_the_persons_own_catalogs(carol_client, alice, globex, gh, octo_org):
    connect(alice, gh, login="alice-gh")
    assert carol_client.get("/repositories/sync/status/").json() == {
        "running": False, "catalogs": []}


def test_refresh_does_not_redirect_elsewhere(alice_client, alice, acme, gh, octo_org):
    connect(alice, gh, login="alice-gh")
    response = alice_client.post("/repositories/sync/", {"next": "https://evil.example/"})
    assert response["Location"] == "/repositories/"


def test_anonymous(client, db):
    assert client.post("/repositories/sync/")["Location"].startswith("/accounts/login/")
    assert client.get("/repositories/sync/status/").status_code == 401


def test_refresh_needs_post(alice_client, acme):
    assert alice_client.get("/repositories/sync/").status_code == 405
