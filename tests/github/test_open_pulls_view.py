"""The composer's "Or pull request" suggestions: a GitHub repository's open pull requests, listed
by repos:pulls from the GitHub stand-in, kept a minute, a failure said in a sentence; the free-text
field stays (tests/github/test_branch_push.py starts tasks from a typed reference)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.support import factories
from tests.support.connected_github import connect, connected_repository
from tests.support.github_state import Outage, PullRequest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def webapp(gh):
    """acme/webapp with two open pull requests (one a draft) and a closed one."""
    gh.state.add_user("alice-gh")
    gh.state.add_org("acme", members={"alice-gh": "write"})
    repo = gh.state.add_repo("acme", "webapp")
    for number, title, head, draft, state in [(3, "Fix login", "fix-login", False, "open"),
                                              (4, "Old idea", "old", False, "closed"),
                                              (5, "WIP: dark mode", "dark", True, "open")]:
        repo.pulls.append(PullRequest(number=number, id=number * 10, title=title, body="",
                                      head=head, base="main", head_sha="a" * 40,
                                      base_sha="b" * 40, author="alice-gh", draft=draft,
                                      state=state))
    return repo


@pytest.fixture
def repository(gh, webapp, acme, alice):
    connect(alice, gh, login="alice-gh")
    return connected_repository(acme, webapp)


def pull_calls(gh) -> int:
    return sum(1 for r in gh.state.requests
               if r.method == "GET" and r.path.endswith("/repos/acme/webapp/pulls"))


def test_lists_the_open_pull_requests_newest_first_and_keeps_them_a_minute(
        alice_client, gh, repository):
    picker = alice_client.get("/repositories/picker/", {"q": "webapp"}).json()["results"][0]
    assert picker["pulls_url"] == f"/repositories/{repository.pk}/pulls/"

    answer = alice_client.get(picker["pulls_url"]).json()

    assert answer["error"] == ""
    assert answer["pulls"] == [
        {"number": 5, "title": "WIP: dark mode", "head": "dark", "draft": True},
        {"number": 3, "title": "Fix login", "head": "fix-login", "draft": False},
    ]
    assert alice_client.get(picker["pulls_url"]).json() == answer
    assert pull_calls(gh) == 1  # the second choice of the repository did not ask GitHub


def test_a_github_failure_is_a_sentence(alice_client, gh, repository, settings):
    settings.GITHUB_ACCESS_TTL_SECONDS = 0
    gh.state.rate_limit.remaining = 0

    response = alice_client.get(f"/repositories/{repository.pk}/pulls/")

    assert response.status_code == 503
    assert response.json()["pulls"] == []
    assert "rate limit is used up" in response.json()["error"]


def test_github_having_trouble_is_a_503_that_passes_on_the_next_try(
    alice_client, gh, repository, settings
):
    settings.GITHUB_ACCESS_TTL_SECONDS = 0
    gh.state.outage = Outage(path="/pulls", hits=1)

    failed = alice_client.get(f"/repositories/{repository.pk}/pulls/")
    assert failed.status_code == 503
    assert failed.json()["error"] == ("Could not list the pull requests: GitHub is having "
                                      "trouble (it answered 503); try again in a minute.")
    again = alice_client.get(f"/repositories/{repository.pk}/pulls/")
    assert again.status_code == 200 and again.json()["error"] == ""


def test_a_github_without_the_list_operation_suggests_nothing(alice_client, gh, repository):
    """An independent GitHub built to the shared contract has no GET pulls: no suggestions, no
    error (the free-text field still takes a number or URL)."""
    gh.state.contract_only = True

    response = alice_client.get(f"/repositories/{repository.pk}/pulls/")

    assert response.status_code == 200
    assert response.json()["error"] == "" and response.json()["pulls"] == []


def test_a_repository_not_on_github_lists_none(alice_client, acme):
    repository = factories.make_repository(acme, owner="local", name="tool",
                                           clone_url="/srv/git/tool.git")
    answer = alice_client.get(f"/repositories/{repository.pk}/pulls/").json()
    assert answer == {"repository": repository.full_name, "error": "", "pulls": []}


def test_the_composer_field_suggests_them_and_stays_free_text(alice_client, repository):
    html = alice_client.get("/").content.decode()
    assert 'list="pull-options"' in html and '<datalist id="pull-options">' in html
    assert 'placeholder="#12 or URL"' in html


def test_other_team_gets_404(carol_client, repository, gh):
    assert carol_client.get(f"/repositories/{repository.pk}/pulls/").status_code == 404
    assert pull_calls(gh) == 0
