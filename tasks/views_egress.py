"""The task page's side of just-in-time egress approval (issue 14 item 3): the buttons next to
a refused request post here (the live page's `static/js/live/egress.js`), and the attempt's
full egress record has its own page, linked from the result and the pull request. Thin: the
services and selectors are tasks/approvals/'s, the same the API calls."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from codexweb.accounts.current import signed_in_user
from tasks.approvals.selectors import attempt_egress_record
from tasks.approvals.services import ApprovalDenied, ApprovalImpossible, egress_approve
from tasks.selectors import get_attempt_for_user
from tasks.services import TaskError


@require_POST
def attempt_egress_approve(request: HttpRequest, pk: int) -> JsonResponse:
    """"Allow once for this attempt" / "Add to this repository's allowlist": JSON with a
    sentence for the page (`message`, or `error` with 400/403/409)."""
    attempt = get_attempt_for_user(request.user, pk)
    host = request.POST.get("host", "")[:253]
    scope = request.POST.get("scope", "attempt")
    try:
        approval = egress_approve(attempt=attempt, by=signed_in_user(request), host=host,
                                  scope=scope)
    except ApprovalDenied as exc:
        return JsonResponse({"error": str(exc)}, status=403)
    except ApprovalImpossible as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    except TaskError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    also = " and added to the repository's allowlist" if scope == "repository" else ""
    return JsonResponse(
        {"message": f"{approval.host} allowed{also}: the agent is told after its next command."},
        status=201,
    )


@require_GET
def attempt_egress(request: HttpRequest, pk: int) -> HttpResponse:
    """Every request the attempt's egress proxy decided, and who approved what."""
    attempt = get_attempt_for_user(request.user, pk)
    return render(
        request,
        "tasks/egress.html",
        {"attempt": attempt, "task": attempt.task, "record": attempt_egress_record(attempt)},
    )
