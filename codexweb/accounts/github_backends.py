"""GitHub and GitHub Enterprise Server OAuth backends whose URLs come from settings.

social-core's GitHub backend hard-codes github.com; reading the URLs from settings lets a
deployment sit behind a proxy and lets the tests point sign-in at a GitHub stand-in.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from social_core.backends.github import GithubOAuth2
from social_core.backends.github_enterprise import GithubEnterpriseOAuth2

from codexweb import host_trust


class _HostTrust:
    """Sign-in's calls to GitHub trust the host's certificate store (codexweb/host_trust.py), as
    git and the REST client do: a GHES behind a company CA signs people in."""

    def setting(self, name: str, default: Any = None) -> Any:
        if name == "VERIFY_SSL":
            return host_trust.ca_bundle()
        return super().setting(name, default)  # type: ignore[misc]


class GitHubOAuth2(_HostTrust, GithubOAuth2):
    """github.com: https://docs.github.com/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps"""

    def authorization_url(self) -> str:
        return f"{settings.GITHUB_URL}/login/oauth/authorize"

    def access_token_url(self) -> str:
        return f"{settings.GITHUB_URL}/login/oauth/access_token"

    def api_url(self) -> str:
        return settings.GITHUB_API_URL + "/"


class GitHubEnterpriseOAuth2(_HostTrust, GithubEnterpriseOAuth2):
    """GitHub Enterprise Server: the same flow under https://HOST/ with the API at /api/v3."""
