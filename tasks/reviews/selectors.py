"""Reads of what a Review attempt found, from what the worker stored (nothing is re-checked)."""

from __future__ import annotations

from typing import Any

from tasks import event_kinds
from tasks.agent.findings import Finding, MalformedFinding, stored_findings
from tasks.models import Attempt
from tasks.recorded import attempt_summary
from tasks.reviews.models import ReviewRecord, ReviewTarget


def review_payload(attempt: Attempt) -> dict[str, Any] | None:
    """The payload of the attempt's last "review" event; None when the agent gave no findings
    block at all (it failed, was stopped, or is not a Review attempt)."""
    last = attempt.events.filter(kind=event_kinds.REVIEW).order_by("-seq").first()
    return last.payload if last is not None and isinstance(last.payload, dict) else None


def attempt_findings(attempt: Attempt) -> tuple[str, list[Finding], list[MalformedFinding]]:
    """(overall assessment, findings, malformed findings) of a Review attempt."""
    payload = review_payload(attempt) or {}
    findings, malformed = stored_findings(payload)
    summary = attempt.summary or str(attempt_summary(attempt).get("text") or "")
    return summary, findings, malformed


def review_record(attempt: Attempt) -> ReviewRecord | None:
    return ReviewRecord.objects.filter(attempt=attempt).first()


def review_branch_to_post(attempt: Attempt) -> str:
    """The branch whose open pull request a review of a branch (in a GitHub repository) may be
    posted to; "" for other reviews."""
    target = ReviewTarget.objects.filter(task_id=attempt.task_id).first()
    if target is None or target.kind != ReviewTarget.Kind.BRANCH:
        return ""
    return target.branch if attempt.task.repository.is_on_github else ""
