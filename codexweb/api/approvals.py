"""Just-in-time egress approval over the API (issue 14 item 3): approve a host the proxy
refused for a running attempt, and read an attempt's egress record. Thin: the services and
selectors are tasks/approvals/'s, the same the task page calls."""

from __future__ import annotations

from typing import Any, Literal

from django.contrib.auth.models import User
from django.http import HttpRequest, JsonResponse
from pydantic import BaseModel, ConfigDict, Field

from codexweb.api.auth import api_endpoint, parse_body
from codexweb.api.errors import refusals
from codexweb.api.fields import fields_of, queued_for_attempt, times_of
from tasks.approvals.models import EgressApproval
from tasks.approvals.selectors import EgressRequest, attempt_egress_record
from tasks.approvals.services import ApprovalDenied, ApprovalImpossible, egress_approve
from tasks.selectors import get_attempt_for_user
from tasks.services import TaskError


class EgressApprovalIn(BaseModel):
    """A host to let through for this attempt, or also for the repository's later attempts."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=253, description="the refused host")
    scope: Literal["attempt", "repository"] = Field(
        default="attempt",
        description="attempt: allow once for this attempt; repository: also add it to the "
        "repository's allowlist (team admins)",
    )


def approval_repr(approval: EgressApproval) -> dict[str, Any]:
    return {
        **queued_for_attempt(approval, by=approval.approved_by, taken_as="applied_at"),
        **fields_of(approval, "host", "scope"),
    }


def request_repr(request: EgressRequest) -> dict[str, Any]:
    return {
        **times_of(request, "at"),
        **fields_of(request, "method", "host", "url", "allowed", "reason", "approvable"),
    }


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # set by auth.authenticate


@api_endpoint("POST")
def attempt_egress_approvals(request: HttpRequest, pk: int) -> JsonResponse:
    """Approve a refused host for a running attempt; 403 without the right, 409 when nothing
    can be approved for it (finished, internet off or on)."""
    user = _user(request)
    attempt = get_attempt_for_user(user, pk)
    payload: EgressApprovalIn = parse_body(request, EgressApprovalIn)
    with refusals({ApprovalDenied: (403, "forbidden"), ApprovalImpossible: (409, "not_possible"),
                   TaskError: (400, "invalid_request")}):
        approval = egress_approve(attempt=attempt, by=user, host=payload.host, scope=payload.scope)
    return JsonResponse(approval_repr(approval), status=201)


@api_endpoint("GET")
def attempt_egress(request: HttpRequest, pk: int) -> JsonResponse:
    """Every request the attempt's egress proxy decided, oldest first, and the approvals."""
    attempt = get_attempt_for_user(_user(request), pk)
    record = attempt_egress_record(attempt)
    return JsonResponse(
        {
            "attempt": attempt.pk,
            "requests": [request_repr(r) for r in record.requests],
            "approvals": [approval_repr(a) for a in record.approvals],
        }
    )
