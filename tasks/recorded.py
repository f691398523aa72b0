"""Readers of what the worker recorded for an attempt: its terminal chunks and the citation
verdicts of its summary. The page and the pull request read these; nothing here re-checks.

A chunk is one shell command's output; citations `【T:id†L3-L9】` count lines of its text. The
worker records a chunk as a "command" event, "output" events and a "command_end" event; this
module folds them back into the agent's own `TerminalChunk`, so every reader sees the text (and
the line numbers) the agent was shown. The worker checks each citation once, when the attempt
finishes (tasks/agent/citations.py), and stores the verdicts in the "summary" event.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tasks import event_kinds
from tasks.agent.records import Citation, TerminalChunk

if TYPE_CHECKING:
    from tasks.models import Attempt

MAX_CONTINUED = 50  # follow-ups of follow-ups looked through (a task holds far fewer attempts)
CHUNK_KINDS = (event_kinds.COMMAND, event_kinds.OUTPUT, event_kinds.COMMAND_END)


def chunks_from_events(events: Iterable[tuple[str, Any]]) -> dict[str, TerminalChunk]:
    """Chunks by id, in the order their commands ran, from (kind, payload) pairs in seq order.

    Pure. Other kinds and malformed payloads are skipped; output without a command event still
    makes a chunk (with an empty command), so no recorded text is lost.
    """
    chunks: dict[str, TerminalChunk] = {}
    texts: dict[str, list[str]] = {}
    for kind, payload in events:
        if kind not in CHUNK_KINDS or not isinstance(payload, Mapping):
            continue
        chunk_id = str(payload.get("chunk_id", ""))
        chunk = chunks.setdefault(chunk_id, TerminalChunk(chunk_id, command="", cwd=""))
        if kind == event_kinds.COMMAND:
            chunk.command = str(payload.get("command", ""))
            chunk.cwd = str(payload.get("cwd", ""))
        elif kind == event_kinds.OUTPUT:
            texts.setdefault(chunk_id, []).append(str(payload.get("text", "")))
        else:
            exit_code = payload.get("exit_code")
            chunk.exit_code = exit_code if isinstance(exit_code, int) else None
            chunk.timed_out = bool(payload.get("timed_out"))
    for chunk_id, parts in texts.items():
        chunks[chunk_id].output = "".join(parts)
    return chunks


def attempt_chunks(
    attempt: Attempt, chunk_ids: Collection[str] | None = None
) -> dict[str, TerminalChunk]:
    """The attempt's recorded chunks (only `chunk_ids` when given), read from its events."""
    events = attempt.events.filter(kind__in=CHUNK_KINDS)
    if chunk_ids is not None:
        if not chunk_ids:
            return {}
        events = events.filter(payload__chunk_id__in=list(chunk_ids))
    rows = events.order_by("seq").values_list("kind", "payload")
    return chunks_from_events(rows.iterator())


def continued_attempts(attempt: Attempt) -> list[Attempt]:
    """The attempts whose conversation `attempt` continues, nearest first: a follow-up's parent,
    that one's parent when it was a follow-up too, and so on (a retry starts afresh)."""
    found: list[Attempt] = []
    current = attempt
    while (current.parent_id is not None and current.follow_up_prompt.strip()
           and len(found) < MAX_CONTINUED):
        parent = current.parent
        if parent is None:
            break
        found.append(parent)
        current = parent
    return found


def chunks_with_earlier(attempt: Attempt) -> tuple[dict[str, TerminalChunk],
                                                   dict[str, TerminalChunk]]:
    """(`attempt`'s own recorded chunks, those of the attempts it continues): a follow-up's
    summary may cite either (tasks/agent/citations.py, `earlier`)."""
    earlier: dict[str, TerminalChunk] = {}
    for parent in reversed(continued_attempts(attempt)):
        earlier.update(attempt_chunks(parent))
    return attempt_chunks(attempt), earlier


def stored_citations(summary: Mapping[str, Any]) -> list[Citation]:
    """The worker's checked citations from a "summary" event payload, in text order; entries
    that are not a stored citation are skipped (a malformed row must not break the page)."""
    stored = summary.get("citations")
    citations = []
    for item in stored if isinstance(stored, list) else []:
        try:
            citations.append(Citation.from_dict(item))
        except ValueError:
            continue
    return citations


def summary_flags(summary: Mapping[str, Any]) -> list[str]:
    """The worker's warnings about the summary (e.g. "claims tests pass without a test run")."""
    flags = summary.get("flags")
    return [str(flag) for flag in flags] if isinstance(flags, list) else []


def attempt_summary(attempt: Attempt) -> dict[str, Any]:
    """The payload of the attempt's last "summary" event; {} when the agent gave no answer."""
    last = attempt.events.filter(kind=event_kinds.SUMMARY).order_by("-seq").first()
    return last.payload if last is not None and isinstance(last.payload, dict) else {}
