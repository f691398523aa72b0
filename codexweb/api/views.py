"""REST API v1 endpoints: thin views over the same services and selectors the web pages use.

Every endpoint authenticates a personal token (auth.api_endpoint); another team's task or
attempt is 404, like in the web UI. OpenAPI description: openapi.py, served at openapi.json.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse

from codexweb.accounts.selectors import teams_for_user
from codexweb.api.auth import api_endpoint, parse_body
from codexweb.api.errors import ApiError
from codexweb.api.openapi import openapi_document
from codexweb.api.pulls import pull_request_open
from codexweb.api.representations import attempt_repr, event_repr, task_repr
from codexweb.api.schemas import PullRequestIn, TaskCreateIn
from repos.access import task_access_check
from repos.models import Repository
from repos.selectors import repositories_for_user
from tasks import services
from tasks.models import Mode, Status, Task
from tasks.selectors import (
    attempt_events_after,
    get_attempt_for_user,
    get_task_for_user,
    tasks_visible_to,
)

MAX_PAGE_SIZE = 100
MAX_EVENTS_PAGE = 1000


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # set by auth.authenticate


def _int_param(request: HttpRequest, name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = request.GET.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(
            400, "invalid_parameter", f"{name} must be a whole number, not {raw!r}."
        ) from exc
    if not minimum <= value <= maximum:
        raise ApiError(400, "invalid_parameter", f"{name} must be between {minimum} and {maximum}.")
    return value


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
    repositories = repositories_for_user(_user(request)).select_related("team")
    query = request.GET.get("q", "").strip()[:200]
    for word in query.split():
        owner, _, name = word.partition("/")
        if name:
            repositories = repositories.filter(owner__icontains=owner, name__icontains=name)
        else:
            repositories = repositories.filter(Q(owner__icontains=word) | Q(name__icontains=word))
    limit = _int_param(request, "limit", 50, minimum=1, maximum=MAX_PAGE_SIZE)
    return JsonResponse(
        {
            "results": [
                {
                    "id": r.pk,
                    "full_name": r.full_name,
                    "team": r.team.slug,
                    "default_branch": r.default_branch,
                    "visibility": r.visibility,
                }
                for r in repositories.order_by("owner", "name")[:limit]
            ]
        }
    )


def _resolve_repository(user: User, payload: TaskCreateIn) -> Repository:
    candidates = repositories_for_user(user).select_related("team")
    if payload.team:
        candidates = candidates.filter(team__slug=payload.team)
    if isinstance(payload.repository, int):
        matches = list(candidates.filter(pk=payload.repository))
        label = f"#{payload.repository}"
    else:
        owner, slash, name = payload.repository.strip().partition("/")
        if not slash or not owner or not name:
            raise ApiError(400, "invalid_request", "repository: write it as owner/name.")
        matches = list(candidates.filter(owner=owner, name=name))
        label = payload.repository
    if not matches:
        raise ApiError(404, "not_found", f"No repository {label} in your teams.")
    if len(matches) > 1:
        teams = ", ".join(sorted(r.team.slug for r in matches))
        raise ApiError(
            409,
            "ambiguous_repository",
            f'{label} exists in several of your teams ({teams}); pass "team".',
        )
    return matches[0]


@api_endpoint("GET", "POST")
def tasks_collection(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        return _task_create(request)
    return _task_list(request)


def _task_create(request: HttpRequest) -> JsonResponse:
    payload: TaskCreateIn = parse_body(request, TaskCreateIn)
    repository = _resolve_repository(_user(request), payload)
    try:
        task = services.task_create(
            author=_user(request),
            repository=repository,
            mode=payload.mode,
            prompt=payload.prompt,
            base_branch=payload.branch,
            model_tier=payload.model,
            attempts=payload.attempts,
            access_check=task_access_check,
        )
    except services.TaskError as exc:
        raise ApiError(400, "invalid_request", str(exc)) from exc
    task = Task.objects.select_related("team", "repository", "author").get(pk=task.pk)
    response = JsonResponse(
        task_repr(task, attempts=list(task.attempts.order_by("index"))), status=201
    )
    response["Location"] = reverse("api:task", args=[task.pk])
    return response


def _task_list(request: HttpRequest) -> JsonResponse:
    get = request.GET
    tasks = tasks_visible_to(_user(request)).select_related("team", "repository", "author")
    if get.get("team"):
        tasks = tasks.filter(team__slug=get["team"])
    if get.get("status"):
        if get["status"] not in Status.values:
            raise ApiError(
                400, "invalid_parameter", f"status must be one of {', '.join(Status.values)}."
            )
        tasks = tasks.filter(status=get["status"])
    if get.get("mode"):
        if get["mode"] not in Mode.values:
            raise ApiError(400, "invalid_parameter", "mode must be ask or code.")
        tasks = tasks.filter(mode=get["mode"])
    if get.get("repository"):
        owner, _, name = get["repository"].partition("/")
        tasks = tasks.filter(repository__owner=owner, repository__name=name)
    if get.get("author"):
        tasks = tasks.filter(author__username=get["author"])
    for word in get.get("q", "").split()[:10]:
        tasks = tasks.filter(prompt__icontains=word)
    page = _int_param(request, "page", 1, minimum=1, maximum=100000)
    size = _int_param(request, "page_size", 20, minimum=1, maximum=MAX_PAGE_SIZE)
    tasks = tasks.order_by("-created_at", "-id")
    rows = list(tasks[(page - 1) * size : page * size + 1])
    has_next = len(rows) > size
    return JsonResponse(
        {
            "results": [task_repr(t) for t in rows[:size]],
            "page": page,
            "page_size": size,
            "has_next": has_next,
        }
    )


@api_endpoint("GET")
def task_detail(request: HttpRequest, pk: int) -> JsonResponse:
    task = get_task_for_user(_user(request), pk)
    return JsonResponse(task_repr(task, attempts=list(task.attempts.order_by("index"))))


@api_endpoint("POST")
def task_cancel(request: HttpRequest, pk: int) -> JsonResponse:
    """Cancel every attempt of the task that has not finished."""
    task = get_task_for_user(_user(request), pk)
    running = [a for a in task.attempts.order_by("index") if not a.is_finished]
    if not running:
        raise ApiError(409, "already_finished", f"Task {task.pk} has already finished.")
    with transaction.atomic():
        for attempt in running:
            try:
                services.attempt_cancel(attempt_id=attempt.pk, by=_user(request))
            except services.TaskError:
                continue  # it finished meanwhile
    task = get_task_for_user(_user(request), pk)
    return JsonResponse(task_repr(task, attempts=list(task.attempts.order_by("index"))))


@api_endpoint("POST")
def task_pull_request(request: HttpRequest, pk: int) -> JsonResponse:
    task = get_task_for_user(_user(request), pk)
    payload: PullRequestIn = parse_body(request, PullRequestIn)
    if task.mode != Mode.CODE:
        raise ApiError(409, "not_code_task", "Ask tasks change nothing, so there is no PR to open.")
    attempts = list(task.attempts.order_by("index"))
    if payload.attempt is not None:
        chosen = next((a for a in attempts if a.index == payload.attempt), None)
        if chosen is None:
            raise ApiError(404, "not_found", f"Task {task.pk} has no attempt {payload.attempt}.")
    else:
        chosen = next((a for a in attempts if a.status == Status.SUCCEEDED and a.patch), None)
        if chosen is None:
            raise ApiError(409, "no_patch", "No attempt of this task succeeded with changes yet.")
    if chosen.status != Status.SUCCEEDED or not chosen.patch.strip():
        raise ApiError(
            409, "no_patch", f"Attempt {chosen.index} has no finished changes to open a PR with."
        )
    status, body = pull_request_open(attempt=chosen, user=_user(request), draft=payload.draft)
    return JsonResponse(body, status=status)


@api_endpoint("GET")
def attempt_detail(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(attempt_repr(get_attempt_for_user(_user(request), pk)))


@api_endpoint("POST")
def attempt_cancel(request: HttpRequest, pk: int) -> JsonResponse:
    attempt = get_attempt_for_user(_user(request), pk)
    try:
        attempt = services.attempt_cancel(attempt_id=attempt.pk, by=_user(request))
    except services.TaskError as exc:
        raise ApiError(409, "already_finished", str(exc)) from exc
    return JsonResponse(attempt_repr(attempt))


@api_endpoint("POST")
def attempt_retry(request: HttpRequest, pk: int) -> JsonResponse:
    """Run a failed or cancelled attempt again as a new attempt; returns the new attempt."""
    attempt = get_attempt_for_user(_user(request), pk)
    try:
        new = services.attempt_retry(attempt=attempt, by=_user(request))
    except services.TaskError as exc:
        raise ApiError(409, "not_retryable", str(exc)) from exc
    response = JsonResponse(attempt_repr(new), status=201)
    response["Location"] = reverse("api:attempt", args=[new.pk])
    return response


@api_endpoint("GET")
def attempt_events(request: HttpRequest, pk: int) -> JsonResponse:
    """A page of events after `after` (a seq); follow `next_after` until `finished` and empty."""
    attempt = get_attempt_for_user(_user(request), pk)
    after = _int_param(request, "after", 0, minimum=0, maximum=2**31)
    limit = _int_param(request, "limit", 200, minimum=1, maximum=MAX_EVENTS_PAGE)
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
