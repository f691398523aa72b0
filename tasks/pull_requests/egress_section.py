"""The "Network" part of a pull request body: how many requests the attempt's egress proxy
decided, which were refused, who approved which host, and a link to the full record (a page
for the team's members). Built from the record (tasks/approvals/selectors.py); an attempt that
reached nothing gets no section."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from tasks.approvals.selectors import attempt_egress_record
from tasks.models import Attempt

APPROVALS_LISTED = 10


def egress_section(attempt: Attempt) -> str:
    """Markdown ("" when the attempt made no request and nothing was approved)."""
    record = attempt_egress_record(attempt)
    if not record:
        return ""
    url = settings.PUBLIC_URL + reverse("tasks:attempt_egress", args=[attempt.pk])
    count = len(record.requests)
    line = f"{count} request{'s' if count != 1 else ''} through the egress proxy"
    if record.refused:
        line += f", {record.refused} refused"
    lines = ["## Network", f"{line}. [Full egress record]({url})"]
    for approval in record.approvals[:APPROVALS_LISTED]:
        what = (
            "added to the repository's allowlist"
            if approval.scope == "repository"
            else "allowed once for this attempt"
        )
        lines.append(f"- `{approval.host}` {what} by {approval.approved_by.get_username()}")
    return "\n\n".join(lines[:2]) + ("\n\n" + "\n".join(lines[2:]) if lines[2:] else "")
