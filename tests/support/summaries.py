"""The "summary" event payload the worker writes when an attempt finishes, for tests that set up
a finished attempt without running the agent: the agent's own citation check, run against the
files given as the final tree and the chunks the attempt recorded (tasks/agent/loop.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tasks.agent.citations import check_citations
from tasks.models import Attempt
from tasks.recorded import chunks_with_earlier


def worker_summary(
    attempt: Attempt, text: str, tree: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The payload, with verdicts on every citation in `text` as the worker would store them."""
    files = dict(tree or {})
    own, earlier = chunks_with_earlier(attempt)
    report = check_citations(text, read_file=files.get, chunks=own, earlier=earlier)
    return {"text": text, "citations": [c.to_dict() for c in report.citations],
            "flags": report.flags}
