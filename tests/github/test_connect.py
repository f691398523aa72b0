"""Team admins connect repositories from their synced GitHub catalog."""

from __future__ import annotations

import pytest

from repos.github.connect import ConnectError, github_repository_connect
from repos.github.models import GitHubRepositoryAccess
from repos.github.sync import repositories_sync
from repos.models import Repository
from tests.support.connected_github import connect


@pytest.fixture
def catalog(gh, alice, bob):
    gh.state.add_user("alice-gh")
    gh.state.add_org("acme", members={"alice-gh": "admin"})
    gh.state.add_repo("acme", "webapp", default_branch="trunk")
    credential = connect(alice, gh, login="alice-gh")
    repositories_sync(credential=credential)
    return GitHubRepositoryAccess.objects.get(credential=credential, name="webapp")


@pytest.mark.django_db
def test_admin_connects_once(gh, acme, alice, catalog):
    first = github_repository_connect(team=acme, actor=alice, access=catalog)
    again = github_repository_connect(team=acme, actor=alice, access=catalog)

    assert again.pk == first.pk
    assert (first.provider, first.full_name, first.default_branch) == (
        Repository.Provider.GITHUB, "acme/webapp", "trunk")
    assert first.external_id == catalog.external_id
    assert first.clone_url == f"{gh.web_url}/acme/webapp.git"
    assert first.environment is not None


@pytest.mark.django_db
def test_member_cannot_connect(gh, acme, bob, catalog):
    with pytest.raises(ConnectError, match="Only team admins"):
        github_repository_connect(team=acme, actor=bob, access=catalog)


@pytest.mark.django_db
def test_cannot_connect_from_someone_elses_catalog(gh, globex, carol, catalog):
    with pytest.raises(ConnectError):
        github_repository_connect(team=globex, actor=carol, access=catalog)
    assert not Repository.objects.filter(team=globex).exists()
