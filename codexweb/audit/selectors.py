"""Reading the audit log, filtered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from codexweb.accounts.models import Team
from codexweb.audit.models import AuditEntry


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    actor_id: int | None = None
    target: str = ""
    since: date | None = None
    until: date | None = None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


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
    if f.since:
        entries = entries.filter(created_at__gte=_day_start(f.since))
    if f.until:
        entries = entries.filter(created_at__lt=_day_start(f.until + timedelta(days=1)))
    return entries.order_by("-created_at", "-id")
