"""Teams share repositories and task history; a membership gives a person a role in one."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from codexweb.constraints import unique_per


class Team(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    # Team-wide instructions for the agent, placed below the repository's AGENTS.md files.
    instructions = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [unique_per("team", "user", name="membership_unique_team_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class Invite(models.Model):
    """An invitation to join a team. The link's token is stored only as its sha256.

    A `github` or `email` invite may be accepted only by the person it names; a `link` invite by
    whoever holds the link. Each invite is accepted at most once and expires at `expires_at`.
    """

    class Kind(models.TextChoices):
        GITHUB = "github", "GitHub login"
        EMAIL = "email", "E-mail"
        LINK = "link", "One-time link"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invites")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The GitHub login or e-mail address for github/email invites; empty for link invites.
    invitee = models.CharField(max_length=254, blank=True, default="")
    role = models.CharField(
        max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["team", "accepted_at", "revoked_at"])]

    def __str__(self) -> str:
        return f"invite to {self.team} ({self.get_kind_display()} {self.invitee})".strip()


class DomainList(models.Model):
    """A team's named list of domains (wildcards allowed) that environments can allow at once."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="domain_lists")
    name = models.CharField(max_length=100)
    domains = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [unique_per("team", "name", name="domainlist_unique_name")]

    def __str__(self) -> str:
        return self.name
