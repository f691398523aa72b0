"""Access re-checked with GitHub: people use only what GitHub lets them, cached briefly."""

from __future__ import annotations

import pytest

from repos.access import repository_access
from repos.github.client import GitHubAuthError
from tests.support.connected_github import connect, connected_repository


@pytest.fixture
def webapp(gh):
    state = gh.state
    for login in ("alice-gh", "bob-gh", "carol-gh"):
        state.add_user(login)
    state.add_org("acme", members={"alice-gh": "write", "bob-gh": "read"})
    return state.add_repo("acme", "webapp")


@pytest.mark.django_db
class TestRepositoryAccess:
    def test_push_read_and_none(self, gh, webapp, acme, alice, bob, carol):
        repository = connected_repository(acme, webapp)
        connect(alice, gh, login="alice-gh")
        connect(bob, gh, login="bob-gh")
        connect(carol, gh, login="carol-gh")

        assert repository_access(alice, repository).can_push is True
        bobs = repository_access(bob, repository)
        assert (bobs.can_read, bobs.can_push) == (True, False)
        assert "cannot push to acme/webapp" in bobs.reason
        assert "there is no fork flow" in bobs.reason
        carols = repository_access(carol, repository)
        assert not carols.can_read and "cannot access acme/webapp" in carols.reason

    def test_without_a_github_sign_in(self, gh, webapp, acme, alice):
        repository = connected_repository(acme, webapp)
        access = repository_access(alice, repository)
        assert not access.can_read
        assert access.reason == "Sign in with GitHub to use repositories from it."

    def test_answer_is_cached_then_rechecked(self, gh, webapp, acme, alice, settings):
        repository = connected_repository(acme, webapp)
        connect(alice, gh, login="alice-gh")
        assert repository_access(alice, repository).can_push
        gh.state.orgs["acme"].members["alice-gh"] = "read"
        calls = len(gh.state.requests)

        assert repository_access(alice, repository).can_push, "cached within the TTL"
        assert len(gh.state.requests) == calls

        settings.GITHUB_ACCESS_TTL_SECONDS = 0
        assert not repository_access(alice, repository).can_push

    def test_server_without_permission_flags(self, gh, webapp, acme, alice, bob):
        """`permissions` is optional in GitHub's description: a server that leaves it out (in
        the listing and on the repository) is asked the collaborator permission instead, so a
        writer can still start Code tasks and a reader still cannot."""
        from repos.github.sync import repositories_sync

        gh.state.repo_permissions = False
        repository = connected_repository(acme, webapp)
        for user, login in ((alice, "alice-gh"), (bob, "bob-gh")):
            repositories_sync(credential=connect(user, gh, login=login))

        assert repository_access(alice, repository).can_push is True
        bobs = repository_access(bob, repository)
        assert (bobs.can_read, bobs.can_push) == (True, False)
        asked = [r.path for r in gh.state.requests if r.path.endswith("/permission")]
        assert asked == ["/repos/acme/webapp/collaborators/alice-gh/permission",
                         "/repos/acme/webapp/collaborators/bob-gh/permission"]

    def test_revoked_token(self, gh, webapp, acme, alice):
        repository = connected_repository(acme, webapp)
        credential = connect(alice, gh, login="alice-gh")
        gh.state.revoke_tokens("alice-gh")
        with pytest.raises(GitHubAuthError):
            repository_access(alice, repository)
        credential.refresh_from_db()
        assert credential.invalid_at is not None

    def test_plain_git_repositories_are_not_asked_about(self, gh, acme, alice, acme_repo):
        assert repository_access(alice, acme_repo).can_push
        assert gh.state.requests == []
