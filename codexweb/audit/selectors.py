"""Reading the audit log, filtered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet

from codexweb.accounts.models import Team
from codexweb.audit.models import AuditEntry
from codexweb.day_range import created_on_days


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    actor_id: int | None = None
    target: str = ""
    since: date | None = None
    until: date | None = None


def audit_entries(team: Team, filters: AuditFilter | None = None) -> QuerySet[AuditEntry]:
    """The team's entries, newest first, narrowed by `filters` (dates are whole local days)."""
    entries = AuditEntry.objects.filter(team=team)
    f = filters or AuditFilter()
    if f.action:
        entries = entries.filter(action=f.action)
    if f.actor_id:
        entries = entries.filter(actor_id=f.actor_id)
    if f.target:
        entries = entries.filter(target__icontains=f.target)
    return created_on_days(entries, f.since, f.until).order_by("-created_at", "-id")
