"""Reading the audit log, filtered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet

from codexweb.accounts.models import Team
from codexweb.audit.models import AuditEntry
from codexweb.query_filters import created_on_days, filter_given


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    actor_id: int | None = None
    target: str = ""
    since: date | None = None
    until: date | None = None


def audit_entries(team: Team, filters: AuditFilter | None = None) -> QuerySet[AuditEntry]:
    """The team's entries, newest first, narrowed by `filters` (dates are whole local days)."""
    f = filters or AuditFilter()
    entries = filter_given(
        AuditEntry.objects.filter(team=team),
        action=f.action,
        actor_id=f.actor_id,
        target__icontains=f.target,
    )
    return created_on_days(entries, f.since, f.until).order_by("-created_at", "-id")
