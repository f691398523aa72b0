"""Audit entries about a repository: the team is the repository's, the target its full name."""

from __future__ import annotations

from django.contrib.auth.models import User

from codexweb.audit.services import audit_record
from repos.models import Repository


def repository_audit(
    repository: Repository, *, actor: User, action: str, changes: dict[str, object], item: str = ""
) -> None:
    """Record a change to `repository` (or to its `item`: a secret, a credential, by name) in
    its team's audit log. `changes` holds names and non-secret values only."""
    target = f"{repository.full_name}: {item}" if item else repository.full_name
    audit_record(team=repository.team, actor=actor, action=action, target=target, changes=changes)
