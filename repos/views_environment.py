"""A repository's environment page. Team members read it; only team admins change it.

Another team's user gets 404 for every URL here; a member who tries to change something gets 404
too (the change URLs are not theirs), while the page itself shows them the policy read-only.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from codexweb.accounts.confirm import confirm_page
from codexweb.accounts.http import AuthedRequest
from codexweb.accounts.middleware import json_endpoint
from codexweb.accounts.models import DomainList
from codexweb.accounts.selectors import is_team_admin
from repos.domains import DomainError
from repos.environments import (
    EnvironmentChange,
    EnvironmentChangeError,
    cache_reset,
    environment_for,
    environment_update,
    secret_delete,
    secret_set,
)
from repos.forms_environment import EnvironmentForm, SecretForm
from repos.models import EnvironmentSecret, Repository, SetupRun
from repos.selectors import repositories_for_user, setup_runs_recent
from repos.setup_runs import SetupRunError, setup_run_request, setup_run_unavailable_reason
from tasks.rendering.terminal import plain_terminal_text


def get_repository_for_user(request: AuthedRequest, pk: int) -> Repository:
    """The repository if the person belongs to its team, else 404."""
    return get_object_or_404(repositories_for_user(request.user).select_related("team"), pk=pk)


def _admin_repository(request: AuthedRequest, pk: int) -> Repository:
    repository = get_repository_for_user(request, pk)
    if not is_team_admin(request.user, repository.team):
        raise Http404("Only team admins can change the environment.")
    return repository


def environment_page(request: AuthedRequest, pk: int) -> HttpResponse:
    repository = get_repository_for_user(request, pk)
    is_admin = is_team_admin(request.user, repository.team)
    environment = environment_for(repository)
    list_choices = [(str(d.pk), d.name) for d in DomainList.objects.filter(team=repository.team)]
    allowed_images = list(settings.SANDBOX_ALLOWED_IMAGES)
    if request.method == "POST":
        if not is_admin:
            raise Http404("Only team admins can change the environment.")
        form = EnvironmentForm(
            request.POST, list_choices=list_choices, allowed_images=allowed_images
        )
        if form.is_valid():
            data = form.cleaned_data
            change = EnvironmentChange(
                setup_script=data["setup_script"].replace("\r\n", "\n"),
                variables=data["variables"],
                internet_policy=data["internet_policy"],
                allowed_domains=data["allowed_domains"],
                allowed_methods=data["allowed_methods"],
                domain_list_ids=[int(x) for x in data["domain_lists"]],
                setup_internet_policy=data["setup_internet_policy"],
                setup_allowed_domains=data["setup_allowed_domains"],
                setup_domain_list_ids=[int(x) for x in data["setup_domain_lists"]],
                cache_ttl_hours=data["cache_ttl_hours"],
                image=data["image"] or environment.image,
                custom_image=data["custom_image"] if data["image"] else environment.custom_image,
                maintenance_script=data["maintenance_script"].replace("\r\n", "\n"),
                path_prefix=data["path_prefix"],
            )
            try:
                environment_update(environment=environment, actor=request.user, change=change)
            except (EnvironmentChangeError, DomainError) as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request, "Environment saved. Attempts that start from now on use it."
                )
                return redirect("repos:environment", pk=repository.pk)
    else:
        form = EnvironmentForm(
            initial=EnvironmentForm.initial_for(environment),
            list_choices=list_choices,
            allowed_images=allowed_images,
            read_only=not is_admin,
        )
    context = {
        "repository": repository,
        "environment": environment,
        "form": form,
        "secret_form": SecretForm() if is_admin else None,
        "secrets": environment.secrets.all(),
        "is_admin": is_admin,
        "setup_unavailable": setup_run_unavailable_reason(environment),
        "setup_runs": setup_runs_recent(environment),
    }
    return render(
        request, "repos/environment.html", context, status=400 if request.method == "POST" else 200
    )


@require_POST
def secret_save(request: AuthedRequest, pk: int) -> HttpResponse:
    repository = _admin_repository(request, pk)
    form = SecretForm(request.POST)
    if form.is_valid():
        try:
            secret_set(
                environment=environment_for(repository),
                actor=request.user,
                name=form.cleaned_data["name"],
                value=form.cleaned_data["value"],
            )
        except EnvironmentChangeError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Secret {form.cleaned_data['name']} saved.")
    else:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("repos:environment", pk=repository.pk)


def secret_remove(request: AuthedRequest, pk: int, secret_id: int) -> HttpResponse:
    repository = _admin_repository(request, pk)
    secret = get_object_or_404(EnvironmentSecret, pk=secret_id, environment__repository=repository)
    if request.method == "POST":
        secret_delete(secret=secret, actor=request.user)
        messages.success(request, f"Secret {secret.name} deleted.")
        return redirect("repos:environment", pk=repository.pk)
    return confirm_page(
        request,
        title="Delete a secret",
        question=f"Delete the secret {secret.name} of {repository.full_name}? Setup scripts "
        "that use it will no longer see it.",
        button="Delete",
    )


def cache_reset_view(request: AuthedRequest, pk: int) -> HttpResponse:
    repository = _admin_repository(request, pk)
    if request.method == "POST":
        cache_reset(environment=environment_for(repository), actor=request.user)
        messages.success(request, "Cache reset: the next attempt prepares a fresh container.")
        return redirect("repos:environment", pk=repository.pk)
    return confirm_page(
        request,
        title="Reset the cache",
        question=f"Reset the cached environment of {repository.full_name}? The next attempt "
        "runs the setup script from scratch, which takes longer.",
        button="Reset cache",
    )


@require_POST
def setup_run(request: AuthedRequest, pk: int) -> HttpResponse:
    """Queue a run of the setup script (admins only) and show it."""
    repository = _admin_repository(request, pk)
    try:
        run = setup_run_request(repository=repository, actor=request.user)
    except SetupRunError as exc:
        messages.error(request, str(exc))
        return redirect("repos:environment", pk=repository.pk)
    return redirect("repos:setup_run_detail", pk=repository.pk, run_id=run.pk)


def _setup_run_for_user(request: AuthedRequest, pk: int, run_id: int) -> SetupRun:
    """A run of a repository of the person's team (members may read it), else 404."""
    repository = get_repository_for_user(request, pk)
    return get_object_or_404(
        SetupRun.objects.select_related("environment__repository", "requested_by"),
        pk=run_id,
        environment__repository=repository,
    )


def setup_run_detail(request: AuthedRequest, pk: int, run_id: int) -> HttpResponse:
    run = _setup_run_for_user(request, pk, run_id)
    return render(
        request,
        "repos/setup_run.html",
        {
            "repository": run.environment.repository,
            "run": run,
            "log": plain_terminal_text(run.log),
            "offset": len(run.log),
        },
    )


@json_endpoint
def setup_run_status(request: AuthedRequest, pk: int, run_id: int) -> JsonResponse:
    """The run's state and its log from `?offset=` (characters already shown) on; ANSI
    escapes and control characters are stripped, the page sets the text as text."""
    run = _setup_run_for_user(request, pk, run_id)
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
    except ValueError:
        return JsonResponse({"error": "offset must be a whole number."}, status=400)
    return JsonResponse(
        {
            "status": run.status,
            "status_label": run.get_status_display(),
            "active": run.is_active,
            "log": plain_terminal_text(run.log[offset:]),
            "offset": len(run.log),
            "error": run.error,
            "exit_code": run.exit_code,
            "warm_hit": run.warm_hit,
            "warm_made": run.warm_made,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        }
    )
