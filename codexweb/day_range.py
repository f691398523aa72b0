"""Filtering rows by the local days they were created on (history, audit log, API)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TypeVar

from django.db.models import Model, QuerySet
from django.utils import timezone

M = TypeVar("M", bound=Model)


def day_start(day: date) -> datetime:
    """Midnight at the start of `day`, in the current time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def created_on_days(rows: QuerySet[M], since: date | None, until: date | None) -> QuerySet[M]:
    """Rows whose `created_at` falls on a local day from `since` to `until`, both included;
    a missing end does not bound. Both ends are plain comparisons the (…, -created_at) indexes
    serve."""
    if since:
        rows = rows.filter(created_at__gte=day_start(since))
    if until:
        rows = rows.filter(created_at__lt=day_start(until + timedelta(days=1)))
    return rows
