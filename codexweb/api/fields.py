"""Building blocks of the API's representations (representations.py and the per-area views):
a row's attributes under their own names, timestamps as ISO 8601, and what a person queued for
a running attempt (a message, an egress approval)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User


def iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def fields_of(row: Any, *names: str) -> dict[str, Any]:
    """The attributes `names` of `row` under their own names."""
    return {name: getattr(row, name) for name in names}


def times_of(row: Any, *names: str) -> dict[str, str | None]:
    """The timestamps `names` of `row` as ISO 8601 (None where unset)."""
    return {name: iso(getattr(row, name)) for name in names}


def queued_for_attempt(row: Any, *, by: User, taken_as: str) -> dict[str, Any]:
    """A person's request to a running attempt's worker (`row` has `attempt_id`, `created_at`
    and `taken_at`): who sent it, when, and when the worker took it (`taken_as`; null: not
    yet)."""
    return {
        "id": row.pk,
        "attempt": row.attempt_id,
        "by": by.get_username(),
        "created_at": iso(row.created_at),
        taken_as: iso(row.taken_at),
    }
