"""Narrowing a queryset by a search's filled-in fields: the task search (sidebar, history page,
API) and the audit log build their queries the same way."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.utils import timezone

M = TypeVar("M", bound=Model)


def filter_given(rows: QuerySet[M], **lookups: Any) -> QuerySet[M]:
    """`rows` filtered by each lookup whose value is given: an empty string, None or 0 means
    "any" (a search's unset field)."""
    return rows.filter(**{lookup: value for lookup, value in lookups.items() if value})


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
