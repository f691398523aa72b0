"""Reads that assemble the live task page: per-attempt facts, the rendered result, file excerpts.

Callers authorize first (`get_task_for_user` / `get_attempt_for_user`); these functions trust the
objects they are given and only read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from tasks import event_kinds
from tasks.models import Attempt, Mode, Status, Task
from tasks.rendering.citations import INVALID, Citation, check_citations, parse_citations
from tasks.rendering.diff import DiffView, KnownLines, diff_stats, diff_view, new_file_lines
from tasks.rendering.evidence import Evidence, collect_evidence, count_lines
from tasks.rendering.highlight import highlight_lines
from tasks.rendering.markdown import render_summary

OVERVIEW_KINDS = (
    event_kinds.COMMAND,
    event_kinds.COMMAND_END,
    event_kinds.USAGE,
    event_kinds.SUMMARY,
)
NOT_ON_GITHUB = (
    "This repository is not on GitHub, so no pull request can be opened from here: "
    "download the patch and apply it locally."
)


@dataclass
class AttemptCard:
    attempt: Attempt
    evidence: Evidence
    files: int
    added: int
    removed: int
    pr_reason: str  # why Create PR is disabled; empty when it can be pressed
    pull_request: Any = None  # tasks.pull_requests.models.PullRequestRecord, once one was asked for

    @property
    def pr_url(self) -> str:
        """The pull request's web address, only if it is a plain http(s) URL."""
        url = getattr(self.pull_request, "html_url", "") or ""
        return url if url.startswith(("https://", "http://")) else ""

    @property
    def cost(self) -> str:
        return f"${self.evidence.cost:.4f}" if self.evidence.cost else "—"


def elapsed_seconds(start, end) -> int | None:
    if start is None:
        return None
    return max(0, int(((end or timezone.now()) - start).total_seconds()))


def _pr_reason(attempt: Attempt) -> str:
    task = attempt.task
    if task.mode == Mode.ASK:
        return "Ask tasks don't change code."
    if not attempt.is_finished:
        return "Wait for the attempt to finish."
    if attempt.status != Status.SUCCEEDED:
        return "Only a succeeded attempt can become a pull request."
    if not attempt.patch.strip():
        return "This attempt made no changes."
    if not task.repository.is_on_github:
        return NOT_ON_GITHUB
    return ""


def _pull_request(attempt: Attempt) -> Any:
    from tasks.pull_requests.models import PullRequestRecord

    return PullRequestRecord.objects.filter(attempt=attempt).first()


def attempt_card(attempt: Attempt) -> AttemptCard:
    """Status, tests, lines changed, tokens and cost of one attempt (for tabs and headers)."""
    rows = (
        attempt.events.filter(kind__in=OVERVIEW_KINDS)
        .order_by("seq")
        .values_list("kind", "payload")
    )
    evidence = collect_evidence(rows)
    if attempt.input_tokens or attempt.output_tokens:
        evidence.input_tokens = max(evidence.input_tokens, attempt.input_tokens)
        evidence.output_tokens = max(evidence.output_tokens, attempt.output_tokens)
    # The stored totals (tasks.services) win over the last "usage" event when they are larger.
    stored_cost = float(getattr(attempt, "cost", 0) or 0)
    evidence.cost = max(evidence.cost, stored_cost)
    files, added, removed = diff_stats(attempt.patch)
    return AttemptCard(
        attempt, evidence, files, added, removed, _pr_reason(attempt), _pull_request(attempt)
    )


def task_totals(cards: list[AttemptCard]) -> dict[str, Any]:
    tokens = sum(c.evidence.input_tokens + c.evidence.output_tokens for c in cards)
    cost = sum(c.evidence.cost for c in cards)
    return {"tokens": tokens, "cost": f"${cost:.4f}" if cost else "—"}


def file_url(attempt: Attempt, path: str, start: int | None = None, end: int | None = None) -> str:
    query: dict[str, Any] = {"path": path}
    if start:
        query["start"] = start
        query["end"] = end or start
    return reverse("tasks:attempt_file", args=[attempt.pk]) + "?" + urlencode(query)


def _chunk_lines(attempt: Attempt, chunk_ids: set[str]) -> dict[str, int]:
    """Line counts of the recorded terminal chunks among `chunk_ids` (the ones cited)."""
    if not chunk_ids:
        return {}
    known = set(
        attempt.events.filter(
            kind=event_kinds.COMMAND, payload__chunk_id__in=list(chunk_ids)
        ).values_list("payload__chunk_id", flat=True)
    )
    texts: dict[str, list[str]] = {cid: [] for cid in known}
    outputs = attempt.events.filter(kind=event_kinds.OUTPUT, payload__chunk_id__in=list(known))
    for payload in outputs.order_by("seq").values_list("payload", flat=True).iterator():
        texts[payload["chunk_id"]].append(str(payload.get("text", "")))
    return {cid: count_lines("".join(parts)) for cid, parts in texts.items()}


@dataclass
class AttemptResult:
    summary_html: str
    citations: list[Citation]
    diff: DiffView
    flags: list[str]

    @property
    def invalid_count(self) -> int:
        return sum(1 for c in self.citations if c.state == INVALID)


def attempt_result(attempt: Attempt, summary_event: dict[str, Any] | None = None) -> AttemptResult:
    """The finished attempt's summary (sanitized HTML, citations checked) and diff view model."""
    if summary_event is None:
        last = attempt.events.filter(kind=event_kinds.SUMMARY).order_by("-seq").first()
        summary_event = last.payload if last and isinstance(last.payload, dict) else {}
    text = attempt.summary or str(summary_event.get("text") or "")
    parsed = parse_citations(text)
    reported = summary_event.get("citations")
    checked = check_citations(
        parsed,
        patch=attempt.patch,
        chunk_lines=_chunk_lines(attempt, {c.target for c in parsed if c.kind == "T"}),
        reported=reported if isinstance(reported, list) else (),
    )
    html = render_summary(text, checked, lambda c: file_url(attempt, c.target, c.start, c.end))
    flags = summary_event.get("flags")
    return AttemptResult(
        summary_html=html,
        citations=checked,
        diff=diff_view(attempt.patch),
        flags=[str(f) for f in flags] if isinstance(flags, list) else [],
    )


@dataclass(frozen=True)
class ExcerptLine:
    number: int | None  # None: a gap of lines the patch does not show
    html: str
    highlighted: bool


@dataclass
class FileExcerpt:
    path: str
    lines: list[ExcerptLine]
    message: str  # why content is missing or partial; empty when complete


def file_excerpt(attempt: Attempt, path: str, start: int | None, end: int | None) -> FileExcerpt:
    """The lines of `path` after the attempt, with `start..end` marked: the whole file when the
    summary cited it (the worker keeps cited files), else what the stored patch reveals."""
    stored = (attempt.cited_files or {}).get(path)
    known: KnownLines | None
    if isinstance(stored, str):
        known = KnownLines(path, dict(enumerate(stored.splitlines(), start=1)), complete=True)
    else:
        known = new_file_lines(attempt.patch, path)
    if known is None:
        return FileExcerpt(
            path,
            [],
            "This file is not changed by the attempt's patch, and the "
            "final tree is not stored, so its content can't be shown.",
        )
    if known.removed:
        return FileExcerpt(path, [], "The attempt deleted this file.")
    numbers = sorted(known.lines)
    htmls = highlight_lines([known.lines[n] for n in numbers], path)
    lo, hi = (start or 0), (end or start or 0)
    lines: list[ExcerptLine] = []
    previous = 0
    for number, html in zip(numbers, htmls, strict=True):
        if number != previous + 1:
            lines.append(ExcerptLine(None, "", False))
        lines.append(ExcerptLine(number, html, lo <= number <= hi))
        previous = number
    message = (
        ""
        if known.complete
        else (
            "Only the parts of this file that the patch shows are available; the rest of the final "
            "tree is not stored."
        )
    )
    if lo and not any(line.highlighted for line in lines):
        message = (f"Lines {lo}–{hi} are not in the patch. " + message).strip()
    return FileExcerpt(path, lines, message)


def task_page(task: Task) -> dict[str, Any]:
    """Template context for the task page."""
    attempts = list(
        task.attempts.select_related("task", "task__repository", "parent").order_by("index")
    )
    cards = [attempt_card(a) for a in attempts]
    results = {a.pk: attempt_result(a) for a in attempts if a.is_finished}
    return {
        "task": task,
        "cards": [(c, results.get(c.attempt.pk)) for c in cards],
        "totals": task_totals(cards),
        "task_elapsed": elapsed_seconds(task.created_at, task.finished_at),
    }
