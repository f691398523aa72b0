"""REST API v1 endpoints: thin views over the same services and selectors the web pages use.

Every endpoint authenticates a personal token (auth.api_endpoint); another team's task or
attempt is 404, like in the web UI. OpenAPI description: openapi.py, served at openapi.json.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse

from codexweb.accounts.selectors import teams_for_user
from codexweb.api.auth import api_endpoint, parse_body
from codexweb.api.errors import ApiError, refusals
from codexweb.api.images import api_images, body_limit_with_images
from codexweb.api.openapi import openapi_document
from codexweb.api.paging import MAX_PAGE_SIZE, page_response
from codexweb.api.representations import (
    attempt_repr,
    event_repr,
    pull_request_repr,
    repository_repr,
    steer_repr,
    task_repr,
)
from codexweb.api.schemas import FollowUpIn, PullRequestIn, SteerIn, TaskCreateIn
from codexweb.api.views_review import review_task_of
from codexweb.query_params import query_int
from repos.access import task_access_check
from repos.github.client import GitHubError
from repos.models import Repository
from repos.selectors import (
    RepositoryReferenceError,
    repositories_for_user,
    repositories_named,
    repository_by_reference,
)
from tasks import services
from tasks.models import Attempt
from tasks.pull_requests import services as pulls
from tasks.pull_requests.models import PullRequestRecord
from tasks.pull_requests.resolve import attempt_resolve as attempt_resolve_service
from tasks.pull_requests.selectors import pull_request_for_attempt
from tasks.search_params import api_task_search
from tasks.selectors import (
    attempt_events_after,
    get_attempt_for_user,
    get_task_for_user,
    tasks_search,
    tasks_visible_to,
)
from tasks.steering.services import SteerDenied, SteerFinished, steer_send

MAX_EVENTS_PAGE = 1000


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # set by auth.authenticate


def openapi_json(request: HttpRequest) -> JsonResponse:
    """The OpenAPI description (public: it documents, it reveals nothing)."""
    return JsonResponse(openapi_document())


@api_endpoint("GET")
def me(request: HttpRequest) -> JsonResponse:
    user = _user(request)
    return JsonResponse(
        {
            "username": user.get_username(),
            "teams": [
                {"slug": t.slug, "name": t.name} for t in teams_for_user(user).order_by("name")
            ],
        }
    )


@api_endpoint("GET")
def repository_list(request: HttpRequest) -> JsonResponse:
    query = request.GET.get("q", "").strip()[:200]
    repositories = repositories_named(repositories_for_user(_user(request)), query)
    limit = query_int(request.GET, "limit", 50, minimum=1, maximum=MAX_PAGE_SIZE)
    rows = repositories.select_related("team").order_by("owner", "name")[:limit]
    return JsonResponse({"results": [repository_repr(r) for r in rows]})


def _repository(user: User, payload: TaskCreateIn) -> Repository:
    try:
        return repository_by_reference(user, payload.repository, team_slug=payload.team)
    except RepositoryReferenceError as exc:
        status, code = _REFERENCE_ERRORS[exc.reason]
        raise ApiError(status, code, str(exc)) from exc


_REFERENCE_ERRORS = {
    "invalid": (400, "invalid_request"),
    "not_found": (404, "not_found"),
    "ambiguous": (409, "ambiguous_repository"),
}


@api_endpoint("GET", "POST")
def tasks_collection(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        return _task_create(request)
    return _task_list(request)


def _task_create(request: HttpRequest) -> JsonResponse:
    payload: TaskCreateIn = parse_body(request, TaskCreateIn, max_bytes=body_limit_with_images())
    images = api_images(payload.images, model_tier=payload.model)
    repository = _repository(_user(request), payload)
    with refusals({services.TaskError: (400, "invalid_request")}):
        if payload.mode == "review":
            task = review_task_of(_user(request), repository, payload)
        else:
            task = services.task_create(author=_user(request), repository=repository,
                                        access_check=task_access_check, images=images,
                                        **payload.task_fields())
    task = get_task_for_user(_user(request), task.pk)
    response = JsonResponse(
        task_repr(task, attempts=list(task.attempts.order_by("index"))), status=201
    )
    response["Location"] = reverse("api:task", args=[task.pk])
    return response


def _task_list(request: HttpRequest) -> JsonResponse:
    tasks = tasks_search(tasks_visible_to(_user(request)), api_task_search(request.GET))
    return page_response(request.GET, tasks.select_related("team", "repository", "author"),
                         task_repr)


@api_endpoint("GET")
def task_detail(request: HttpRequest, pk: int) -> JsonResponse:
    task = get_task_for_user(_user(request), pk)
    return JsonResponse(task_repr(task, attempts=list(task.attempts.order_by("index"))))


@api_endpoint("POST")
def task_cancel(request: HttpRequest, pk: int) -> JsonResponse:
    """Cancel every attempt of the task that has not finished."""
    task = get_task_for_user(_user(request), pk)
    with refusals({services.TaskError: (409, "already_finished")}):
        services.task_cancel(task=task, by=_user(request))
    task = get_task_for_user(_user(request), pk)
    return JsonResponse(task_repr(task, attempts=list(task.attempts.order_by("index"))))


@api_endpoint("POST")
def task_pull_request(request: HttpRequest, pk: int) -> JsonResponse:
    """Create PR, as the page's button does: 202 while a job opens it (poll `poll_url`), 200
    when the attempt's pull request exists already."""
    task = get_task_for_user(_user(request), pk)
    payload: PullRequestIn = parse_body(request, PullRequestIn)
    try:
        attempt = pulls.pull_request_attempt(task, payload.attempt)
        record, _started = pulls.pull_request_start(attempt=attempt, user=_user(request),
                                                     draft=payload.draft)
    except pulls.PullRequestError as exc:
        status = 404 if exc.code == "no_attempt" else 409
        raise ApiError(status, "not_found" if status == 404 else exc.code, str(exc)) from exc
    except GitHubError as exc:
        raise ApiError(502, "github_error", f"GitHub: {exc}") from exc
    return _record_response(record, attempt)


def _record_response(record: PullRequestRecord, attempt: Attempt) -> JsonResponse:
    """202 while the job works on the record (poll its Location), else 200."""
    status = 202 if record.state == PullRequestRecord.State.CREATING else 200
    response = JsonResponse(pull_request_repr(record), status=status)
    response["Location"] = reverse("api:attempt_pr", args=[attempt.pk])
    return response


@api_endpoint("GET")
def attempt_pull_request(request: HttpRequest, pk: int) -> JsonResponse:
    """The attempt's pull request as it is now: poll while `state` is "creating"."""
    attempt = get_attempt_for_user(_user(request), pk)
    record = pull_request_for_attempt(attempt.pk)
    if record is None:
        raise ApiError(404, "not_found", f"Attempt {attempt.index} has no pull request.")
    return JsonResponse(pull_request_repr(record))


@api_endpoint("POST")
def attempt_push(request: HttpRequest, pk: int) -> JsonResponse:
    """Push to branch: the attempt's commit onto the branch its task started from, as a
    fast-forward (202 while the job pushes; poll `poll_url`). A branch that moved meanwhile is
    refused (the record's `resolvable` is then true)."""
    attempt = get_attempt_for_user(_user(request), pk)
    try:
        record, _started = pulls.pull_request_start(attempt=attempt, user=_user(request),
                                                     push_to_branch=True)
    except pulls.PullRequestError as exc:
        raise ApiError(409, exc.code, str(exc)) from exc
    except GitHubError as exc:
        raise ApiError(502, "github_error", f"GitHub: {exc}") from exc
    return _record_response(record, attempt)


@api_endpoint("POST")
def attempt_resolve(request: HttpRequest, pk: int) -> JsonResponse:
    """Resolve with the agent: a new attempt rebases this one's changes onto the current
    branch, resolves the conflicts and runs the checks; returns the new attempt."""
    attempt = get_attempt_for_user(_user(request), pk)
    with refusals({services.TaskError: (409, "not_resolvable")}):
        new = attempt_resolve_service(attempt=attempt, by=_user(request))
    return _created_attempt(new)


def _created_attempt(attempt: Attempt) -> JsonResponse:
    """201 with a new attempt, and where to find it."""
    response = JsonResponse(attempt_repr(attempt), status=201)
    response["Location"] = reverse("api:attempt", args=[attempt.pk])
    return response


@api_endpoint("GET")
def attempt_detail(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(attempt_repr(get_attempt_for_user(_user(request), pk)))


@api_endpoint("POST")
def attempt_cancel(request: HttpRequest, pk: int) -> JsonResponse:
    attempt = get_attempt_for_user(_user(request), pk)
    with refusals({services.TaskError: (409, "already_finished")}):
        attempt = services.attempt_cancel(attempt_id=attempt.pk, by=_user(request))
    return JsonResponse(attempt_repr(attempt))


@api_endpoint("POST")
def attempt_retry(request: HttpRequest, pk: int) -> JsonResponse:
    """Run a failed or cancelled attempt again as a new attempt; returns the new attempt."""
    attempt = get_attempt_for_user(_user(request), pk)
    with refusals({services.TaskError: (409, "not_retryable")}):
        new = services.attempt_retry(attempt=attempt, by=_user(request))
    return _created_attempt(new)


@api_endpoint("POST")
def attempt_messages(request: HttpRequest, pk: int) -> JsonResponse:
    """Send the running attempt's agent a message (it reads it after its current step) and/or
    ask it to stop after this step. 409 once the attempt has finished."""
    attempt = get_attempt_for_user(_user(request), pk)
    payload: SteerIn = parse_body(request, SteerIn)
    with refusals({SteerFinished: (409, "already_finished"), SteerDenied: (403, "forbidden"),
                   services.TaskError: (400, "invalid_request")}):
        message = steer_send(attempt=attempt, by=_user(request), text=payload.text,
                             stop=payload.stop)
    return JsonResponse(steer_repr(message), status=201)


@api_endpoint("POST")
def attempt_follow_up(request: HttpRequest, pk: int) -> JsonResponse:
    """Continue a finished attempt with a new instruction (and images): a new attempt, queued,
    as the task page's follow-up box does. 409 while it runs or when it cannot be continued."""
    attempt = get_attempt_for_user(_user(request), pk)
    payload: FollowUpIn = parse_body(request, FollowUpIn, max_bytes=body_limit_with_images())
    images = api_images(payload.images, model_tier=attempt.task.model_tier)
    with refusals({services.TaskError: (409, "cannot_follow_up")}):
        new = services.attempt_follow_up(attempt=attempt, prompt=payload.prompt,
                                         by=_user(request), update_pull_request=payload.update_pr,
                                         images=images)
    return _created_attempt(new)


@api_endpoint("GET")
def attempt_events(request: HttpRequest, pk: int) -> JsonResponse:
    """A page of events after `after` (a seq); follow `next_after` until `finished` and empty."""
    attempt = get_attempt_for_user(_user(request), pk)
    after = query_int(request.GET, "after", 0, minimum=0, maximum=2**31)
    limit = query_int(request.GET, "limit", 200, minimum=1, maximum=MAX_EVENTS_PAGE)
    attempt.refresh_from_db(fields=["status"])
    finished = attempt.is_finished  # read before the events, so "finished" implies "all shown"
    events = list(attempt_events_after(attempt, after)[:limit])
    return JsonResponse(
        {
            "attempt": attempt.pk,
            "events": [event_repr(e) for e in events],
            "next_after": events[-1].seq if events else after,
            "finished": finished and len(events) < limit,
        }
    )


@api_endpoint("GET")
def attempt_patch(request: HttpRequest, pk: int) -> HttpResponse:
    """The attempt's patch as plain text (`codexweb diff ID | git apply`)."""
    attempt = get_attempt_for_user(_user(request), pk)
    if not attempt.is_finished:
        raise ApiError(
            409,
            "not_finished",
            f"Attempt {attempt.index} is still {attempt.status}; "
            "its patch exists once it finishes.",
        )
    return HttpResponse(attempt.patch, content_type="text/x-diff; charset=utf-8")


def not_found(request: HttpRequest, rest: str) -> JsonResponse:
    return JsonResponse(
        {
            "error": f"No API endpoint /api/v1/{rest}; see /api/v1/openapi.json.",
            "code": "not_found",
        },
        status=404,
    )
