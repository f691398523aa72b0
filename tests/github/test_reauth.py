"""An expired or revoked GitHub token leads to a clear "sign in again", never a crash."""

from __future__ import annotations

import pytest

from repos.github.models import GitHubCredential
from tests.support.github_fixtures import point_django_at
from tests.support.oauth_flow import sign_in


@pytest.mark.django_db
@pytest.mark.urls("tests.github.reauth_urls")
def test_revoked_token_signs_out_and_sign_in_again_repairs_it(client, settings, github_double,
                                                             alice):
    settings.SIGNIN_POLICY = "open"  # octocat is new to alice's install
    github_double.state.add_user("octocat", sign_in=True)
    point_django_at(settings, github_double, "github")
    sign_in(client, github_double, "github")
    assert client.get("/test-github-whoami/").json()["login"] == "octocat"
    github_double.state.revoke_tokens("octocat")

    response = client.get("/test-github-whoami/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/test-github-whoami/"
    page = client.get(response["Location"]).content.decode()
    assert "Your GitHub sign-in has expired or was revoked. Sign in again with GitHub" in page
    assert "Sign in with GitHub</button>" in page
    credential = GitHubCredential.objects.get(user__username="octocat")
    assert credential.invalid_at is not None

    sign_in(client, github_double, "github")

    credential.refresh_from_db()
    assert credential.invalid_at is None
    assert client.get("/test-github-whoami/").json()["login"] == "octocat"
