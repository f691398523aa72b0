"""Handing the worker what people queued for a running attempt, each row once.

Steering messages (tasks/steering/) and egress approvals (tasks/approvals/) wait in the
database until the worker's next turn or round takes them. Taking is one transaction that
locks the waiting rows and stamps `taken_at`, so two workers (or a retried round) never both
get the same row.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import models, transaction
from django.utils import timezone

Row = TypeVar("Row", bound=models.Model)


def take_queued(model: type[Row], *, attempt_id: int, with_person: str) -> list[Row]:
    """The rows of `model` for the attempt not taken yet, oldest first, now marked taken.
    `with_person`: the relation to the person who queued each (fetched with it)."""
    with transaction.atomic():
        waiting = list(
            model._default_manager.select_for_update(of=("self",))
            .filter(attempt_id=attempt_id, taken_at__isnull=True)
            .select_related(with_person)
            .order_by("id")
        )
        if waiting:
            model._default_manager.filter(pk__in=[row.pk for row in waiting]).update(
                taken_at=timezone.now()
            )
    return waiting
