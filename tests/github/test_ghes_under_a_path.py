"""GitHub Enterprise Server behind a path (GHES_URL=https://host/github): sign-in, the
repository listing, the mirror fetch and Create PR all go under that path, and a pull request
URL there names its number. The double then answers 404 at the host's root, so a URL built from
the host alone fails here as it would there."""

from __future__ import annotations

import pytest
import requests

from repos.github.credentials import client_for
from repos.github.models import GitHubCredential
from repos.github.pull_refs import pull_number_parse
from repos.github.sync import repositories_sync
from tasks.pull_requests.models import PullRequestRecord
from tasks.pull_requests.services import pull_request_create
from tests.support.connected_github import connect, connected_repository, serve
from tests.support.finished_attempts import finished
from tests.support.github_fixtures import point_django_at
from tests.support.oauth_flow import sign_in

PREFIX = "/github"


@pytest.fixture
def ghes(github_double, settings, tmp_path):
    github_double.ghes_prefix = PREFIX
    point_django_at(settings, github_double, "ghes")
    settings.GIT_MIRROR_ROOT = tmp_path / "mirrors"
    settings.SIGNIN_POLICY = "open"
    yield github_double
    github_double.ghes_prefix = ""


@pytest.fixture
def webapp(ghes, tmp_path):
    ghes.state.add_user("alice-gh", name="Alice Liddell", sign_in=True)
    ghes.state.add_org("acme", members={"alice-gh": "write"})
    return serve(ghes, tmp_path, "acme", "webapp", {"app.py": "print('v1')\nprint('end')\n"})


def test_the_double_serves_only_under_the_path(ghes):
    root = ghes.ghes_url.removesuffix(PREFIX)
    assert requests.get(f"{root}/api/v3/user", timeout=5).status_code == 404
    assert requests.get(f"{ghes.ghes_api_url}/user", timeout=5).status_code == 401  # no token


@pytest.mark.django_db
def test_sign_in_listing_and_the_api_go_under_the_path(client, ghes, webapp):
    sign_in(client, ghes, "ghes")

    credential = GitHubCredential.objects.get(login="alice-gh")
    assert repositories_sync(credential=credential).repositories == 1
    assert client_for(credential).repository("acme", "webapp").can_push
    assert {r.host for r in ghes.state.requests} == {"ghes"}


@pytest.mark.django_db
def test_create_pr_pushes_and_opens_under_the_path(ghes, webapp, acme, alice):
    connect(alice, ghes, login="alice-gh", layout="ghes")
    repository = connected_repository(acme, webapp, "ghes")

    record = pull_request_create(attempt=finished(repository, alice), user=alice)

    assert record.state == PullRequestRecord.State.OPEN, record.error
    (pull,) = webapp.pulls
    assert record.html_url == f"{ghes.ghes_url}/acme/webapp/pull/{pull.number}"
    assert pull_number_parse(record.html_url, repository) == pull.number
