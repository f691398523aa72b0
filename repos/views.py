"""Repository pages: the team's list, and registering a repository from a git URL or path."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from codexweb.accounts.current import current_admin_team, current_team
from codexweb.accounts.selectors import is_team_admin
from repos.forms import RegisterRepositoryForm
from repos.github.selectors import github_credentials_for
from repos.github.sync_request import sync_status
from repos.models import Repository
from repos.selectors import team_repositories
from repos.services import (
    RepositoryError,
    repository_register,
    repository_registration_refused,
)


def repository_list(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    repositories = team_repositories(team) if team else Repository.objects.none()
    can_register = team is not None and is_team_admin(request.user, team)
    statuses = [sync_status(c) for c in github_credentials_for(request.user)]
    return render(request, "repos/list.html", {
        "repositories": repositories, "can_register": can_register, "statuses": statuses,
        "sync_running": any(s.state == "running" for s in statuses),
    })


def repository_new(request: HttpRequest) -> HttpResponse:
    """Team admins register a repository; others get 404 like any page that isn't theirs."""
    team = current_admin_team(request)
    form = RegisterRepositoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            repository = repository_register(team=team, actor=request.user, **form.cleaned_data)
        except RepositoryError as exc:
            form.add_error("location", str(exc))
        else:
            messages.success(request, f"{repository.full_name} is ready for tasks.")
            return redirect("repos:list")
    elif request.method == "POST" and form.data.get("location", "").strip() and (
        "location" in form.errors  # file://, SSH and the like: refused before the service
    ):
        repository_registration_refused(
            team=team, actor=request.user, location=form.data["location"],
            reason=" ".join(str(error) for error in form.errors["location"]),
        )
    status = 400 if request.method == "POST" else 200
    local_roots = [str(Path(root).expanduser()) for root in settings.GIT_LOCAL_ROOTS]
    return render(request, "repos/new.html", {"form": form, "local_roots": local_roots},
                  status=status)
