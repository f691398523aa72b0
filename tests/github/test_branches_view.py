"""The composer's branch list: from the host's mirror, refreshed by a job, never by the request."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from repos.git.mirror import mirror_path
from repos.jobs import refresh_mirror
from tests.support import factories
from tests.support.celery_queue import queued_jobs
from tests.support.connected_github import connect, connected_repository

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_queue")]


@pytest.fixture
def webapp(gh, tmp_path):
    """acme/webapp on the double with branches main (default), feature/login and release."""
    state = gh.state
    state.add_user("alice-gh")
    state.add_user("bob-gh")
    state.add_org("acme", members={"alice-gh": "write", "bob-gh": "read"})
    source = factories.make_git_repository(tmp_path / "src" / "webapp")
    for branch in ("feature/login", "release"):
        subprocess.run(["git", "-C", str(source), "branch", branch], check=True)
    repo = state.add_repo("acme", "webapp")
    state.attach_git(repo, source, tmp_path / "served" / "webapp.git")
    return repo


def branches(client, repository):
    return client.get(f"/repositories/{repository.pk}/branches/")


def test_first_request_enqueues_a_fetch_then_lists_branches(
    alice_client, alice, acme, gh, webapp, django_capture_on_commit_callbacks
):
    connect(alice, gh, login="alice-gh")
    repository = connected_repository(acme, webapp)

    with django_capture_on_commit_callbacks(execute=True):
        first = branches(alice_client, repository)
        again = branches(alice_client, repository)
    assert first.status_code == 200
    assert first.json() == {"repository": "acme/webapp", "default_branch": "main",
                            "branches": [], "fetched_at": None, "refreshing": True}
    assert again.json()["refreshing"] is True
    jobs = [(j.task, j.args) for j in queued_jobs()]
    assert jobs == [("repos.refresh_mirror", [repository.pk, alice.pk])], "one job, not two"
    assert not (mirror_path(repository) / "HEAD").exists(), "the request itself fetched nothing"

    refresh_mirror(repository.pk, alice.pk)  # what the worker does

    with django_capture_on_commit_callbacks(execute=True):
        data = branches(alice_client, repository).json()
    assert data["branches"] == ["main", "feature/login", "release"], "default branch first"
    assert data["refreshing"] is False and data["fetched_at"]
    assert len(queued_jobs()) == 1, "a fresh mirror enqueues nothing"


def test_a_stale_mirror_is_refetched_in_the_background(
    alice_client, alice, acme, gh, webapp, settings, django_capture_on_commit_callbacks
):
    connect(alice, gh, login="alice-gh")
    repository = connected_repository(acme, webapp)
    refresh_mirror(repository.pk, alice.pk)
    old = time.time() - settings.MIRROR_MAX_AGE_SECONDS - 60
    os.utime(mirror_path(repository) / "FETCH_HEAD", (old, old))

    with django_capture_on_commit_callbacks(execute=True):
        data = branches(alice_client, repository).json()
    assert data["branches"] == ["main", "feature/login", "release"], "stale, but answered now"
    assert data["refreshing"] is True
    assert [j.task for j in queued_jobs()] == ["repos.refresh_mirror"]


def test_member_with_read_access_gets_branches(bob_client, bob, acme, gh, webapp, alice):
    connect(alice, gh, login="alice-gh")
    connect(bob, gh, login="bob-gh")
    repository = connected_repository(acme, webapp)
    refresh_mirror(repository.pk, alice.pk)
    response = branches(bob_client, repository)
    assert response.status_code == 200
    assert "release" in response.json()["branches"]


def test_github_says_no(alice_client, alice, acme, gh, webapp):
    gh.state.add_user("stranger")
    connect(alice, gh, login="stranger")
    repository = connected_repository(acme, webapp)
    response = branches(alice_client, repository)
    assert response.status_code == 403
    assert response.json() == {"error": "GitHub says you cannot access acme/webapp."}


def test_revoked_token_answers_sign_in_again(alice_client, alice, acme, gh, webapp, settings):
    settings.GITHUB_ACCESS_TTL_SECONDS = 0
    connect(alice, gh, login="alice-gh")
    repository = connected_repository(acme, webapp)
    gh.state.revoke_tokens("alice-gh")
    response = branches(alice_client, repository)
    assert response.status_code == 401
    assert response.json()["sign_in_again"] is True
    assert "Sign in again with GitHub" in response.json()["error"]


def test_rate_limit_is_a_503_with_the_reason(alice_client, alice, acme, gh, webapp, settings):
    settings.GITHUB_ACCESS_TTL_SECONDS = 0
    connect(alice, gh, login="alice-gh")
    repository = connected_repository(acme, webapp)
    gh.state.rate_limit.remaining = 0
    response = branches(alice_client, repository)
    assert response.status_code == 503
    assert "rate limit is used up" in response.json()["error"]


def test_plain_git_repository(alice_client, alice, acme, tmp_path, settings,
                              django_capture_on_commit_callbacks):
    settings.GIT_MIRROR_ROOT = tmp_path / "mirrors"
    source = factories.make_git_repository(tmp_path / "local" / "tool", branch="trunk")
    repository = factories.make_repository(acme, owner="local", name="tool",
                                           clone_url=str(source), default_branch="trunk")
    with django_capture_on_commit_callbacks(execute=True):
        assert branches(alice_client, repository).json()["refreshing"] is True
    refresh_mirror(repository.pk, alice.pk)
    assert branches(alice_client, repository).json()["branches"] == ["trunk"]


def test_other_team_gets_404_and_anonymous_401(carol_client, client, globex, acme_repo):
    assert branches(carol_client, acme_repo).status_code == 404
    client.logout()
    response = branches(client, acme_repo)
    assert response.status_code == 401
