"""Facts the task page shows about an attempt, derived from its events: terminal chunks and their
line counts, the last test run, usage and cost. Pure: takes event (kind, payload) pairs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tasks import event_kinds

# Commands that run a test suite; the last one's exit code is the attempt's "tests" result.
TEST_COMMAND = re.compile(
    r"\b(pytest|py\.test|tox|nox|unittest|npm (run )?test|yarn test|pnpm test|go test|"
    r"cargo test|make (test|check)|mvn test|gradle test|rspec|phpunit|jest|vitest|ctest)\b"
)


def count_lines(text: str) -> int:
    """Lines of a chunk's raw output as the agent numbers them for citations (`str.splitlines`,
    so `\r` alone also ends a line); live.js splits the same way."""
    return len(text.splitlines())


@dataclass
class Evidence:
    chunk_text: dict[str, list[str]] = field(default_factory=dict)
    tests: str = ""  # "" (none run) | "passed" | "failed" | "running"
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    summary: dict[str, Any] | None = None

    @property
    def chunk_lines(self) -> dict[str, int]:
        return {cid: count_lines("".join(parts)) for cid, parts in self.chunk_text.items()}


def collect_evidence(events: Iterable[tuple[str, dict[str, Any]]]) -> Evidence:
    """Fold the events (in seq order) into the page's facts; unknown kinds are ignored."""
    evidence = Evidence()
    test_chunks: set[str] = set()
    for kind, payload in events:
        if not isinstance(payload, dict):
            continue
        if kind == event_kinds.COMMAND:
            chunk = str(payload.get("chunk_id", ""))
            evidence.chunk_text.setdefault(chunk, [])
            if TEST_COMMAND.search(str(payload.get("command", ""))):
                test_chunks.add(chunk)
                evidence.tests = "running"
        elif kind == event_kinds.OUTPUT:
            evidence.chunk_text.setdefault(str(payload.get("chunk_id", "")), []).append(
                str(payload.get("text", ""))
            )
        elif kind == event_kinds.COMMAND_END and str(payload.get("chunk_id", "")) in test_chunks:
            evidence.tests = "passed" if payload.get("exit_code") == 0 else "failed"
        elif kind == event_kinds.USAGE:
            evidence.input_tokens = _int(payload.get("input_tokens"))
            evidence.output_tokens = _int(payload.get("output_tokens"))
            evidence.cost = _float(payload.get("cost"))
        elif kind == event_kinds.SUMMARY:
            evidence.summary = payload
    return evidence


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and value >= 0 else 0.0
