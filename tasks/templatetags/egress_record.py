"""The "Network" section of an attempt's result: its egress requests by host, the approvals,
and a link to the full record (tasks/approvals/selectors.py)."""

from __future__ import annotations

from typing import Any

from django import template

from tasks.approvals.selectors import attempt_egress_record
from tasks.models import Attempt

register = template.Library()


@register.inclusion_tag("tasks/_egress_summary.html")
def egress_summary(attempt: Attempt) -> dict[str, Any]:
    return {"attempt": attempt, "record": attempt_egress_record(attempt)}
