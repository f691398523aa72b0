"""Keyset ("seek") pagination over (created_at, id), newest first.

Why not OFFSET: `OFFSET 4950` makes the database read and throw away 4,950 rows, so deep pages get
slower with every task, and the page count needs a COUNT(*) of every matching row. A cursor — the
(created_at, id) of the row at a page's edge — lets the database seek straight to the page through
the (team, …, -created_at) indexes, and no count is needed: the page only says whether there is
something newer or older. `id` breaks ties, so rows sharing a timestamp are neither repeated nor
skipped between pages.

Works for any queryset of a model with `created_at` and `id`, on PostgreSQL and SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from django.db.models import Model, Q, QuerySet

M = TypeVar("M", bound=Model)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Cursor:
    """A row's position in the (created_at, id) order; in a URL as `<microseconds>_<id>`."""

    created_at: datetime
    pk: int

    @classmethod
    def of(cls, row: Any) -> Cursor:
        return cls(row.created_at, row.pk)

    def encode(self) -> str:
        return f"{(self.created_at - _EPOCH) // _MICROSECOND}_{self.pk}"

    @classmethod
    def decode(cls, raw: str | None) -> Cursor | None:
        """The cursor in `raw`, or None when it is missing or not one (a mangled link)."""
        micros, sep, pk = (raw or "").strip().partition("_")
        if not sep or not pk.isdigit() or not micros.lstrip("-").isdigit():
            return None
        try:
            return cls(_EPOCH + int(micros) * _MICROSECOND, int(pk))
        except OverflowError:
            return None


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    """One page, newest first; `newer`/`older` are the cursors for the links (None: no link)."""

    rows: list[M]
    newer: Cursor | None
    older: Cursor | None


def _older_than(cursor: Cursor) -> Q:
    # The plain `created_at <= …` lets the database bound its index scan; the OR breaks ties.
    return Q(created_at__lte=cursor.created_at) & (
        Q(created_at__lt=cursor.created_at) | Q(pk__lt=cursor.pk)
    )


def _newer_than(cursor: Cursor) -> Q:
    return Q(created_at__gte=cursor.created_at) & (
        Q(created_at__gt=cursor.created_at) | Q(pk__gt=cursor.pk)
    )


def page_older_than(rows: QuerySet[M], cursor: Cursor | None, size: int) -> KeysetPage[M]:
    """The `size` newest rows strictly older than `cursor` (the first page when None)."""
    newest_first = rows.order_by("-created_at", "-pk")
    if cursor is not None:
        newest_first = newest_first.filter(_older_than(cursor))
    found = list(newest_first[: size + 1])
    page = found[:size]
    older = Cursor.of(page[-1]) if len(found) > size else None
    newer = None
    if cursor is not None:
        # A bookmarked cursor may point past the end: then link to what is newer than it.
        edge = Cursor.of(page[0]) if page else cursor
        newer = edge if rows.filter(_newer_than(edge)).exists() else None
    return KeysetPage(page, newer=newer, older=older)


def page_newer_than(rows: QuerySet[M], cursor: Cursor, size: int) -> KeysetPage[M]:
    """The `size` rows just newer than `cursor`, newest first.

    Near the top there may be fewer than `size` of them: then the first page is shown instead, so
    the newest page is always a whole one and looks the same however it was reached.
    """
    oldest_first = rows.filter(_newer_than(cursor)).order_by("created_at", "pk")
    found = list(oldest_first[: size + 1])
    if len(found) <= size:
        return page_older_than(rows, None, size)
    page = found[:size][::-1]
    older = Cursor.of(page[-1])
    return KeysetPage(page, newer=Cursor.of(page[0]), older=older)


def cursor_before_offset(rows: QuerySet[M], offset: int) -> Cursor | None:
    """The cursor that starts a page at `offset` (old `?page=N` links); None past the end.

    Reads only (created_at, id) of the row just before, once, for the redirect.
    """
    if offset <= 0:
        return None
    edge = rows.order_by("-created_at", "-pk").values_list("created_at", "pk")[offset - 1 : offset]
    found = list(edge)
    return Cursor(*found[0]) if found else None
