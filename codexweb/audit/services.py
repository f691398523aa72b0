"""Writing to the audit log. Every membership, role, environment, policy and secret change, every
PR created and every task cancelled goes through `audit_record`."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from codexweb.accounts.models import Team
from codexweb.audit.models import AuditEntry

# Keys that would carry a secret's value; refusing them keeps a careless caller from leaking one.
FORBIDDEN_KEYS = frozenset({"value", "secret", "secret_value", "password", "token"})


class AuditError(ValueError):
    """An audit record was refused (it would have stored a secret value)."""


def _check(changes: Any, path: str = "changes") -> None:
    if isinstance(changes, dict):
        for key, item in changes.items():
            if str(key).lower() in FORBIDDEN_KEYS:
                raise AuditError(f"{path}.{key}: the audit log records names, never secret values")
            _check(item, f"{path}.{key}")
    elif isinstance(changes, list):
        for item in changes:
            _check(item, path)


def audit_record(
    *,
    team: Team,
    actor: User | AnonymousUser | None,
    action: str,
    target: str = "",
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. `changes` holds names and non-secret values only (AuditError otherwise).

    Call it inside the transaction of the change it records, so both commit or neither does.
    """
    changes = changes or {}
    _check(changes)
    real_actor = actor if actor is not None and actor.is_authenticated else None
    return AuditEntry.objects.create(
        team=team,
        actor=real_actor,
        actor_name=real_actor.get_username() if real_actor is not None else "",
        action=action,
        target=target[:300],
        changes=changes,
    )
