"""Just-in-time egress approval over the API (issue 14 item 3): approve a host the proxy
refused for a running attempt, and read an attempt's egress record. Thin: the services and
selectors are tasks/approvals/'s, the same the task page calls."""

from __future__ import annotations

from typing import Any, Literal

from django.contrib.auth.models import User
from django.http import HttpRequest, JsonResponse
from pydantic import BaseModel, ConfigDict, Field

from codexweb.api.auth import api_endpoint, parse_body
from codexweb.api.errors import ApiError
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
        "id": approval.pk,
        "attempt": approval.attempt_id,
        "host": approval.host,
        "scope": approval.scope,
        "by": approval.approved_by.get_username(),
        "created_at": approval.created_at.isoformat(),
        "applied_at": approval.taken_at.isoformat() if approval.taken_at else None,
    }


def request_repr(request: EgressRequest) -> dict[str, Any]:
    return {
        "at": request.at.isoformat() if request.at else None,
        "method": request.method,
        "host": request.host,
        "url": request.url,
        "allowed": request.allowed,
        "reason": request.reason,
        "approvable": request.approvable,
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
    try:
        approval = egress_approve(attempt=attempt, by=user, host=payload.host, scope=payload.scope)
    except ApprovalDenied as exc:
        raise ApiError(403, "forbidden", str(exc)) from exc
    except ApprovalImpossible as exc:
        raise ApiError(409, "not_possible", str(exc)) from exc
    except TaskError as exc:
        raise ApiError(400, "invalid_request", str(exc)) from exc
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
