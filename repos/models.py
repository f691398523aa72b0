"""Repositories a team works on, and each repository's sandbox environment."""

from __future__ import annotations

from django.db import models

from codexweb import crypto
from codexweb.accounts.models import Team


class Repository(models.Model):
    class Provider(models.TextChoices):
        GITHUB = "github", "GitHub"
        GHES = "github-enterprise", "GitHub Enterprise"
        GIT = "git", "Git URL or local path"

    class Visibility(models.TextChoices):
        PUBLIC = "public"
        PRIVATE = "private"
        INTERNAL = "internal"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="repositories")
    provider = models.CharField(max_length=20, choices=Provider.choices)
    owner = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    default_branch = models.CharField(max_length=255, default="main")
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    clone_url = models.CharField(max_length=1000)
    external_id = models.BigIntegerField(null=True, blank=True)
    # Disconnected repositories leave the picker and lists but keep their task history;
    # connecting them again brings them back as they were.
    disconnected_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["owner", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "provider", "owner", "name"], name="repository_unique_per_team"
            )
        ]
        indexes = [models.Index(fields=["team", "owner", "name"])]
        verbose_name_plural = "repositories"

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def is_on_github(self) -> bool:
        return self.provider in {self.Provider.GITHUB, self.Provider.GHES}


class InternetPolicy(models.TextChoices):
    OFF = "off", "Off (no network)"
    ALLOWLIST = "allowlist"
    ON = "on", "On (unrestricted)"


class SandboxImage(models.TextChoices):
    UNIVERSAL = "universal"
    SLIM = "slim"
    CUSTOM = "custom", "Custom image"


def default_methods() -> list[str]:
    return ["GET", "HEAD", "OPTIONS"]


class Environment(models.Model):
    """How an attempt's container is prepared and what it may reach."""

    repository = models.OneToOneField(
        Repository, on_delete=models.CASCADE, related_name="environment"
    )
    # Which sandbox image attempts start from (tasks/worker/sandbox_settings.image_for); a
    # custom one must be among the installation's SANDBOX_ALLOWED_IMAGES.
    image = models.CharField(
        max_length=10, choices=SandboxImage.choices, default=SandboxImage.UNIVERSAL
    )
    custom_image = models.CharField(max_length=255, blank=True, default="")
    setup_script = models.TextField(blank=True, default="")
    # Runs instead of the setup script when an attempt starts from the warm (cached) image.
    maintenance_script = models.TextField(blank=True, default="")
    variables = models.JSONField(default=dict, blank=True)
    # Absolute folders prepended to PATH for setup, maintenance and agent commands.
    path_prefix = models.JSONField(default=list, blank=True)
    internet_policy = models.CharField(
        max_length=10, choices=InternetPolicy.choices, default=InternetPolicy.OFF
    )
    allowed_domains = models.JSONField(default=list, blank=True)
    allowed_methods = models.JSONField(default=default_methods, blank=True)
    setup_internet_policy = models.CharField(
        max_length=10, choices=InternetPolicy.choices, default=InternetPolicy.ON
    )
    cache_ttl_hours = models.PositiveIntegerField(default=12)
    # The team's named domain lists allowed in the agent phase (with `allowed_domains`).
    domain_lists = models.ManyToManyField(
        "accounts.DomainList", blank=True, related_name="environments"
    )
    # The setup phase's allowlist, used when setup_internet_policy is "allowlist".
    setup_allowed_domains = models.JSONField(default=list, blank=True)
    setup_domain_lists = models.ManyToManyField(
        "accounts.DomainList", blank=True, related_name="setup_environments"
    )
    # Bumped by "reset cache": the sandbox's cache key includes it, so old caches go unused.
    cache_generation = models.PositiveIntegerField(default=0)
    cache_reset_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"environment of {self.repository}"


class EnvironmentSecret(crypto.Sealed, models.Model):
    """A secret visible only during setup. Stored encrypted; never shown again after saving;
    revealed for the setup phase only."""

    sealed_field = "value_encrypted"

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="secrets")
    name = models.CharField(max_length=100)
    value_encrypted = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "name"], name="secret_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


# GitHub connections live in their own module; imported here so the app registry sees them.
from repos.credentials.models import EnvironmentCredential  # noqa: E402,F401
from repos.github.models import (  # noqa: E402,F401
    ConnectedOrganization,
    GitHubCredential,
    GitHubRepositoryAccess,
)
from repos.installation.models import Installation  # noqa: E402,F401
from repos.setup_runs.models import SetupRun  # noqa: E402,F401
