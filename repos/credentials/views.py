"""Adding and deleting an environment's credentials (team admins; everyone else gets 404).
The list itself is part of the environment page (repos/environments/views.py)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from codexweb.accounts.confirm import confirm_page
from codexweb.accounts.http import AuthedRequest
from repos.credentials.forms import CredentialForm
from repos.credentials.models import EnvironmentCredential
from repos.credentials.selectors import agent_policy_reaches
from repos.credentials.services import CredentialChangeError, credential_delete, credential_set
from repos.environments.services import environment_for
from repos.environments.views import admin_repository_for_user


@require_POST
def credential_save(request: AuthedRequest, pk: int) -> HttpResponse:
    repository = admin_repository_for_user(request, pk)
    environment = environment_for(repository)
    form = CredentialForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("repos:environment", pk=repository.pk)
    try:
        credential = credential_set(environment=environment, actor=request.user,
                                    data=form.to_input())
    except CredentialChangeError as exc:
        messages.error(request, str(exc))
        return redirect("repos:environment", pk=repository.pk)
    said = f"Credential {credential.name} saved for {credential.domain}."
    if not agent_policy_reaches(environment, credential.domain):
        messages.warning(request, f"{said} The agent's internet policy does not allow "
                         f"{credential.domain}: add it there, or the credential is never used.")
    else:
        messages.success(request, said)
    return redirect("repos:environment", pk=repository.pk)


def credential_remove(request: AuthedRequest, pk: int, credential_id: int) -> HttpResponse:
    repository = admin_repository_for_user(request, pk)
    credential = get_object_or_404(
        EnvironmentCredential, pk=credential_id, environment__repository=repository
    )
    if request.method == "POST":
        credential_delete(credential=credential, actor=request.user)
        messages.success(request, f"Credential {credential.name} deleted.")
        return redirect("repos:environment", pk=repository.pk)
    return confirm_page(
        request,
        title="Delete a credential",
        question=f"Delete the credential {credential.name} ({credential.domain}) of "
        f"{repository.full_name}? Attempts that start from now on no longer send it.",
        button="Delete",
    )
