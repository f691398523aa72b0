"""A repository's environment page. Team members read it; only team admins change it.

The "run setup now" pages are repos/setup_runs/views.py.

Another team's user gets 404 for every URL here; a member who tries to change something gets 404
too (the change URLs are not theirs), while the page itself shows them the policy read-only.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from codexweb.accounts.confirm import confirm_then_do
from codexweb.accounts.http import AuthedRequest
from codexweb.accounts.models import DomainList
from codexweb.accounts.selectors import is_team_admin
from repos.credentials.forms import CredentialForm
from repos.credentials.selectors import credential_rows
from repos.domains import DomainError
from repos.environments.forms import EnvironmentForm, SecretForm
from repos.environments.services import (
    EnvironmentChange,
    EnvironmentChangeError,
    cache_reset,
    environment_for,
    environment_update,
    secret_delete,
    secret_set,
)
from repos.models import EnvironmentSecret, Repository
from repos.selectors import get_repository_for_user, setup_runs_recent
from repos.setup_runs.services import setup_run_unavailable_reason


def admin_repository_for_user(request: AuthedRequest, pk: int) -> Repository:
    """The repository if the person is an admin of its team, else 404 (changes are theirs)."""
    repository = get_repository_for_user(request.user, pk)
    if not is_team_admin(request.user, repository.team):
        raise Http404("Only team admins can change the environment.")
    return repository


def environment_page(request: AuthedRequest, pk: int) -> HttpResponse:
    repository = get_repository_for_user(request.user, pk)
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
        "credentials": credential_rows(environment),
        "credential_form": CredentialForm() if is_admin else None,
        "is_admin": is_admin,
        "setup_unavailable": setup_run_unavailable_reason(environment),
        "setup_runs": setup_runs_recent(environment),
    }
    return render(
        request, "repos/environment.html", context, status=400 if request.method == "POST" else 200
    )


@require_POST
def secret_save(request: AuthedRequest, pk: int) -> HttpResponse:
    repository = admin_repository_for_user(request, pk)
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
    repository = admin_repository_for_user(request, pk)
    secret = get_object_or_404(EnvironmentSecret, pk=secret_id, environment__repository=repository)

    def delete() -> str:
        secret_delete(secret=secret, actor=request.user)
        return f"Secret {secret.name} deleted."

    return _confirm_then_back(
        request, repository, delete, title="Delete a secret", button="Delete",
        question=f"Delete the secret {secret.name} of {repository.full_name}? Setup scripts "
        "that use it will no longer see it.",
    )


def cache_reset_view(request: AuthedRequest, pk: int) -> HttpResponse:
    repository = admin_repository_for_user(request, pk)

    def reset() -> str:
        cache_reset(environment=environment_for(repository), actor=request.user)
        return "Cache reset: the next attempt prepares a fresh container."

    return _confirm_then_back(
        request, repository, reset, title="Reset the cache", button="Reset cache",
        question=f"Reset the cached environment of {repository.full_name}? The next attempt "
        "runs the setup script from scratch, which takes longer.",
    )


def _confirm_then_back(
    request: AuthedRequest, repository: Repository, do: Callable[[], str], **page: str
) -> HttpResponse:
    """An are-you-sure step of the environment page (`page`: its title, question and button):
    once done, the person is back on the page."""
    return confirm_then_do(
        request, do, then=reverse("repos:environment", args=[repository.pk]), **page
    )
