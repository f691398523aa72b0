"""Writes for repositories and their environments."""

from __future__ import annotations

import re

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from codexweb.accounts.models import Team
from codexweb.audit import actions as audit_actions
from codexweb.audit.services import audit_record
from repos.git.locations import (
    LocalSource,
    LocationError,
    check_location,
    rules_from_settings,
)
from repos.git.locations import parse_git_location as _parse
from repos.git.mirror import GitError, run_git
from repos.models import Environment, Repository


class RepositoryError(ValueError):
    """The repository cannot be registered; the message says why, for the person."""


def parse_git_location(location: str) -> tuple[str, str]:
    """(owner, name) from a git URL or a local path; raises RepositoryError when unusable.
    Syntax only: whether the operator's rules allow the location is `repository_register`'s."""
    try:
        return _parse(location)
    except LocationError as exc:
        raise RepositoryError(str(exc)) from exc


def _without_userinfo(location: str) -> str:
    """`location` fit for the audit log: a refused URL may carry a password."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/]*@", r"\1***@", location)


def local_repository_default_branch(path: str) -> str | None:
    """The checked-out branch (HEAD) of a local repository, or None if it is not one."""
    try:
        output = run_git(["-C", path, "symbolic-ref", "--short", "HEAD"], timeout=10)
    except (GitError, OSError):
        return None
    return output.strip() or None


def repository_register(
    *, team: Team, location: str, default_branch: str = "", visibility: str = "private",
    actor: User | AnonymousUser | None = None,
) -> Repository:
    """Register a repository from a plain git URL or a server path, with a default environment.

    The location must pass the operator's rules (repos/git/locations.py). Every registration, and
    every refusal, is written to the team's audit log. Raises RepositoryError saying why not.
    """
    location = location.strip()
    try:
        owner, name = _parse(location)
        source = check_location(location, rules_from_settings())
    except LocationError as exc:
        repository_registration_refused(team=team, actor=actor, location=location,
                                        reason=str(exc))
        raise RepositoryError(str(exc)) from exc
    if isinstance(source, LocalSource):
        detected = local_repository_default_branch(str(source.path))
        default_branch = default_branch.strip() or detected or ""
    return _repository_save(team=team, actor=actor, owner=owner, name=name, location=location,
                            default_branch=default_branch.strip(), visibility=visibility)


def repository_registration_refused(*, team: Team, actor: User | AnonymousUser | None,
                                    location: str, reason: str) -> None:
    """Log a refused registration (an admin probing the server's files or network shows up)."""
    audit_record(team=team, actor=actor, action=audit_actions.REPOSITORY_REGISTRATION_REFUSED,
                 target=_without_userinfo(location.strip()), changes={"reason": reason})


@transaction.atomic
def _repository_save(*, team: Team, actor: User | AnonymousUser | None, owner: str, name: str,
                     location: str, default_branch: str, visibility: str) -> Repository:
    existing = Repository.objects.select_for_update().filter(
        team=team, provider=Repository.Provider.GIT, owner=owner, name=name
    ).first()
    if existing is not None and existing.disconnected_at is None:
        raise RepositoryError(f"{owner}/{name} is already registered for this team.")
    if existing is not None:  # registered before and disconnected: bring it back, history intact
        existing.clone_url = location
        existing.default_branch = default_branch or existing.default_branch
        existing.visibility = visibility
        existing.disconnected_at = None
        existing.save()
        repository = existing
    else:
        repository = Repository.objects.create(
            team=team,
            provider=Repository.Provider.GIT,
            owner=owner,
            name=name,
            default_branch=default_branch or "main",
            visibility=visibility,
            clone_url=location,
        )
        Environment.objects.create(repository=repository)
    audit_record(team=team, actor=actor, action=audit_actions.REPOSITORY_REGISTERED,
                 target=repository.full_name,
                 changes={"location": location, "visibility": visibility,
                          "again": existing is not None})
    return repository
