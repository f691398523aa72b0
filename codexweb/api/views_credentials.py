"""REST endpoints for a repository's egress credentials (team admins only; anyone else gets
404, like the pages). Values are write-only: no response ever holds one."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404

from codexweb.accounts.selectors import is_team_admin
from codexweb.api.auth import api_endpoint, parse_body
from codexweb.api.errors import refusals
from codexweb.api.fields import fields_of, times_of
from codexweb.api.schemas import CredentialIn
from repos.credentials.models import EnvironmentCredential
from repos.credentials.selectors import CredentialRow, credential_rows
from repos.credentials.services import (
    CredentialChangeError,
    CredentialInput,
    credential_delete,
    credential_set,
)
from repos.environments.services import environment_for
from repos.models import Environment, Repository
from repos.selectors import get_repository_for_user


def _admin_environment(request: HttpRequest, pk: int) -> tuple[Repository, Environment]:
    user: User = request.user  # type: ignore[assignment]  # set by auth.authenticate
    repository = get_repository_for_user(user, pk)
    if not is_team_admin(user, repository.team):
        raise Http404("No such repository among those you administer.")
    return repository, environment_for(repository)


def credential_repr(row: CredentialRow) -> dict[str, Any]:
    return {
        **fields_of(row, "id", "name", "domain", "kind", "header", "path_prefix", "allow_http",
                    "reachable"),
        **times_of(row, "updated_at", "last_used_at"),
    }


@api_endpoint("GET", "POST")
def credentials_collection(request: HttpRequest, pk: int) -> JsonResponse:
    """GET: the credentials (never their values). POST: add one, or replace the one of that
    name; 201 with it."""
    _, environment = _admin_environment(request, pk)
    if request.method == "GET":
        return JsonResponse(
            {"results": [credential_repr(row) for row in credential_rows(environment)]}
        )
    payload: CredentialIn = parse_body(request, CredentialIn)
    with refusals({CredentialChangeError: (400, "invalid_request")}):
        saved = credential_set(
            environment=environment,
            actor=request.user,  # type: ignore[arg-type]
            data=CredentialInput(**payload.model_dump()),
        )
    row = next(r for r in credential_rows(environment) if r.id == saved.pk)
    return JsonResponse(credential_repr(row), status=201)


@api_endpoint("DELETE")
def credential_detail(request: HttpRequest, pk: int, credential_id: int) -> HttpResponse:
    repository, _ = _admin_environment(request, pk)
    credential = get_object_or_404(
        EnvironmentCredential, pk=credential_id, environment__repository=repository
    )
    credential_delete(credential=credential, actor=request.user)  # type: ignore[arg-type]
    return HttpResponse(status=204)
