"""Reads that assemble the live task page: per-attempt facts, the rendered result, file excerpts.

Callers authorize first (`get_task_for_user` / `get_attempt_for_user`); these functions trust the
objects they are given and only read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from tasks import event_kinds
from tasks.agent.records import Citation
from tasks.models import FINISHED_STATUSES, Attempt, AttemptKind, Mode, Status, Task
from tasks.pull_requests.title import split_title
from tasks.recorded import attempt_summary, stored_citations, summary_flags
from tasks.rendering.diff import DiffView, KnownLines, diff_stats, diff_view, new_file_lines
from tasks.rendering.evidence import Evidence, collect_evidence
from tasks.rendering.highlight import highlight_lines
from tasks.rendering.markdown import render_summary

OVERVIEW_KINDS = (
    event_kinds.COMMAND,
    event_kinds.COMMAND_END,
    event_kinds.USAGE,
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
    # The parent's open PR that Create PR would update instead ("Update PR #N"), for a follow-up.
    updates_pull: Any = None
    # Create PR cannot work, Push to branch can (tasks.pull_requests.selectors.PushOnly).
    push_only: Any = None
    # What kind of attempt this is, for its tab and header: "Resolve of attempt 2", "Combined
    # from attempts 1, 3"; empty for an ordinary attempt or follow-up.
    kind_label: str = ""
    # The attempt's newest event when the page was drawn: the page's socket replays up to it
    # before the log is shown, and the facts above already account for every event up to it.
    last_seq: int = 0
    # When this attempt's push was refused on a conflict and "Resolve with the agent" was
    # pressed: that resolve attempt and its push (tasks.pull_requests.selectors.Resolution).
    # Once it pushed, this card links there instead of offering the refused push again.
    resolution: Any = None

    @property
    def push_branch(self) -> str:
        """The branch "Push to branch" offers: the one the attempt's changes only fit on, else
        the task's when it started from a pull request or a branch other than the default one
        (tasks/pull_requests/branch_push.py)."""
        if self.push_only is not None:
            return str(self.push_only.branch)
        task = self.attempt.task
        if task.pull_number or task.base_branch != task.repository.default_branch:
            return task.base_branch
        return ""

    @property
    def pr_url(self) -> str:
        """The pull request's web address, only if it is a plain http(s) URL."""
        return _web_url(self.pull_request)

    @property
    def resolved_url(self) -> str:
        """Where the resolve attempt pushed (its pull request), only if a plain http(s) URL."""
        return _web_url(getattr(self.resolution, "record", None))

    @property
    def cost(self) -> str:
        return f"${self.evidence.cost:.4f}" if self.evidence.cost else "—"


def _web_url(record: Any) -> str:
    url = getattr(record, "html_url", "") or ""
    return url if url.startswith(("https://", "http://")) else ""


def elapsed_seconds(start, end) -> int | None:
    if start is None:
        return None
    return max(0, int(((end or timezone.now()) - start).total_seconds()))


@dataclass(frozen=True)
class TaskTime:
    """The task header's clock, in two parts that agree with the attempts' own clocks: how long
    the task waited in the queue before its first attempt started, and how long at least one
    attempt was running (parallel attempts count once; a gap before a follow-up not at all)."""

    waited: int | None
    waited_until: datetime | None  # the first attempt's start, or the task's end if none ran
    ran: int


def task_time(task: Task, attempts: list[Attempt]) -> TaskTime:
    starts = [a.started_at for a in attempts if a.started_at is not None]
    waited_until = min(starts) if starts else task.finished_at
    return TaskTime(
        waited=elapsed_seconds(task.created_at, waited_until),
        waited_until=waited_until,
        ran=running_seconds([(a.started_at, a.finished_at) for a in attempts]),
    )


def running_seconds(spans: list[tuple[datetime | None, datetime | None]]) -> int:
    """Seconds covered by the union of (start, end) spans; an open end is now."""
    now = timezone.now()
    total = 0.0
    reach: datetime | None = None
    for start, end in sorted((s, e or now) for s, e in spans if s is not None):
        if reach is None or start > reach:
            total += (end - start).total_seconds()
            reach = end
        elif end > reach:
            total += (end - reach).total_seconds()
            reach = end
    return max(0, int(total))


def _pr_reason(attempt: Attempt) -> str:
    task = attempt.task
    if task.mode == Mode.ASK:
        return "Ask tasks don't change code."
    if task.mode == Mode.REVIEW:
        return "Review tasks don't change code."
    if not attempt.is_finished:
        return "Wait for the attempt to finish."
    if attempt.status != Status.SUCCEEDED:
        return "Only a succeeded attempt can become a pull request."
    if not attempt.patch.strip():
        return "This attempt made no changes."
    from tasks.verification.selectors import combined_patch_blocker

    blocker = combined_patch_blocker(attempt)  # a combined patch is verified first
    if blocker:
        return blocker
    if not task.repository.is_on_github:
        return NOT_ON_GITHUB
    return ""


def _pull_request(attempt: Attempt) -> Any:
    from tasks.pull_requests.models import PullRequestRecord

    return PullRequestRecord.objects.filter(attempt=attempt).first()


def attempt_card(attempt: Attempt, *, diff: DiffView | None = None) -> AttemptCard:
    """Status, tests, lines changed, tokens and cost of one attempt (for tabs and headers).
    `diff`: the attempt's diff view when the page shows it (the counts come from it: the patch,
    up to 20 MB, is parsed once per view)."""
    rows = (
        attempt.events.filter(kind__in=OVERVIEW_KINDS)
        .order_by("seq")
        .values_list("kind", "payload")
    )
    evidence = collect_evidence(rows)
    if evidence.tests == "running" and attempt.status in FINISHED_STATUSES:
        evidence.tests = "interrupted"  # the attempt ended while its test command still ran
    if attempt.input_tokens or attempt.output_tokens:
        evidence.input_tokens = max(evidence.input_tokens, attempt.input_tokens)
        evidence.output_tokens = max(evidence.output_tokens, attempt.output_tokens)
    # The stored totals (tasks.services) win over the last "usage" event when they are larger.
    stored_cost = float(getattr(attempt, "cost", 0) or 0)
    evidence.cost = max(evidence.cost, stored_cost)
    files, added, removed = diff.stats if diff is not None else diff_stats(attempt.patch)
    from tasks.pull_requests.selectors import open_parent_pull_request, push_only, resolution_of

    parent_pull = open_parent_pull_request(attempt)
    record = _pull_request(attempt)
    return AttemptCard(
        attempt, evidence, files, added, removed, _pr_reason(attempt), record,
        parent_pull, push_only(attempt) if parent_pull is None else None, kind_label(attempt),
        attempt.last_seq,  # read with the status, before the events above
        resolution_of(record),
    )


def kind_label(attempt: Attempt) -> str:
    """A resolve attempt names the attempt it resolves; a combined best-of-N patch (made by the
    hunk pick, tasks/verification/) the attempts its hunks came from. Else ""."""
    if attempt.kind == AttemptKind.RESOLVE and attempt.parent is not None:
        return f"Resolve of attempt {attempt.parent.index}"
    from tasks.verification.models import Verification

    hunks = Verification.objects.filter(attempt=attempt).values_list("hunks", flat=True).first()
    if not hunks:
        return ""
    sources = {int(h.split(":", 1)[0]) for h in hunks if h.split(":", 1)[0].isdigit()}
    indexes = sorted(Attempt.objects.filter(pk__in=sources).values_list("index", flat=True))
    if not indexes:
        return "Combined"
    return (f"Combined from attempt{'s' if len(indexes) != 1 else ''} "
            f"{', '.join(map(str, indexes))}")


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


@dataclass
class AttemptResult:
    summary_html: str
    citations: list[Citation]
    diff: DiffView
    flags: list[str]
    review: Any = None  # tasks.reviews.page.ReviewView, for a Review attempt
    # Why an attempt that failed, was cancelled or stopped without a summary ended (a lost worker's
    # note, the agent's error): shown in the summary's place, not "The agent left no summary."
    ended_reason: str = ""

    @property
    def invalid_count(self) -> int:
        return sum(1 for c in self.citations if not c.valid)


def attempt_result(attempt: Attempt) -> AttemptResult:
    """The finished attempt's summary (sanitized HTML, citations shown by the worker's stored
    verdicts; they are not checked again here) and diff view model."""
    summary_event = attempt_summary(attempt)
    title, text = split_title(attempt.summary or str(summary_event.get("text") or ""))
    if title:  # the agent's `Title:` line (its PR title) leads the summary as a heading
        text = f"**{title}**\n\n{text}"
    citations = stored_citations(summary_event)
    html = render_summary(text, citations, lambda c: file_url(attempt, c.target, c.start, c.end))
    review = None
    if attempt.task.mode == Mode.REVIEW:
        from tasks.reviews.page import review_view

        review = review_view(attempt, lambda c: file_url(attempt, c.target, c.start, c.end))
    return AttemptResult(
        summary_html=html,
        citations=citations,
        diff=diff_view(attempt.patch),
        flags=summary_flags(summary_event),
        review=review,
        ended_reason="" if html else ended_reason(attempt),
    )


def ended_reason(attempt: Attempt) -> str:
    """Why a finished attempt that did not succeed ended, in plain words; "" otherwise."""
    if not attempt.is_finished or attempt.status == Status.SUCCEEDED:
        return ""
    return attempt.error or (
        f"The attempt was {attempt.get_status_display().lower()} before the agent wrote a summary."
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


def _diff_of(result: AttemptResult | None) -> DiffView | None:
    return result.diff if result is not None else None


def attempt_card_and_result(attempt: Attempt) -> tuple[AttemptCard, AttemptResult | None]:
    """One attempt's card and, once it finished, its result, its patch parsed once."""
    result = attempt_result(attempt) if attempt.is_finished else None
    return attempt_card(attempt, diff=_diff_of(result)), result


def task_page(task: Task) -> dict[str, Any]:
    """Template context for the task page."""
    attempts = list(
        task.attempts.select_related("task", "task__repository", "parent").order_by("index")
    )
    results = {a.pk: attempt_result(a) for a in attempts if a.is_finished}
    cards = [attempt_card(a, diff=_diff_of(results.get(a.pk))) for a in attempts]
    return {
        "task": task,
        "cards": [(c, results.get(c.attempt.pk)) for c in cards],
        "totals": task_totals(cards),
        "task_time": task_time(task, attempts),
    }
