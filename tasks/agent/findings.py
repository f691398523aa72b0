"""A Review task's findings: parsed strictly from the final answer's ```findings block.

Each finding names a file, a line in the new version, a severity (blocker, major, minor, nit)
and an explanation that cites its evidence (`【F:…】`/`【T:…】`, checked by the one checker,
tasks/agent/citations.py). Whatever does not fit is kept as text with the reason
(`MalformedFinding`) and never ends the attempt: a reviewer still sees what the model said.

No Django here; the loop emits the report as a "review" event (tasks/event_kinds.py) and the
page and the GitHub review read it back with `Finding.from_dict`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from tasks.agent.citations import (
    FileReader,
    LineCounter,
    check_citations,
    line_counter,
    normalize_file_target,
)
from tasks.agent.patch import PatchError
from tasks.agent.records import Citation, TerminalChunk

Severity = Literal["blocker", "major", "minor", "nit"]
SEVERITIES: tuple[Severity, ...] = ("blocker", "major", "minor", "nit")
MAX_FINDINGS = 100
MAX_EXPLANATION = 4000
MAX_MALFORMED_TEXT = 2000

BLOCK = re.compile(r"```[ \t]*(?:findings|json)[ \t]*\n(?P<body>.*?)\n[ \t]*```", re.DOTALL)


@dataclass
class Finding:
    file: str
    line: int
    severity: Severity
    explanation: str
    citations: list[Citation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "severity": self.severity,
                "explanation": self.explanation,
                "citations": [c.to_dict() for c in self.citations]}

    @classmethod
    def from_dict(cls, data: Any) -> Finding:
        """The finding `to_dict()` stored; ValueError when `data` is not one."""
        if not isinstance(data, dict):
            raise ValueError("a stored finding is an object")
        severity, line = data.get("severity"), data.get("line")
        if severity not in SEVERITIES or not isinstance(line, int) or isinstance(line, bool):
            raise ValueError("a stored finding has a severity and an integer line")
        stored = data.get("citations")
        citations = [Citation.from_dict(c) for c in stored] if isinstance(stored, list) else []
        return cls(str(data.get("file", "")), line, severity, str(data.get("explanation", "")),
                   citations)


@dataclass
class MalformedFinding:
    """Something in the findings block that is not a finding: its text and why."""

    text: str
    problem: str

    def to_dict(self) -> dict[str, str]:
        return {"text": self.text, "problem": self.problem}


@dataclass
class FindingsReport:
    summary: str  # the final answer without its findings block
    findings: list[Finding] = field(default_factory=list)
    malformed: list[MalformedFinding] = field(default_factory=list)

    def to_payload(self) -> dict[str, Any]:
        return {"findings": [f.to_dict() for f in self.findings],
                "malformed": [m.to_dict() for m in self.malformed]}


class _FindingIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    file: StrictStr = Field(min_length=1)
    line: StrictInt = Field(ge=1)
    severity: Severity
    explanation: StrictStr = Field(min_length=1)


def parse_findings(
    text: str,
    *,
    chunks: Mapping[str, TerminalChunk],
    read_file: FileReader | None = None,
    count_lines: LineCounter | None = None,
) -> FindingsReport:
    """Split `text` into its summary and its checked findings. Never raises for bad input.

    Files are judged by their line counts (`count_lines`, or counted from `read_file`'s text),
    as citations are (tasks/agent/citations.py)."""
    if count_lines is None:
        if read_file is None:
            raise TypeError("parse_findings needs read_file or count_lines")
        count_lines = line_counter(read_file)
    match = BLOCK.search(text)
    if match is None:
        return FindingsReport(summary=text.strip(), malformed=[MalformedFinding(
            "", "The answer has no ```findings block, so no finding could be read.")])
    summary = (text[: match.start()] + text[match.end():]).strip()
    report = FindingsReport(summary=summary)
    body = match["body"]
    try:
        items = json.loads(body)
    except json.JSONDecodeError as exc:
        report.malformed.append(MalformedFinding(_clip(body), f"The block is not JSON: {exc}."))
        return report
    if isinstance(items, dict) and isinstance(items.get("findings"), list):
        items = items["findings"]
    if not isinstance(items, list):
        report.malformed.append(MalformedFinding(_clip(body), "The block is not a JSON list."))
        return report
    lengths: dict[str, int | None] = {}
    for item in items[:MAX_FINDINGS]:
        finding, problem = _finding(item, count_lines, chunks, lengths)
        if finding is not None:
            report.findings.append(finding)
        else:
            report.malformed.append(MalformedFinding(_clip(_as_text(item)), problem))
    if len(items) > MAX_FINDINGS:
        report.malformed.append(MalformedFinding(
            "", f"Only the first {MAX_FINDINGS} of {len(items)} findings were kept."))
    return report


def _finding(
    item: Any, count_lines: LineCounter, chunks: Mapping[str, TerminalChunk],
    lengths: dict[str, int | None],
) -> tuple[Finding | None, str]:
    try:
        parsed = _FindingIn.model_validate(item)
    except ValidationError as exc:
        return None, "Not a finding: " + "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'finding'}: {e['msg']}" for e in exc.errors())
    try:
        path = normalize_file_target(parsed.file)
    except PatchError as exc:
        return None, f"The file is not a path in the repository: {exc}"
    if path not in lengths:
        try:
            lengths[path] = count_lines(path)
        except Exception:  # a sandbox error: judge the line unknown rather than lose the rest
            lengths[path] = None
    count = lengths[path]
    if count is None:
        return None, f"{path} does not exist in the reviewed version."
    if parsed.line > count:
        return None, f"{path} has {count} lines; line {parsed.line} is past the end."
    explanation = parsed.explanation.strip()[:MAX_EXPLANATION]
    checked = check_citations(explanation, count_lines=count_lines, chunks=chunks)
    if not checked.citations:
        return None, "A finding must cite its evidence (【F:path†L1】 or 【T:chunk†L1】)."
    return Finding(path, parsed.line, parsed.severity, explanation, checked.citations), ""


def _as_text(item: Any) -> str:
    try:
        return json.dumps(item, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(item)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_MALFORMED_TEXT else text[:MAX_MALFORMED_TEXT] + "…"


def stored_findings(payload: Mapping[str, Any]) -> tuple[list[Finding], list[MalformedFinding]]:
    """The findings and malformed entries of a "review" event payload; entries that are not a
    stored finding become malformed ones (a bad row must not break the page)."""
    findings, malformed = [], []
    for item in payload.get("findings") or []:
        try:
            findings.append(Finding.from_dict(item))
        except ValueError as exc:
            malformed.append(MalformedFinding(_clip(_as_text(item)), str(exc)))
    for item in payload.get("malformed") or []:
        if isinstance(item, dict):
            malformed.append(MalformedFinding(str(item.get("text", "")),
                                              str(item.get("problem", ""))))
    return findings, malformed
