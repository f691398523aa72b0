"""GitHub and GitHub Enterprise sign-in, end to end against the GitHub double over real HTTP.

The browser is played by Django's test client (our side) and `requests` (GitHub's side); the
token exchange and the user lookups are real HTTP calls from the app to the double.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from social_django.models import UserSocialAuth

from codexweb.accounts import oauth_errors
from codexweb.accounts.models import Membership
from repos.github.models import GitHubCredential
from tests.support.github_fixtures import point_django_at
from tests.support.oauth_flow import BACKEND, land, sign_in, start_sign_in, visit_github

LAYOUTS = ["github", "ghes"]


def page_after(client, response) -> str:
    """Follow one redirect inside the app and return the page text."""
    assert response.status_code == 302, response.status_code
    page = client.get(response["Location"])
    assert page.status_code == 200
    return page.content.decode()


@pytest.fixture
def octocat(github_double):
    return github_double.state.add_user("octocat", name="Mona Octocat", sign_in=True)


@pytest.mark.django_db
class TestSuccessfulSignIn:
    @pytest.fixture(autouse=True)
    def open_sign_in(self, settings):
        """These tests are about the OAuth flow; who may sign in: tests/security/."""
        settings.SIGNIN_POLICY = "open"

    @pytest.mark.parametrize("layout", LAYOUTS)
    def test_new_person_is_created_signed_in_and_given_a_team(
        self, client, settings, github_double, octocat, layout
    ):
        point_django_at(settings, github_double, layout)

        response = sign_in(client, github_double, layout)

        assert response.status_code == 302
        assert response["Location"] == "/"
        user = get_user_model().objects.get(username="octocat")
        assert user.email == "octocat@example.test"  # primary address from /user/emails
        assert int(client.session["_auth_user_id"]) == user.pk
        social = UserSocialAuth.objects.get(user=user)
        assert social.provider == BACKEND[layout]
        assert social.uid == str(octocat.id)
        assert social.extra_data["login"] == "octocat"
        membership = Membership.objects.get(user=user)
        assert membership.role == Membership.Role.ADMIN
        # The token is kept only encrypted; social-auth's clear-text copy is removed.
        (issued,) = github_double.state.tokens
        assert "access_token" not in social.extra_data
        credential = GitHubCredential.objects.get(user=user, provider=BACKEND[layout])
        assert credential.login == "octocat" and credential.external_id == octocat.id
        assert issued not in credential.token_encrypted
        assert credential.reveal() == issued
        # The session is a real sign-in: the sign-in page now sends the person onwards.
        assert client.get("/accounts/login/")["Location"] == "/"

    @pytest.mark.parametrize("layout", LAYOUTS)
    def test_app_used_the_issued_token_against_the_layouts_api(
        self, client, settings, github_double, octocat, layout
    ):
        point_django_at(settings, github_double, layout)
        sign_in(client, github_double, layout)

        api_host = "api" if layout == "github" else "ghes"
        calls = [(r.method, r.path) for r in github_double.state.requests if r.host == api_host]
        assert ("GET", "/user") in calls
        assert ("GET", "/user/emails") in calls
        token_requests = [r for r in github_double.state.requests
                          if r.path == "/login/oauth/access_token"]
        assert len(token_requests) == 1 and token_requests[0].method == "POST"
        issued = set(github_double.state.tokens)
        used = {r.headers.get("Authorization", "").split(" ", 1)[-1]
                for r in github_double.state.requests if r.path.startswith("/user")}
        assert used == issued and len(issued) == 1

    def test_signing_in_twice_reuses_the_account_and_team(
        self, client, settings, github_double, octocat
    ):
        point_django_at(settings, github_double, "github")
        sign_in(client, github_double, "github")
        client.logout()
        sign_in(client, github_double, "github")

        assert get_user_model().objects.filter(username="octocat").count() == 1
        assert Membership.objects.filter(user__username="octocat").count() == 1


@pytest.mark.django_db
class TestFailedSignIn:
    """Every failure ends on the sign-in page with a sentence a person can act on."""

    @pytest.fixture(autouse=True)
    def existing_install(self, alice):
        """An install that already has an account, so the sign-in page is the landing page."""
        return alice

    @pytest.mark.parametrize("layout", LAYOUTS)
    def test_refused_consent(self, client, settings, github_double, octocat, layout):
        point_django_at(settings, github_double, layout)
        github_double.state.consent = "deny"

        response = sign_in(client, github_double, layout)

        assert response["Location"] == "/accounts/login/"
        assert oauth_errors.CANCELLED in page_after(client, response)
        assert not get_user_model().objects.filter(username="octocat").exists()

    @pytest.mark.parametrize("layout", LAYOUTS)
    def test_tampered_state(self, client, settings, github_double, octocat, layout):
        point_django_at(settings, github_double, layout)
        callback = visit_github(start_sign_in(client, github_double, layout))

        response = land(client, callback, state="forged-state-value")

        assert response["Location"] == "/accounts/login/"
        assert oauth_errors.STATE in page_after(client, response)
        assert not github_double.state.tokens, "no code may be exchanged without a valid state"

    def test_missing_state(self, client, settings, github_double, octocat):
        point_django_at(settings, github_double, "github")
        callback = visit_github(start_sign_in(client, github_double, "github"))

        response = land(client, callback, state=None)

        assert oauth_errors.STATE in page_after(client, response)
        assert not github_double.state.tokens

    def test_callback_replayed_in_another_browser(self, client, settings, github_double,
                                                  octocat, django_user_model):
        from django.test import Client

        point_django_at(settings, github_double, "github")
        callback = visit_github(start_sign_in(client, github_double, "github"))

        other = Client()
        response = land(other, callback)

        assert oauth_errors.STATE in page_after(other, response)
        assert "_auth_user_id" not in other.session

    @pytest.mark.parametrize("layout", LAYOUTS)
    @pytest.mark.parametrize("mode", ["error", "http_error"])
    def test_failing_token_exchange(self, client, settings, github_double, octocat, layout,
                                    mode):
        point_django_at(settings, github_double, layout)
        github_double.state.token_exchange = mode

        response = sign_in(client, github_double, layout)

        assert response["Location"] == "/accounts/login/"
        assert oauth_errors.EXCHANGE_FAILED in page_after(client, response)
        assert "_auth_user_id" not in client.session

    def test_wrong_client_secret_is_a_token_exchange_failure(
        self, client, settings, github_double, octocat
    ):
        point_django_at(settings, github_double, "github")
        settings.SOCIAL_AUTH_GITHUB_SECRET = "not-the-secret"

        response = sign_in(client, github_double, "github")

        assert oauth_errors.EXCHANGE_FAILED in page_after(client, response)

    def test_github_unreachable_at_token_exchange(self, client, settings, github_double,
                                                  octocat, unused_port):
        point_django_at(settings, github_double, "github")
        callback = visit_github(start_sign_in(client, github_double, "github"))
        settings.GITHUB_URL = f"http://127.0.0.1:{unused_port}"

        response = land(client, callback)

        assert response["Location"] == "/accounts/login/"
        assert oauth_errors.EXCHANGE_FAILED in page_after(client, response)

    def test_github_api_unreachable_after_token_exchange(self, client, settings, github_double,
                                                         octocat, unused_port):
        point_django_at(settings, github_double, "github")
        settings.GITHUB_API_URL = f"http://127.0.0.1:{unused_port}"

        response = sign_in(client, github_double, "github")

        assert response["Location"] == "/accounts/login/"
        assert oauth_errors.UNREACHABLE in page_after(client, response)
        assert "_auth_user_id" not in client.session


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
class TestSignInPage:
    @pytest.fixture(autouse=True)
    def existing_install(self, alice):
        return alice

    def _page(self, client) -> str:
        response = client.get("/accounts/login/")
        assert response.status_code == 200
        return response.content.decode()

    def test_no_github_buttons_when_not_configured(self, client, settings):
        settings.SOCIAL_AUTH_GITHUB_KEY = ""
        settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_KEY = ""
        settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_URL = ""
        page = self._page(client)
        assert "Sign in with GitHub" not in page
        assert "/oauth/login/" not in page

    def test_github_button_only(self, client, settings, github_double):
        point_django_at(settings, github_double, "github")
        settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_KEY = ""
        page = self._page(client)
        assert "Sign in with GitHub</button>" in page
        assert 'action="/oauth/login/github/' in page
        assert "Sign in with GitHub Enterprise" not in page

    def test_both_buttons(self, client, settings, github_double):
        point_django_at(settings, github_double, "github")
        point_django_at(settings, github_double, "ghes")
        page = self._page(client)
        assert 'action="/oauth/login/github/' in page
        assert 'action="/oauth/login/github-enterprise/' in page


def test_fresh_install_with_github_configured_offers_github_sign_in(client, db, settings):
    """No accounts yet, but GitHub is configured: the first person can sign in with GitHub,
    and first-run setup of a local administrator is offered beside it."""
    settings.SOCIAL_AUTH_GITHUB_KEY = "client-id"
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Sign in with GitHub" in body
    assert "/accounts/setup/" in body


def test_fresh_install_without_github_goes_to_setup(client, db, settings):
    settings.SOCIAL_AUTH_GITHUB_KEY = ""
    settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_KEY = ""
    response = client.get("/accounts/login/")
    assert response.status_code == 302
    assert response["Location"].endswith("/accounts/setup/")
