"""REST API for Review tasks: create one (POST /tasks with mode "review"), read an attempt's
findings, and post them as a pull request review (as the page's button does)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from codexweb.api.auth import api_endpoint, parse_body
from codexweb.api.errors import ApiError
from codexweb.api.schemas import ReviewPostIn, TaskCreateIn
from repos.access import task_access_check
from repos.github.client import GitHubError
from repos.models import Repository
from tasks.models import Task
from tasks.reviews.models import ReviewRecord
from tasks.reviews.selectors import attempt_findings, review_payload, review_record
from tasks.reviews.services import ReviewPostError, review_post_start, review_task_create
from tasks.selectors import get_attempt_for_user
from tasks.services import TaskError


def review_task_of(user: User, repository: Repository, payload: TaskCreateIn) -> Task:
    """The Review task a POST /tasks asks for; TaskError when the target is unusable."""
    source = None
    if payload.review_attempt is not None:
        try:
            source = get_attempt_for_user(user, payload.review_attempt)
        except Exception as exc:  # Http404: the same answer as an unknown attempt
            raise TaskError(f"No attempt {payload.review_attempt} you can see.") from exc
    return review_task_create(
        author=user, repository=repository, prompt=payload.prompt,
        branch=payload.review_branch, pull_number=payload.pull, source_attempt=source,
        base_branch=payload.branch, model_tier=payload.model, attempts=payload.attempts,
        access_check=task_access_check)


def review_repr(record: ReviewRecord | None, attempt: Any) -> dict[str, Any]:
    summary, findings, malformed = attempt_findings(attempt)
    return {
        "attempt": attempt.pk,
        "answered": review_payload(attempt) is not None,
        "summary": summary,
        "findings": [f.to_dict() for f in findings],
        "malformed": [m.to_dict() for m in malformed],
        "base_sha": record.base_sha if record else "",
        "head_sha": record.head_sha if record else "",
        "pull": record.pull_number if record else None,
        "post_state": record.post_state if record else "",
        "post_event": record.post_event if record else "",
        "post_url": record.html_url if record else "",
        "post_error": record.post_error if record else "",
        "poll_url": reverse("api:attempt_review", args=[attempt.pk]),
    }


@api_endpoint("GET")
def attempt_review(request: HttpRequest, pk: int) -> JsonResponse:
    """A Review attempt's findings and whether they were posted."""
    attempt = get_attempt_for_user(request.user, pk)  # type: ignore[arg-type]
    record = review_record(attempt)
    if record is None:
        raise ApiError(404, "not_found", f"Attempt {attempt.index} is not a review.")
    return JsonResponse(review_repr(record, attempt))


@api_endpoint("POST")
def attempt_post_review(request: HttpRequest, pk: int) -> JsonResponse:
    """Post as PR review (`event`: COMMENT, APPROVE or REQUEST_CHANGES): 202 while a job posts
    it (poll `poll_url`), 200 once posted."""
    attempt = get_attempt_for_user(request.user, pk)  # type: ignore[arg-type]
    payload: ReviewPostIn = parse_body(request, ReviewPostIn)
    try:
        record, _started = review_post_start(attempt=attempt, user=request.user,  # type: ignore[arg-type]
                                             event=payload.event)
    except ReviewPostError as exc:
        raise ApiError(409, "cannot_post_review", str(exc)) from exc
    except GitHubError as exc:
        raise ApiError(502, "github_error", f"GitHub: {exc}") from exc
    status = 200 if record.post_state == ReviewRecord.PostState.POSTED else 202
    return JsonResponse(review_repr(record, attempt), status=status)
