"""Citations in an attempt's final message: `【F:path†L10-L24】` (file lines in the final tree)
and `【T:chunk-id†L3-L9】` (lines of a recorded terminal chunk).

The worker validates citations against the final tree when it finishes and reports its verdict in
the "summary" event; that verdict wins. Without one, citations are checked here against what the
web tier has: the patch (new content of changed files) and the recorded terminal chunks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tasks.agent.citations import CITATION as AGENT_CITATION
from tasks.rendering.diff import new_file_lines

# One pattern for the agent (which validates) and the page (which links): the same markers match.
CITATION = AGENT_CITATION

VALID = "valid"
INVALID = "invalid"
UNVERIFIED = "unverified"


@dataclass(frozen=True)
class Citation:
    raw: str
    kind: str  # "F" | "T"
    target: str  # a path or a chunk id
    start: int
    end: int
    state: str = UNVERIFIED
    reason: str = ""

    @property
    def label(self) -> str:
        lines = f"L{self.start}" if self.start == self.end else f"L{self.start}-L{self.end}"
        return f"{self.target}:{lines}" if self.kind == "F" else f"terminal {self.target} {lines}"


def parse_citations(text: str) -> list[Citation]:
    """Every citation marker in `text`, in order (unchecked)."""
    found = []
    for match in CITATION.finditer(text):
        start = int(match["start"])
        end = int(match["end"]) if match["end"] else start
        found.append(Citation(match[0], match["kind"], match["target"].strip(), start, end))
    return found


def _check_file(c: Citation, patch: str) -> tuple[str, str]:
    known = new_file_lines(patch, c.target)
    if known is None:
        return UNVERIFIED, "This file is not changed by the patch; its content is not stored."
    if known.removed:
        return INVALID, "The patch deletes this file."
    wanted = range(c.start, c.end + 1)
    if known.complete:
        total = max(known.lines, default=0)
        if c.end > total:
            return INVALID, f"The file has {total} lines."
        return VALID, ""
    if all(n in known.lines for n in wanted):
        return VALID, ""
    return UNVERIFIED, "Some of these lines are outside the patch; their content is not stored."


def _check_terminal(c: Citation, chunk_lines: Mapping[str, int]) -> tuple[str, str]:
    if c.target not in chunk_lines:
        return INVALID, "No terminal output with this chunk id was recorded."
    total = chunk_lines[c.target]
    if c.end > total:
        return INVALID, f"That output has {total} lines."
    return VALID, ""


def check_citations(
    citations: Sequence[Citation],
    *,
    patch: str,
    chunk_lines: Mapping[str, int],
    reported: Sequence[Mapping[str, Any]] = (),
) -> list[Citation]:
    """The citations with `state` and `reason` set: the worker's verdict (`reported`, from the
    summary event) where it has one, else a check against the patch and the recorded chunks."""
    verdicts = {r.get("raw"): r for r in reported if isinstance(r, Mapping)}
    checked = []
    for c in citations:
        if c.start < 1 or c.end < c.start:
            state, reason = INVALID, "The line range is empty."
        elif c.raw in verdicts and isinstance(verdicts[c.raw].get("valid"), bool):
            verdict = verdicts[c.raw]
            state = VALID if verdict["valid"] else INVALID
            reason = str(verdict.get("reason") or "")
        elif c.kind == "F":
            state, reason = _check_file(c, patch)
        else:
            state, reason = _check_terminal(c, chunk_lines)
        checked.append(Citation(c.raw, c.kind, c.target, c.start, c.end, state, reason))
    return checked
