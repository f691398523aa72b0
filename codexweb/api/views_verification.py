"""REST endpoints of best-of-N re-verification: a task's ranking (with each verification's
commands, exit codes and output tails), stopping one, and combining hunks into a verified
patch."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from codexweb.api.auth import api_endpoint, parse_body
from codexweb.api.errors import ApiError
from codexweb.api.schemas import CombineIn
from tasks.selectors import get_task_for_user
from tasks.verification.selectors import get_verification_for_user, ranking_json, task_ranking
from tasks.verification.services import (
    VerificationError,
    combined_patch_create,
    verification_stop,
)


@api_endpoint("GET")
def task_ranking_detail(request: HttpRequest, pk: int) -> JsonResponse:
    """The attempts best first with their verdicts and evidence; poll while `running`."""
    task = get_task_for_user(request.user, pk)
    return JsonResponse(ranking_json(task_ranking(task)))


@api_endpoint("POST")
def task_combine(request: HttpRequest, pk: int) -> JsonResponse:
    """Combine hunks (ids as the ranking's diff shows them) into a new attempt whose patch is
    verified before Create PR accepts it. 409 with the reason for overlapping hunks."""
    task = get_task_for_user(request.user, pk)
    payload: CombineIn = parse_body(request, CombineIn)
    try:
        verification = combined_patch_create(
            task=task,
            by=request.user,  # type: ignore[arg-type]  # set by auth.authenticate
            hunk_ids=payload.hunks,
        )
    except VerificationError as exc:
        raise ApiError(409, "cannot_combine", str(exc)) from exc
    ranking = ranking_json(task_ranking(task))
    body = next(c for c in ranking["combined"] if c["verification_id"] == verification.pk)
    response = JsonResponse(body, status=201)
    response["Location"] = reverse("api:task_ranking", args=[task.pk])
    return response


@api_endpoint("POST")
def verification_stop_view(request: HttpRequest, pk: int, verification_pk: int) -> JsonResponse:
    """Stop one re-verification: a queued one ends at once, a running one within seconds (poll
    the ranking); it ends as unverified. 409 when it has already ended."""
    verification = get_verification_for_user(request.user, pk, verification_pk)
    try:
        verification_stop(
            verification=verification,
            by=request.user,  # type: ignore[arg-type]  # set by auth.authenticate
        )
    except VerificationError as exc:
        raise ApiError(409, "already_ended", str(exc)) from exc
    ranking = ranking_json(task_ranking(verification.task))
    rows = [*ranking["attempts"], *ranking["combined"]]
    return JsonResponse(next(r for r in rows if r["verification_id"] == verification.pk))
