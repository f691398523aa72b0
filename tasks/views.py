"""Thin views: parse, authorize, call a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from codexweb.accounts.current import current_team
from repos.models import Repository
from repos.selectors import repositories_matching
from tasks import services
from tasks.forms import ComposerForm
from tasks.selectors import get_attempt_for_user, get_task_for_user


def _team_repositories(request: HttpRequest):
    team = current_team(request)
    if team is None:
        return Repository.objects.none()
    return Repository.objects.filter(team=team)


def home(request: HttpRequest) -> HttpResponse:
    """The composer. A POST creates the task; errors re-render with everything kept."""
    repositories = _team_repositories(request)
    if request.method == "POST":
        form = ComposerForm(request.POST, repositories=repositories)
        if form.is_valid():
            data = form.cleaned_data
            try:
                task = services.task_create(
                    author=request.user,
                    repository=data["repository"],
                    mode=data["mode"],
                    prompt=data["prompt"],
                    base_branch=data["base_branch"],
                    model_tier=data["model_tier"],
                    attempts=data["attempts"],
                )
            except services.TaskError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("tasks:detail", pk=task.pk)
        status = 400
    else:
        initial = {}
        last_repo = request.GET.get("repo")
        if last_repo and last_repo.isdigit():
            initial["repository"] = int(last_repo)
        form = ComposerForm(initial=initial, repositories=repositories)
        status = 200
    context = {"form": form, "repository_count": repositories.count()}
    return render(request, "tasks/home.html", context, status=status)


def detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for_user(request.user, pk)
    attempts = list(task.attempts.order_by("index").prefetch_related("events"))
    return render(request, "tasks/detail.html", {"task": task, "attempts": attempts})


@require_POST
def attempt_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    attempt = get_attempt_for_user(request.user, pk)
    try:
        services.attempt_cancel(attempt_id=attempt.pk, by=request.user)
    except services.TaskError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Attempt {attempt.index} cancelled.")
    return redirect("tasks:detail", pk=attempt.task_id)


@require_GET
def task_status(request: HttpRequest, pk: int) -> JsonResponse:
    """The task's and its attempts' status, for pages that poll."""
    task = get_task_for_user(request.user, pk)
    return JsonResponse(
        {
            "id": task.pk,
            "status": task.status,
            "finished": task.is_finished,
            "attempts": [
                {"id": a.pk, "index": a.index, "status": a.status, "error": a.error}
                for a in task.attempts.order_by("index")
            ],
        }
    )


@require_GET
def repository_picker(request: HttpRequest) -> JsonResponse:
    """Type-ahead search over the current team's repositories."""
    team = current_team(request)
    if team is None:
        return JsonResponse({"results": []})
    query = request.GET.get("q", "")[:200]
    results = repositories_matching(team, query)
    return JsonResponse(
        {
            "results": [
                {
                    "id": r.pk,
                    "full_name": r.full_name,
                    "default_branch": r.default_branch,
                    "visibility": r.visibility,
                }
                for r in results
            ]
        }
    )
