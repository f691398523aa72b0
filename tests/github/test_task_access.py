"""Submitting a task re-checks access with GitHub: Code needs push, Ask needs read."""

from __future__ import annotations

import pytest

from tasks.models import Task
from tests.support.connected_github import connect, connected_repository

pytestmark = pytest.mark.django_db


@pytest.fixture
def webapp(gh):
    state = gh.state
    for login in ("alice-gh", "bob-gh", "stranger"):
        state.add_user(login)
    state.add_org("acme", members={"alice-gh": "write", "bob-gh": "read"})
    return state.add_repo("acme", "webapp")


def submit(client, repository, mode):
    return client.post("/", {"prompt": "Fix the login bug", "repository": str(repository.pk),
                             "base_branch": "", "attempts": "1", "model_tier": "fast",
                             "mode": mode})


def test_push_access_starts_a_code_task(alice_client, alice, acme, gh, webapp,
                                        django_capture_on_commit_callbacks):
    connect(alice, gh, login="alice-gh")
    repository = connected_repository(acme, webapp)
    with django_capture_on_commit_callbacks(execute=False):
        response = submit(alice_client, repository, "code")
    assert response.status_code == 302
    assert Task.objects.get().mode == "code"


def test_read_only_access_may_ask_but_not_code(bob_client, bob, acme, gh, webapp,
                                              django_capture_on_commit_callbacks):
    connect(bob, gh, login="bob-gh")
    repository = connected_repository(acme, webapp)

    response = submit(bob_client, repository, "code")
    assert response.status_code == 400
    html = response.content.decode()
    assert ("GitHub says you cannot push to acme/webapp; Code tasks and pull requests need push "
            "access.") in html
    assert 'id="error-summary"' in html and "Fix the login bug</textarea>" in html
    assert not Task.objects.exists()

    with django_capture_on_commit_callbacks(execute=False):
        assert submit(bob_client, repository, "ask").status_code == 302
    assert Task.objects.get().mode == "ask"


def test_no_access_at_all(alice_client, alice, acme, gh, webapp):
    connect(alice, gh, login="stranger")
    repository = connected_repository(acme, webapp)
    response = submit(alice_client, repository, "ask")
    assert response.status_code == 400
    assert "GitHub says you cannot access acme/webapp." in response.content.decode()


def test_without_a_github_sign_in(alice_client, acme, gh, webapp):
    repository = connected_repository(acme, webapp)
    response = submit(alice_client, repository, "ask")
    assert response.status_code == 400
    assert "Sign in with GitHub to use repositories from it." in response.content.decode()


def test_rate_limit_keeps_the_form_and_says_when(alice_client, alice, acme, gh, webapp):
    connect(alice, gh, login="alice-gh")
    repository = connected_repository(acme, webapp)
    gh.state.rate_limit.remaining = 0
    response = submit(alice_client, repository, "code")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Could not check your access with GitHub: GitHub&#x27;s API rate limit" in html
    assert not Task.objects.exists()


def test_revoked_token_asks_to_sign_in_again(alice_client, alice, acme, gh, webapp):
    connect(alice, gh, login="alice-gh")
    repository = connected_repository(acme, webapp)
    gh.state.revoke_tokens("alice-gh")
    response = submit(alice_client, repository, "code")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"
    page = alice_client.get(response["Location"]).content.decode()
    assert "Your GitHub sign-in has expired or was revoked. Sign in again with GitHub" in page
    assert not Task.objects.exists()


def test_plain_git_repositories_need_no_github(alice_client, acme_repo, gh,
                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        assert submit(alice_client, acme_repo, "code").status_code == 302
    assert gh.state.requests == []


def test_the_api_checks_push_access_too(bob, acme, gh, webapp):
    """Creating a Code task through the REST API asks GitHub first, like the composer."""
    from codexweb.api.tokens import api_token_create
    from tests.support.api_client import Api

    connect(bob, gh, login="bob-gh")
    connected_repository(acme, webapp)
    api = Api(api_token_create(user=bob, name="bob laptop").secret)

    response = api.post("/tasks", {"repository": "acme/webapp", "mode": "code", "prompt": "Fix"})
    assert response.status_code == 400
    body = response.json()
    assert "cannot push to acme/webapp" in body["error"]
    assert not Task.objects.exists()
