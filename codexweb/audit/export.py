"""Audit log exports: CSV and JSON Lines, streamed row by row."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from codexweb.audit.models import AuditEntry

COLUMNS = ["id", "created_at", "actor", "action", "target", "changes"]


def entry_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "created_at": entry.created_at.isoformat(),
        "actor": entry.actor_name,
        "action": entry.action,
        "target": entry.target,
        "changes": entry.changes,
    }


def csv_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
        return text

    writer.writerow(COLUMNS)
    yield flush()
    for entry in entries:
        row = entry_dict(entry)
        row["changes"] = json.dumps(row["changes"], sort_keys=True)
        # Defuse spreadsheet formulas in free text (CSV injection).
        writer.writerow(
            [f"'{v}" if isinstance(v, str) and v[:1] in "=+-@" else v for v in row.values()]
        )
        yield flush()


def jsonl_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    for entry in entries:
        yield json.dumps(entry_dict(entry), sort_keys=True) + "\n"
