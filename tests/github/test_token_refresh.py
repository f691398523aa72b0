"""A GitHub App's expiring user token (8 hours, with a refresh token that works once) is renewed
before use, in both layouts; a refresh GitHub refuses asks the person to sign in again. A token
GitHub refuses although it was believed valid is renewed once, for the API and for git (an
attempt's fetch, Create PR's fetch and push)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from social_django.models import UserSocialAuth

from repos.git.workspace import workspace_checkout
from repos.github.client import GitHubAuthError
from repos.github.credentials import client_for, credential_store, credential_token
from repos.github.models import GitHubCredential
from repos.github.token_refresh import TokenGrant
from tasks.pull_requests.models import PullRequestRecord
from tasks.pull_requests.services import pull_request_create
from tests.support.connected_github import PROVIDER, connected_repository
from tests.support.finished_attempts import finished, greeting_webapp
from tests.support.github_fixtures import CLIENT_ID
from tests.support.oauth_flow import sign_in

LIFETIME = 28_800  # GitHub's 8 hours


def connect_expiring(user, gh, *, login: str, layout: str = "github") -> GitHubCredential:
    """Sign `user` in as `login` through a GitHub App whose user tokens expire."""
    state = gh.state
    gh_user = state.users.get(login) or state.add_user(login)
    scopes = ["repo"]
    grant = TokenGrant(access_token=state.issue_token(login, scopes, lifetime=LIFETIME),
                       refresh_token=state.issue_refresh_token(login, CLIENT_ID[layout], scopes),
                       expires_in=LIFETIME, refresh_expires_in=15_897_600)
    return credential_store(user=user, provider=PROVIDER[layout], login=login,
                            external_id=gh_user.id, token=grant.access_token, grant=grant)


def token_posts(gh) -> int:
    return sum(1 for r in gh.state.requests
               if r.method == "POST" and r.path == "/login/oauth/access_token")


def eight_hours_later(gh, credential: GitHubCredential) -> None:
    """The token has expired at GitHub, and our record says so."""
    gh.state.expire_tokens(credential.login)
    GitHubCredential.objects.filter(pk=credential.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    credential.refresh_from_db()


def revoked_early(gh, credential: GitHubCredential) -> None:
    """GitHub no longer takes the token, though our record says it has hours left (revoked
    early, a clock skewed, renewed by another app)."""
    gh.state.expire_tokens(credential.login)
    assert credential.expires_at > timezone.now() + timedelta(hours=7)


@pytest.mark.django_db
@pytest.mark.parametrize("layout", ["github", "ghes"])
def test_expired_token_is_renewed_before_the_call(gh, alice, layout):
    credential = connect_expiring(alice, gh, login="octocat", layout=layout)
    old_token, old_refresh = credential.reveal(), credential.refresh_encrypted
    eight_hours_later(gh, credential)

    assert client_for(credential).user()["login"] == "octocat"

    stored = GitHubCredential.objects.get(pk=credential.pk)
    assert stored.reveal() != old_token and stored.refresh_encrypted != old_refresh
    assert stored.expires_at > timezone.now() + timedelta(hours=7)
    assert stored.invalid_at is None and token_posts(gh) == 1
    assert old_token not in stored.refresh_encrypted + stored.token_encrypted  # encrypted
    client_for(stored).user()
    assert token_posts(gh) == 1  # renewed once, not before every call


@pytest.mark.django_db
def test_refused_refresh_asks_to_sign_in_again(gh, alice):
    credential = connect_expiring(alice, gh, login="octocat")
    eight_hours_later(gh, credential)
    gh.state.refresh_tokens.clear()  # the app was uninstalled / the refresh token revoked

    with pytest.raises(GitHubAuthError, match="Sign in again with GitHub"):
        client_for(credential)

    assert GitHubCredential.objects.get(pk=credential.pk).invalid_at is not None
    with pytest.raises(GitHubAuthError):  # known dead: GitHub is not asked again
        credential_token(GitHubCredential.objects.get(pk=credential.pk))
    assert token_posts(gh) == 1


@pytest.mark.django_db
def test_renewal_another_process_did_meanwhile_is_used(gh, alice):
    """Refresh tokens work once: a process holding the old row uses the one renewed meanwhile."""
    credential = connect_expiring(alice, gh, login="octocat")
    eight_hours_later(gh, credential)
    stale = GitHubCredential.objects.get(pk=credential.pk)
    token = credential_token(credential)

    assert credential_token(stale) == token
    assert token_posts(gh) == 1 and stale.invalid_at is None


@pytest.mark.django_db
def test_token_that_never_expires_is_never_refreshed(gh, alice):
    gh_user = gh.state.add_user("octocat")
    credential = credential_store(user=alice, provider=PROVIDER["github"], login="octocat",
                                  external_id=gh_user.id, token=gh.state.issue_token("octocat"))

    assert credential.expires_at is None and credential.refresh_encrypted == ""
    client_for(credential).user()
    assert token_posts(gh) == 0


@pytest.mark.django_db
@pytest.mark.parametrize("spoil", [eight_hours_later, revoked_early],
                         ids=["expired-overnight", "refused-before-its-time"])
def test_create_pr_with_a_token_that_went_bad(spoil, gh, acme, alice, tmp_path):
    """Expired: renewed before use. Refused early: the access check renews it. Either way the
    git push and the REST calls use the renewed token, renewed once."""
    webapp = greeting_webapp(gh, tmp_path)
    credential = connect_expiring(alice, gh, login="alice-gh")
    attempt = finished(connected_repository(acme, webapp), alice)
    spoil(gh, credential)

    record = pull_request_create(attempt=attempt, user=alice)

    assert record.state == PullRequestRecord.State.OPEN, record.error
    assert len(webapp.pulls) == 1 and token_posts(gh) == 1


@pytest.mark.django_db
@pytest.mark.urls("tests.github.reauth_urls")
def test_sign_in_through_a_github_app_keeps_the_refresh_token_encrypted(client, settings,
                                                                        github_double):
    settings.SIGNIN_POLICY = "open"
    github_double.state.add_user("octocat", sign_in=True)
    github_double.state.token_lifetime = LIFETIME
    from tests.support.github_fixtures import point_django_at

    point_django_at(settings, github_double, "github")
    sign_in(client, github_double, "github")

    credential = GitHubCredential.objects.get(user__username="octocat")
    (refresh,) = github_double.state.refresh_tokens
    assert credential.refresh_encrypted and refresh not in credential.refresh_encrypted
    assert credential.expires_at is not None and credential.refresh_expires_at is not None
    extra = UserSocialAuth.objects.get(user=credential.user).extra_data
    assert refresh not in str(extra) and credential.reveal() not in str(extra)
    assert client.get("/test-github-whoami/").json()["login"] == "octocat"


@pytest.mark.django_db
def test_a_token_refused_before_its_time_is_renewed_and_the_call_made_again(gh, alice):
    credential = connect_expiring(alice, gh, login="octocat")
    old_token = credential.reveal()
    revoked_early(gh, credential)

    assert client_for(credential).user()["login"] == "octocat"

    stored = GitHubCredential.objects.get(pk=credential.pk)
    assert stored.invalid_at is None and stored.reveal() != old_token
    assert token_posts(gh) == 1
    user_calls = [r for r in gh.state.requests if r.path.endswith("/user")]
    assert len(user_calls) == 2  # refused, then made again with the renewed token


def assert_asks_to_sign_in_again(credential: GitHubCredential) -> None:
    """A call with the credential ends in the sign-in prompt, and the credential is marked
    invalid."""
    with pytest.raises(GitHubAuthError, match="Sign in again with GitHub"):
        client_for(credential).user()
    assert GitHubCredential.objects.get(pk=credential.pk).invalid_at is not None


@pytest.mark.django_db
def test_a_refused_token_whose_renewal_is_refused_asks_to_sign_in_again(gh, alice):
    credential = connect_expiring(alice, gh, login="octocat")
    revoked_early(gh, credential)
    gh.state.refresh_tokens.clear()  # the app was uninstalled / the refresh token revoked

    assert_asks_to_sign_in_again(credential)
    assert token_posts(gh) == 1


@pytest.mark.django_db
def test_a_refused_token_without_a_refresh_token_asks_to_sign_in_again(gh, alice):
    gh_user = gh.state.add_user("octocat")
    credential = credential_store(user=alice, provider=PROVIDER["github"], login="octocat",
                                  external_id=gh_user.id, token=gh.state.issue_token("octocat"))
    gh.state.revoke_tokens("octocat")

    assert_asks_to_sign_in_again(credential)
    assert token_posts(gh) == 0


@pytest.mark.django_db
def test_a_renewed_token_refused_too_is_not_renewed_again(gh, alice):
    """One renewal and one more try per call: a token refused right after its renewal (the
    app lost access) ends in the sign-in prompt, not a loop of renewals."""
    credential = connect_expiring(alice, gh, login="octocat")
    revoked_early(gh, credential)
    client = client_for(credential)
    issue = gh.state.issue_token

    def dead_on_arrival(login, scopes=None, *, lifetime=None):  # noqa: ANN001, ANN202
        value = issue(login, scopes, lifetime=lifetime)
        gh.state.expire_tokens(login)
        return value

    gh.state.issue_token = dead_on_arrival
    with pytest.raises(GitHubAuthError):
        client.user()

    assert token_posts(gh) == 1
    assert GitHubCredential.objects.get(pk=credential.pk).invalid_at is not None


@pytest.mark.django_db
def test_a_refused_token_another_process_renewed_meanwhile_is_replaced_without_a_renewal(
    gh, alice
):
    credential = connect_expiring(alice, gh, login="octocat")
    stale = GitHubCredential.objects.get(pk=credential.pk)
    client = client_for(stale)  # holds the token about to be refused
    eight_hours_later(gh, credential)
    credential_token(credential)  # another process renews it
    assert token_posts(gh) == 1

    assert client.user()["login"] == "octocat"

    assert token_posts(gh) == 1  # the stored token was used, the refresh token not spent again
    assert GitHubCredential.objects.get(pk=credential.pk).invalid_at is None




@pytest.mark.django_db
def test_git_refusing_a_token_believed_valid_renews_it_once_and_the_push_goes_through(
    gh, alice, acme, tmp_path
):
    credential = connect_expiring(alice, gh, login="alice-gh")
    webapp = greeting_webapp(gh, tmp_path)
    attempt = finished(connected_repository(acme, webapp), alice)
    old_token = credential.reveal()
    gh.state.git_refused_tokens.add(old_token)  # the API takes it, git does not

    record = pull_request_create(attempt=attempt, user=alice)

    assert record.state == PullRequestRecord.State.OPEN, record.error
    assert len(webapp.pulls) == 1 and token_posts(gh) == 1
    stored = GitHubCredential.objects.get(pk=credential.pk)
    assert stored.reveal() != old_token and stored.invalid_at is None


@pytest.mark.django_db
def test_git_refusing_the_renewed_token_too_asks_to_sign_in_again_after_one_renewal(
    gh, alice, acme, tmp_path
):
    connect_expiring(alice, gh, login="alice-gh")
    webapp = greeting_webapp(gh, tmp_path)
    attempt = finished(connected_repository(acme, webapp), alice)
    gh.state.git_refuses_tokens = True  # no token reaches this repository's code

    record = pull_request_create(attempt=attempt, user=alice)

    assert record.state == PullRequestRecord.State.FAILED
    assert record.error.startswith("GitHub refused your sign-in to git (HTTP 401)")
    assert token_posts(gh) == 1 and webapp.pulls == []


@pytest.mark.django_db
def test_an_attempts_fetch_refused_by_git_renews_the_token_once(gh, alice, acme, tmp_path):
    credential = connect_expiring(alice, gh, login="alice-gh")
    repository = connected_repository(acme, greeting_webapp(gh, tmp_path))
    gh.state.git_refused_tokens.add(credential.reveal())

    commit = workspace_checkout(repository=repository, user=alice, ref="main",
                                dest=tmp_path / "checkout")

    assert len(commit) == 40 and (tmp_path / "checkout" / "app.py").is_file()
    assert token_posts(gh) == 1
