"""What we keep about people's GitHub connections: tokens and the repositories they can reach.

Imported by repos/models.py so Django sees these models in the `repos` app.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.db import models

from codexweb import crypto


class Provider(models.TextChoices):
    GITHUB = "github", "GitHub"
    GHES = "github-enterprise", "GitHub Enterprise"


class GitHubCredential(crypto.Sealed, models.Model):
    """A person's OAuth token for github.com or the GHES host, encrypted at rest.

    `invalid_at` is set when GitHub answered 401 with it: the person must sign in again.
    The repository sync keeps its per-page ETags in `sync_pages` for conditional requests.
    The token is revealed only for a call to GitHub from the host.
    """

    sealed_field = "token_encrypted"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="github_credentials"
    )
    provider = models.CharField(max_length=20, choices=Provider.choices)
    login = models.CharField(max_length=100)
    external_id = models.BigIntegerField()
    token_encrypted = models.TextField()
    scopes = models.CharField(max_length=500, blank=True, default="")
    invalid_at = models.DateTimeField(null=True, blank=True)
    # A GitHub App's user token expires (`expires_at`, 8 hours on GitHub) and is renewed with its
    # refresh token (encrypted too, used once, valid until `refresh_expires_at`) before use
    # (repos/github/token_refresh.py). An OAuth app's token has neither.
    expires_at = models.DateTimeField(null=True, blank=True)
    refresh_encrypted = models.TextField(blank=True, default="")
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    sync_pages = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    # Set when a sync is enqueued; a sync is under way while it is later than `synced_at`.
    sync_requested_at = models.DateTimeField(null=True, blank=True)
    sync_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "provider"], name="github_credential_unique")
        ]

    def __str__(self) -> str:
        return f"{self.login} on {self.get_provider_display()}"

    @property
    def noreply_email(self) -> str:
        host = "users.noreply.github.com"
        ghes_host = urlsplit(settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_URL or "").hostname
        if self.provider == Provider.GHES and ghes_host:
            host = f"users.noreply.{ghes_host}"
        return f"{self.external_id}+{self.login}@{host}"


class GitHubRepositoryAccess(models.Model):
    """A repository a person can reach on GitHub, as GitHub last said (the picker's catalog)."""

    credential = models.ForeignKey(
        GitHubCredential, on_delete=models.CASCADE, related_name="repositories"
    )
    external_id = models.BigIntegerField()
    owner = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    private = models.BooleanField(default=True)
    visibility = models.CharField(max_length=10, default="private")
    default_branch = models.CharField(max_length=255, default="main")
    archived = models.BooleanField(default=False)
    can_push = models.BooleanField(default=False)
    can_admin = models.BooleanField(default=False)
    pushed_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField()

    class Meta:
        ordering = ["owner", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["credential", "external_id"], name="github_access_unique_repo"
            )
        ]
        indexes = [
            models.Index(fields=["credential", "owner", "name"]),
            models.Index(fields=["credential", "pushed_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class ConnectedOrganization(models.Model):
    """A team admin's choice "connect every repository of this GitHub owner".

    The repositories of `owner` in the catalog of any admin of `team` are connected when the
    choice is made and again after each sync of such a catalog, so new ones arrive by themselves.
    """

    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, related_name="github_organizations"
    )
    provider = models.CharField(max_length=20, choices=Provider.choices)
    owner = models.CharField(max_length=100)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["owner"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "provider", "owner"], name="connected_organization_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.owner} on {self.get_provider_display()}"

