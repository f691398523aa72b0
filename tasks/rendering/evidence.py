"""Facts the task page shows about an attempt, derived from its events: the last test run, usage
and cost. Pure: takes event (kind, payload) pairs. (Chunk text is read by tasks/recorded.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tasks import event_kinds
from tasks.agent.citations import STATUS_ELSEWHERE

# Commands that run a test suite; the last one's exit code is the attempt's "tests" result.
TEST_COMMAND = re.compile(
    r"\b(pytest|py\.test|tox|nox|unittest|npm (run )?test|yarn test|pnpm test|go test|"
    r"cargo test|make (test|check)|mvn test|gradle test|rspec|phpunit|jest|vitest|ctest)\b"
)
# A test run whose exit code is another command's (`pytest | tail -4`, `pytest; echo done`,
# `pytest || true`) exiting 0 reads "tests ran", not "passed" (walkthrough: "tests passed" over
# "FAILED (failures=1)").


@dataclass
class Evidence:
    # "" (none run) | "passed" | "failed" | "ran" (exit code not the tests') | "running"
    # ("interrupted": the page)
    tests: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0


def collect_evidence(events: Iterable[tuple[str, dict[str, Any]]]) -> Evidence:
    """Fold the events (in seq order) into the page's facts; unknown kinds are ignored."""
    evidence = Evidence()
    test_chunks: set[str] = set()
    status_elsewhere: set[str] = set()
    for kind, payload in events:
        if not isinstance(payload, dict):
            continue
        if kind == event_kinds.COMMAND:
            command = str(payload.get("command", ""))
            runner = TEST_COMMAND.search(command)
            if runner:
                test_chunks.add(str(payload.get("chunk_id", "")))
                if STATUS_ELSEWHERE.search(command, runner.end()):
                    status_elsewhere.add(str(payload.get("chunk_id", "")))
                evidence.tests = "running"
        elif kind == event_kinds.COMMAND_END and str(payload.get("chunk_id", "")) in test_chunks:
            chunk = str(payload.get("chunk_id", ""))
            passed = "ran" if chunk in status_elsewhere else "passed"
            evidence.tests = passed if payload.get("exit_code") == 0 else "failed"
        elif kind == event_kinds.USAGE:
            evidence.input_tokens = _int(payload.get("input_tokens"))
            evidence.output_tokens = _int(payload.get("output_tokens"))
            evidence.cost = _float(payload.get("cost"))
    return evidence


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and value >= 0 else 0.0
