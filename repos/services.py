"""Writes for repositories and their environments."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import urlparse

from django.db import transaction

from codexweb.accounts.models import Team
from repos.models import Environment, Repository

_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
ALLOWED_URL_SCHEMES = {"https", "http", "ssh", "git", "file"}


class RepositoryError(ValueError):
    """The repository cannot be registered; the message says why, for the person."""


def parse_git_location(location: str) -> tuple[str, str]:
    """(owner, name) from a git URL or a local path; raises RepositoryError when unusable."""
    location = location.strip()
    if not location:
        raise RepositoryError("Enter a git URL or a path on the server.")
    if location.startswith("-"):
        raise RepositoryError("A repository location cannot start with '-'.")
    scp_like = re.match(r"^[\w.-]+@[\w.-]+:(?P<path>.+)$", location)
    if scp_like:
        path = scp_like.group("path")
    elif "://" in location:
        parsed = urlparse(location)
        if parsed.scheme not in ALLOWED_URL_SCHEMES:
            raise RepositoryError(f"Unsupported URL scheme {parsed.scheme!r}.")
        if parsed.password:
            raise RepositoryError(
                "Do not put credentials in the URL; GitHub access uses your sign-in token."
            )
        path = parsed.path
    elif location.startswith("/"):
        path = location
    else:
        raise RepositoryError(
            "Use a full URL (https://…, ssh://…, git@host:…) or an absolute path."
        )
    parts = [p for p in path.rstrip("/").split("/") if p]
    if not parts:
        raise RepositoryError("The location names no repository.")
    name = parts[-1].removesuffix(".git")
    owner = parts[-2] if len(parts) > 1 else "local"
    for part in (owner, name):
        if not _NAME_RE.match(part):
            raise RepositoryError(f"{part!r} is not a usable repository or owner name.")
    return owner, name


def local_repository_default_branch(path: str) -> str | None:
    """The checked-out branch (HEAD) of a local repository, or None if it is not one."""
    try:
        result = subprocess.run(
            ["git", "-C", path, "symbolic-ref", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            env={"GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent", "PATH": "/usr/bin:/bin"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


@transaction.atomic
def repository_register(
    *, team: Team, location: str, default_branch: str = "", visibility: str = "private"
) -> Repository:
    """Register a repository from a plain git URL or a local path, with a default environment."""
    owner, name = parse_git_location(location)
    location = location.strip()
    if location.startswith("/"):
        if not Path(location).exists():
            raise RepositoryError(f"No such path on the server: {location}")
        detected = local_repository_default_branch(location)
        if detected is None:
            raise RepositoryError(f"{location} is not a git repository.")
        default_branch = default_branch.strip() or detected
    existing = Repository.objects.filter(
        team=team, provider=Repository.Provider.GIT, owner=owner, name=name
    ).first()
    if existing is not None and existing.disconnected_at is None:
        raise RepositoryError(f"{owner}/{name} is already registered for this team.")
    if existing is not None:  # registered before and disconnected: bring it back, history intact
        existing.clone_url = location
        existing.default_branch = default_branch.strip() or existing.default_branch
        existing.visibility = visibility
        existing.disconnected_at = None
        existing.save()
        return existing
    repository = Repository.objects.create(
        team=team,
        provider=Repository.Provider.GIT,
        owner=owner,
        name=name,
        default_branch=default_branch.strip() or "main",
        visibility=visibility,
        clone_url=location,
    )
    Environment.objects.create(repository=repository)
    return repository
