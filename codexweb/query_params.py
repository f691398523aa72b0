"""Whole numbers and dates from query strings, read the same way by the API and the pages.

Two ways to read the same value: `query_int`/`query_date` refuse a bad one with a
QueryParamError whose message names the parameter (the API answers 400 with it), while
`optional_int`/`optional_date` fall back to None (a page shows its defaults rather than an error
for a hand-edited link). Only ASCII digits count: `"²".isdigit()` is true but `int("²")` fails.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,18}")
MAX_ID = 2**63 - 1  # the largest primary key PostgreSQL's bigint holds


class QueryParamError(ValueError):
    """A query parameter is not what it must be; the message says which and why, for people."""


def _raw(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name)
    return "" if value is None else str(value).strip()


def query_int(
    params: Mapping[str, Any], name: str, default: int, *, minimum: int, maximum: int
) -> int:
    """`name` as a whole number in [minimum, maximum]; `default` when absent or blank.

    `params`: request.GET / request.POST, or a form's initial data."""
    raw = _raw(params, name)
    if not raw:
        return default
    if not _WHOLE_NUMBER.fullmatch(raw):
        raise QueryParamError(f"{name} must be a whole number, not {raw[:40]!r}.")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise QueryParamError(f"{name} must be between {minimum} and {maximum}.")
    return value


def query_date(params: Mapping[str, Any], name: str) -> date | None:
    """`name` as a YYYY-MM-DD date; None when absent or blank."""
    raw = _raw(params, name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        message = f"{name} must be a date written YYYY-MM-DD, not {raw[:40]!r}."
        raise QueryParamError(message) from exc


def optional_int(
    params: Mapping[str, Any], name: str, *, minimum: int = 1, maximum: int = MAX_ID
) -> int | None:
    """`name` as a whole number in [minimum, maximum] (by default: an id), else None."""
    if not _raw(params, name):
        return None
    try:
        return query_int(params, name, 0, minimum=minimum, maximum=maximum)
    except QueryParamError:
        return None


def optional_date(params: Mapping[str, Any], name: str) -> date | None:
    """`name` as a YYYY-MM-DD date, else None."""
    try:
        return query_date(params, name)
    except QueryParamError:
        return None
