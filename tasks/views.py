"""Thin views: parse, authorize, call a service, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from codexweb.accounts.current import current_team, signed_in_user
from codexweb.accounts.middleware import json_endpoint
from codexweb.accounts.models import Team
from codexweb.accounts.selectors import is_team_admin
from repos.access import task_access_check
from repos.github.selectors import github_credentials_for
from repos.models import Repository
from repos.selectors import repositories_matching, team_repositories
from tasks import services
from tasks.composer import composer_repository, composer_repository_remember
from tasks.forms import ComposerForm
from tasks.models import Mode, Task
from tasks.reviews.services import review_task_from_text
from tasks.selectors import (
    get_attempt_for_user,
    get_task_for_user,
    repositories_recently_used,
)
from tasks.views_live import to_new_attempt


def _team_repositories(team: Team | None) -> QuerySet[Repository]:
    if team is None:
        return Repository.objects.none()
    return team_repositories(team).order_by("owner", "name")


def home(request: HttpRequest) -> HttpResponse:
    """The composer. A POST creates the task; errors re-render with everything kept (400)."""
    team = current_team(request)
    repositories = _team_repositories(team)
    status = 200
    if request.method == "POST":
        form = ComposerForm(request.POST, request.FILES, repositories=repositories)
        if form.is_valid():
            data = form.cleaned_data
            try:
                task = _create(signed_in_user(request), data)
            except services.TaskError as exc:
                form.add_error(None, str(exc))
            else:
                composer_repository_remember(request.session, data["repository"])
                return redirect("tasks:detail", pk=task.pk)
        status = 400
        chosen = form.cleaned_data.get("repository")
    else:
        chosen = composer_repository(
            repositories, asked=request.GET.get("repository"), session=request.session
        )
        form = ComposerForm(
            initial={"repository": chosen.pk if chosen else None}, repositories=repositories
        )
    if chosen is not None:
        form.fields["base_branch"].widget.attrs["placeholder"] = chosen.default_branch
    can_register = team is not None and is_team_admin(request.user, team)
    context = {
        "form": form,
        "repository_count": repositories.count(),
        "can_register": can_register,
        # Signed in with GitHub: the empty state leads with connecting their repositories.
        "can_connect_github": can_register and github_credentials_for(request.user).exists(),
    }
    return render(request, "tasks/home.html", context, status=status)


# The composer's fields a Review task takes as an Ask or Code task does.
_BOTH_KINDS = ("repository", "prompt", "base_branch", "model_tier", "attempts")


def _create(author: User, data: dict[str, Any]) -> Task:
    """The composer's task: a Review task when Review was pressed, else Ask or Code."""
    both = {name: data[name] for name in _BOTH_KINDS}
    if data["mode"] == Mode.REVIEW:
        return review_task_from_text(
            author=author, text=data.get("review_target", ""), access_check=task_access_check,
            **both)
    return services.task_create(
        author=author, mode=data["mode"], images=data["images"],
        pull_request=data["pull_request"], access_check=task_access_check, **both)



@require_POST
def attempt_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    attempt = get_attempt_for_user(request.user, pk)
    try:
        services.attempt_cancel(attempt_id=attempt.pk, by=signed_in_user(request))
    except services.TaskError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Attempt {attempt.index} cancelled.")
    return redirect("tasks:detail", pk=attempt.task_id)


@require_POST
def attempt_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Run a failed or cancelled attempt again, as a new attempt (the person's choice)."""
    attempt = get_attempt_for_user(request.user, pk)
    return to_new_attempt(
        request,
        attempt,
        lambda: services.attempt_retry(attempt=attempt, by=signed_in_user(request)),
        lambda new: f"Attempt {attempt.index} retried as attempt {new.index}.",
    )


@json_endpoint
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


@json_endpoint
@require_GET
def repository_picker(request: HttpRequest) -> JsonResponse:
    """Type-ahead search over the current team's repositories (never another team's)."""
    team = current_team(request)
    if team is None:
        return JsonResponse({"results": []})
    query = request.GET.get("q", "")[:200]
    visibility = request.GET.get("visibility", "")
    if visibility and visibility not in Repository.Visibility.values:
        return JsonResponse(
            {"error": "visibility must be public, private or internal.", "results": []},
            status=400,
        )
    # With nothing typed, the repositories this person used last come first.
    recent = [] if query.strip() else repositories_recently_used(team, request.user)
    results = repositories_matching(team, query, visibility=visibility, prefer=recent)
    return JsonResponse(
        {
            "results": [
                {
                    "id": r.pk,
                    "full_name": r.full_name,
                    "default_branch": r.default_branch,
                    "visibility": r.visibility,
                    "recent": r.pk in recent,
                    "branches_url": reverse("repos:branches", args=[r.pk]),
                    "pulls_url": reverse("repos:pulls", args=[r.pk]),
                }
                for r in results
            ]
        }
    )
