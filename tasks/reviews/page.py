"""What the task page shows of a Review attempt: the reviewed diff (the one diff renderer,
tasks/rendering/diff.py) with each finding next to the new-version line it refers to, the list
of findings with severity badges and their citations' stored verdicts, the malformed ones, and
whether the review was posted to GitHub. Reads only what the worker stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tasks.agent.findings import SEVERITIES, Finding, MalformedFinding
from tasks.agent.records import Citation
from tasks.models import Attempt, Status
from tasks.rendering.diff import DiffView, diff_view
from tasks.rendering.markdown import render_summary
from tasks.reviews.models import ReviewRecord, ReviewTarget
from tasks.reviews.selectors import attempt_findings, review_branch_to_post, review_payload


@dataclass
class FindingView:
    number: int
    finding: Finding
    html: str  # the explanation, sanitized, citations shown by their verdicts
    anchor: str  # the id of its row in the diff ("" when the diff does not show its line)

    @property
    def invalid_citations(self) -> int:
        return sum(1 for c in self.finding.citations if not c.valid)


@dataclass
class ReviewView:
    record: ReviewRecord | None
    target: ReviewTarget | None
    diff: DiffView
    findings: list[FindingView] = field(default_factory=list)
    malformed: list[MalformedFinding] = field(default_factory=list)
    answered: bool = False  # the agent gave a findings block (a "review" event exists)
    post_reason: str = ""  # why "Post as PR review" cannot be pressed; "" when it can
    post_branch: str = ""  # a branch review: posting goes to this branch's open pull request
    events: list[tuple[str, str]] = field(default_factory=lambda: list(ReviewRecord.Event.choices))

    @property
    def counts(self) -> list[tuple[str, int]]:
        return [(s, n) for s in SEVERITIES
                if (n := sum(1 for f in self.findings if f.finding.severity == s))]

    @property
    def outside(self) -> list[FindingView]:
        return [f for f in self.findings if not f.anchor]


def review_view(attempt: Attempt, file_url: Callable[[Citation], str]) -> ReviewView:
    record = ReviewRecord.objects.filter(attempt=attempt).first()
    target = ReviewTarget.objects.filter(task_id=attempt.task_id).first()
    view = ReviewView(record=record, target=target,
                      diff=diff_view(record.diff if record is not None else ""))
    payload = review_payload(attempt)
    view.answered = payload is not None
    _summary, findings, view.malformed = attempt_findings(attempt)
    shown = {(f.path, line.new_no): f for f in view.diff.files for h in f.hunks
             for line in h.lines if line.new_no is not None and line.kind != "del"}
    for number, finding in enumerate(findings, 1):
        diff_file = shown.get((finding.file, finding.line))
        anchor = f"a{attempt.pk}-finding-{number}" if diff_file is not None else ""
        item = FindingView(number, finding,
                           render_summary(finding.explanation, finding.citations, file_url),
                           anchor)
        view.findings.append(item)
        if diff_file is not None:
            diff_file.notes.setdefault(finding.line, []).append(item)
    if record is not None and record.pull_number is None:
        view.post_branch = review_branch_to_post(attempt)
    view.post_reason = _post_reason(attempt, record, payload is not None, view.post_branch)
    return view


def _post_reason(attempt: Attempt, record: ReviewRecord | None, answered: bool,
                 branch: str) -> str:
    if record is None or (record.pull_number is None and not branch):
        return "Only a review of a pull request can be posted to GitHub."
    if attempt.status != Status.SUCCEEDED or not answered:
        return "Only a review that finished with findings can be posted."
    return ""
