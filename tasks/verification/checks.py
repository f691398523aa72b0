"""Which commands re-verify a patch: the test commands AGENTS.md states, else the test commands
the attempts themselves ran. Pure; parsed conservatively: only a code span or a line of a code
block that starts with a known test runner counts, so prose never becomes a command."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_COMMANDS = 5
MAX_COMMAND_CHARS = 300

# The start of a command that runs a repository's tests (after an optional `cd X &&`).
_RUNNER = re.compile(
    r"""^(?:
        (?:python3?|uv\s+run\s+python3?)\s+-m\s+(?:pytest|unittest)\b
      | (?:uv\s+run\s+|poetry\s+run\s+)?pytest\b
      | (?:npm|pnpm|yarn)\s+(?:run\s+)?test\b
      | go\s+test\b
      | cargo\s+test\b
      | make\s+(?:test|check)\b
      | tox\b | nox\b
      | mvn\s+(?:-\S+\s+)*test\b
      | (?:\./)?gradlew?\s+test\b
      | (?:bundle\s+exec\s+)?(?:rspec|rake\s+test)\b
      | ctest\b
    )""",
    re.VERBOSE,
)
_CD_PREFIX = re.compile(r"^cd\s+[\w./-]+\s*&&\s*")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_FENCE = re.compile(r"^\s*(```|~~~)")
# Characters a plain test command never needs; a command holding one is not taken.
_UNSAFE = re.compile(r"[;|<>$`\\&]")
# What agents (and people) put after a test command only to shorten its output:
# `2>&1 | tail -15`, `| head -n 40`. Dropped before the command is judged and kept, so the
# check runs the test command itself; any other pipe still makes a command unsafe.
_OUTPUT_TRIM = re.compile(
    r"(?:\s+2>&1)?(?:\s*\|\s*(?:tail|head)(?:\s+-n)?(?:\s+-?\d+)?)?\s*$"
)


@dataclass(frozen=True)
class Checks:
    commands: tuple[str, ...]
    source: str  # "AGENTS.md", "the attempts' test runs" or "" when none were found


def is_test_command(command: str) -> bool:
    """True for a single plain command that runs tests (`pytest -q`, `cd api && go test ./...`),
    also when only an output trim follows it (`pytest -q 2>&1 | tail -15`)."""
    text = _clean(command)
    if not text or len(text) > MAX_COMMAND_CHARS or "\n" in text:
        return False
    rest = _CD_PREFIX.sub("", text, count=1)
    if _UNSAFE.search(rest):
        return False
    return bool(_RUNNER.match(rest))


def _clean(command: str) -> str:
    """The command without its prompt sign and without a trailing output trim (see above)."""
    text = command.strip().lstrip("$ ").strip()
    return _OUTPUT_TRIM.sub("", text, count=1).strip() if "\n" not in text else text


def commands_in_agents_md(text: str) -> list[str]:
    """Test commands AGENTS.md states: code spans and code-block lines that are test commands,
    in order, without repeats."""
    found: list[str] = []
    in_block = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_block = not in_block
            continue
        candidates = [line] if in_block else _CODE_SPAN.findall(line)
        for candidate in candidates:
            if is_test_command(candidate) and _clean(candidate) not in found:
                found.append(_clean(candidate))
    return found[:MAX_COMMANDS]


def commands_from_runs(commands: Iterable[str]) -> list[str]:
    """The test commands among those the attempts ran (their `command` events), most used first,
    ties in the order first seen."""
    counts: dict[str, int] = {}
    for command in commands:
        if is_test_command(command):
            key = _clean(command)
            counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts, key=lambda c: -counts[c])  # stable: first seen wins ties
    return ordered[:MAX_COMMANDS]


def choose_checks(agents_md: str, ran: Iterable[str]) -> Checks:
    """AGENTS.md's test commands when it states any, else the attempts' own test commands."""
    stated = commands_in_agents_md(agents_md)
    if stated:
        return Checks(tuple(stated), "AGENTS.md")
    from_runs = commands_from_runs(ran)
    if from_runs:
        return Checks(tuple(from_runs), "the attempts' test runs")
    return Checks((), "")
