"""pytest fixtures for the GitHub double (imported by tests/conftest.py).

`github_double` gives each test the running double with fresh, empty state and fails the test at
teardown if any request or response broke GitHub's REST description and the test did not take the
violation with `github_double.state.take_violations()`.

`point_django_at(settings, double, layout)` registers an OAuth app in the double and points the
Django settings for that layout ("github" or "ghes") at it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.github_double import GitHubDouble
from tests.support.github_state import GitHubState, OAuthApp

CLIENT_ID = {"github": "Iv1.double-github", "ghes": "Iv1.double-ghes"}
CLIENT_SECRET = {"github": "github-double-secret", "ghes": "ghes-double-secret"}


@pytest.fixture(scope="session")
def _github_double_server() -> Iterator[GitHubDouble]:
    from tests.support import github_git

    double = GitHubDouble().start()
    github_git.install(double)
    yield double
    double.stop()


@pytest.fixture
def github_double(_github_double_server: GitHubDouble) -> Iterator[GitHubDouble]:
    double = _github_double_server
    double.state = GitHubState()
    yield double
    violations = double.state.take_violations()
    if violations:
        pytest.fail("GitHub double saw requests/responses GitHub would refuse:\n"
                    + "\n".join(violations), pytrace=False)


def point_django_at(settings, double: GitHubDouble, layout: str = "github") -> OAuthApp:
    """Configure `settings` (pytest-django's fixture) so sign-in and the API use the double."""
    app = double.state.add_app(CLIENT_ID[layout], CLIENT_SECRET[layout])
    if layout == "github":
        settings.GITHUB_URL = double.web_url
        settings.GITHUB_API_URL = double.api_url
        settings.SOCIAL_AUTH_GITHUB_KEY = app.client_id
        settings.SOCIAL_AUTH_GITHUB_SECRET = app.client_secret
    elif layout == "ghes":
        settings.GHES_URL = double.ghes_url
        settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_URL = double.ghes_url + "/"
        settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_API_URL = double.ghes_api_url + "/"
        settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_KEY = app.client_id
        settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_SECRET = app.client_secret
    else:
        raise ValueError(f"unknown layout {layout!r}")
    return app
