"""Reading an attempt's egress record: every request the proxy decided (its `egress` events, in
the order they happened) and the approvals people gave. The task page's "Network" section, the
record page linked from the pull request, and the API read it the same way."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tasks import event_kinds as kinds
from tasks.approvals.models import EgressApproval
from tasks.models import Attempt


@dataclass(frozen=True)
class EgressRequest:
    at: datetime | None  # when the proxy decided; None for events from before it was recorded
    method: str
    host: str
    url: str
    allowed: bool
    reason: str
    approvable: bool

    @property
    def target(self) -> str:
        """What the agent asked for, for people: the URL, else the host."""
        return self.url or self.host


@dataclass
class AttemptEgress:
    requests: list[EgressRequest] = field(default_factory=list)
    approvals: list[EgressApproval] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return sum(1 for r in self.requests if not r.allowed)

    @property
    def hosts(self) -> list[tuple[str, int, int]]:
        """(host, allowed, refused) per host, in the order first seen."""
        allowed: Counter[str] = Counter()
        refused: Counter[str] = Counter()
        for r in self.requests:
            (allowed if r.allowed else refused)[r.host] += 1
        order = dict.fromkeys(r.host for r in self.requests)
        return [(h, allowed[h], refused[h]) for h in order]

    def __bool__(self) -> bool:
        return bool(self.requests or self.approvals)


def _request(payload: dict[str, Any]) -> EgressRequest:
    at = payload.get("at")
    return EgressRequest(
        at=datetime.fromtimestamp(at, UTC) if isinstance(at, int | float) else None,
        method=str(payload.get("method", "")),
        host=str(payload.get("domain", "")),
        url=str(payload.get("url", "")),
        allowed=bool(payload.get("allowed")),
        reason=str(payload.get("reason", "")),
        approvable=bool(payload.get("approvable")),
    )


def attempt_egress_record(attempt: Attempt) -> AttemptEgress:
    """The attempt's egress requests (oldest first) and approvals (with who gave them)."""
    payloads = attempt.events.filter(kind=kinds.EGRESS).order_by("seq").values_list(
        "payload", flat=True
    )
    approvals = list(
        EgressApproval.objects.filter(attempt=attempt).select_related("approved_by").order_by("id")
    )
    return AttemptEgress(
        requests=[_request(p) for p in payloads if isinstance(p, dict)], approvals=approvals
    )
