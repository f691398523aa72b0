"""Syncing the repositories a person can reach: pagination, conditional requests, limits."""

from __future__ import annotations

import pytest

from repos.github.client import GitHubAuthError, GitHubRateLimited
from repos.github.models import GitHubRepositoryAccess
from repos.github.sync import repositories_sync
from tests.support.connected_github import connect


@pytest.fixture
def big_org(gh):
    state = gh.state
    state.add_user("octocat")
    state.add_org("acme", members={"octocat": "write"})
    for n in range(1050):
        state.add_repo("acme", f"svc-{n:04d}", private=n % 3 != 0)
    state.add_repo("octocat", "dotfiles", private=False)
    state.add_user("mallory")
    state.add_repo("mallory", "not-for-octocat")
    return state


@pytest.mark.django_db
class TestSync:
    def test_follows_pagination_through_a_thousand_repositories(self, gh, big_org, alice):
        credential = connect(alice, gh, login="octocat")

        result = repositories_sync(credential=credential)

        assert result.repositories == 1051 and result.pages_fetched == 11
        rows = GitHubRepositoryAccess.objects.filter(credential=credential)
        assert rows.count() == 1051
        assert not rows.filter(owner="mallory").exists()
        dotfiles = rows.get(name="dotfiles")
        assert (dotfiles.visibility, dotfiles.can_admin) == ("public", True)
        assert rows.get(name="svc-0001").can_push is True
        credential.refresh_from_db()
        assert credential.synced_at is not None and credential.sync_error == ""

    def test_second_sync_uses_conditional_requests(self, gh, big_org, alice):
        credential = connect(alice, gh, login="octocat")
        repositories_sync(credential=credential)
        remaining = gh.state.rate_limit.remaining
        credential.refresh_from_db()

        result = repositories_sync(credential=credential)

        assert (result.pages_fetched, result.pages_unchanged) == (0, 11)
        assert result.repositories == 1051
        assert gh.state.rate_limit.remaining == remaining  # 304s cost nothing
        assert GitHubRepositoryAccess.objects.filter(credential=credential).count() == 1051

    def test_changes_and_lost_access_show_up(self, gh, big_org, alice):
        credential = connect(alice, gh, login="octocat")
        repositories_sync(credential=credential)
        del gh.state.repos[("acme", "svc-0000")]
        gh.state.add_repo("octocat", "zz-new")

        result = repositories_sync(credential=credential)

        names = set(GitHubRepositoryAccess.objects.filter(credential=credential)
                    .values_list("name", flat=True))
        assert "svc-0000" not in names and "zz-new" in names
        assert result.repositories == 1051

    def test_rate_limit_mid_sync_keeps_what_we_had(self, gh, big_org, alice):
        credential = connect(alice, gh, login="octocat")
        repositories_sync(credential=credential)
        gh.state.add_repo("acme", "aaa-new")  # sorts first: every page changes
        gh.state.rate_limit.remaining = 3

        with pytest.raises(GitHubRateLimited) as caught:
            repositories_sync(credential=credential)

        assert "try again after" in str(caught.value)
        credential.refresh_from_db()
        assert credential.sync_error == str(caught.value)
        assert GitHubRepositoryAccess.objects.filter(credential=credential).count() == 1051

    def test_revoked_token_marks_the_credential(self, gh, big_org, alice):
        credential = connect(alice, gh, login="octocat")
        gh.state.revoke_tokens("octocat")

        with pytest.raises(GitHubAuthError, match="Sign in again"):
            repositories_sync(credential=credential)

        credential.refresh_from_db()
        assert credential.invalid_at is not None
        calls = len(gh.state.requests)
        with pytest.raises(GitHubAuthError):
            repositories_sync(credential=credential)
        assert len(gh.state.requests) == calls, "a dead token is not tried again"

    def test_ghes_layout(self, gh, big_org, alice):
        credential = connect(alice, gh, login="octocat", layout="ghes")

        result = repositories_sync(credential=credential)

        assert result.repositories == 1051
        assert {r.host for r in gh.state.requests} == {"ghes"}
        assert all(r.path == "/user/repos" for r in gh.state.requests)


@pytest.mark.django_db
def test_catalog_filters_thousands_in_one_query(gh, big_org, alice, django_assert_max_num_queries):
    from repos.github.selectors import github_catalog

    credential = connect(alice, gh, login="octocat")
    repositories_sync(credential=credential)
    GitHubRepositoryAccess.objects.bulk_create(  # the catalog of a very large organization
        GitHubRepositoryAccess(credential=credential, external_id=10_000_000 + n,
                               owner="bigcorp", name=f"tool-{n:04d}", visibility="internal",
                               checked_at=credential.synced_at)
        for n in range(4000)
    )

    with django_assert_max_num_queries(1):
        found = list(github_catalog(alice, provider="github", query="acme/svc-10")[:50])
    assert [r.name for r in found] == [f"svc-10{n:02d}" for n in range(50)]
    assert github_catalog(alice, provider="github", query="tool-39").count() == 100
    assert github_catalog(alice, provider="github", visibility="public").count() == 351
    assert github_catalog(alice, provider="ghes").count() == 0
    pushable = github_catalog(alice, provider="github", pushable_only=True)
    assert not pushable.filter(owner="bigcorp").exists()
