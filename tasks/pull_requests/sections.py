"""Parts of a pull request body beyond the summary: warnings, review flags, changes by file.

Django-free. The warnings come from the "summary" event's verdict on the final answer
(tasks/agent/citations.py): citations that point at nothing, and claims the agent did not back
with a run (e.g. "tests pass" with no cited passing run). A PR carrying any of them is opened as
a draft unless the person overrides it (`pull_request_reserve` in tasks/pull_requests/services.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tasks.pull_requests.review_flags import FileChange, ReviewFlag

CHANGES_LIMIT = 100  # files listed in the body; the rest are counted


def summary_warnings(payload: Mapping[str, Any] | None) -> list[str]:
    """Sentences for the person reviewing the PR, from a summary event's payload."""
    if not payload:
        return []
    invalid = [c for c in payload.get("citations", []) or []
               if isinstance(c, Mapping) and not c.get("valid", True)]
    warnings: list[str] = []
    if invalid:
        shown = "; ".join(f"`{c.get('raw', '?')}` ({c.get('reason') or 'not found'})"
                          for c in invalid[:5])
        more = f" and {len(invalid) - 5} more" if len(invalid) > 5 else ""
        noun = "citation points" if len(invalid) == 1 else "citations point"
        warnings.append(f"{len(invalid)} {noun} at nothing that exists: {shown}{more}.")
    warnings += [str(flag) for flag in payload.get("flags", []) or [] if str(flag).strip()]
    return warnings


def _quote(lines: Sequence[str]) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in lines)


def warning_notice(warnings: Sequence[str], *, draft: bool) -> str:
    """A GitHub "warning" alert listing what the checks found ("" when nothing)."""
    if not warnings:
        return ""
    why = ("so this pull request was opened as a draft." if draft else
           "and the person who opened this pull request marked it ready for review anyway.")
    return _quote(["[!WARNING]",
                   f"**Check before merging:** the automatic checks of the agent's answer "
                   f"found problems, {why}", "", *[f"- {w}" for w in warnings]])


def flags_notice(flags: Sequence[ReviewFlag]) -> str:
    """A GitHub "caution" alert naming the changes a reviewer must not miss ("" when none)."""
    if not flags:
        return ""
    lines = ["[!CAUTION]", "**Review these changes closely:**", ""]
    lines += [f"- `{flag.path}`: {flag.message}" for flag in flags]
    return _quote(lines)


def changes_section(changes: Sequence[FileChange], heading: str = "## Changes by file") -> str:
    """`heading`, then one line per file with its status and line counts ("" when none)."""
    if not changes:
        return ""
    rows = []
    for change in changes[:CHANGES_LIMIT]:
        label = change.status
        if change.status == "renamed" and change.old_path != change.path:
            label = f"renamed from `{change.old_path}`"
        counts = "" if change.status in {"binary", "mode"} else \
            f", +{change.added} −{change.removed}"
        rows.append(f"- `{change.path}` ({label}{counts})")
    if len(changes) > CHANGES_LIMIT:
        rows.append(f"- … and {len(changes) - CHANGES_LIMIT} more files")
    return f"{heading}\n\n" + "\n".join(rows)
