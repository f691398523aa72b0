"""GitHub pages' small endpoints: "Refresh from GitHub", its progress, and the composer's
branches and open pull requests.

Every view authorizes: people act on their own credentials only, and on repositories of their
own teams only (another team's repository is a 404).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from codexweb.accounts.current import signed_in_user
from codexweb.accounts.middleware import json_endpoint
from repos.access import repository_access
from repos.git.branches import branches_for
from repos.github.client import GitHubAuthError, GitHubError
from repos.github.open_pulls import open_pulls
from repos.github.selectors import github_credentials_for
from repos.github.sync_request import repositories_sync_request, sync_status
from repos.selectors import get_repository_for_user


@require_POST
def sync_refresh(request: HttpRequest) -> HttpResponse:
    """Enqueue a sync of each of the person's GitHub catalogs, then go back to the page."""
    user = signed_in_user(request)
    started = 0
    for credential in github_credentials_for(user):
        name = credential.get_provider_display()
        if credential.invalid_at is not None:
            messages.warning(request, f"Your {name} sign-in has expired or was revoked. "
                                      f"Sign in again with {name} to refresh your repositories.")
        elif repositories_sync_request(credential=credential):
            started += 1
        else:
            messages.info(request, f"Your repositories are already being fetched from {name}.")
    if started:
        messages.success(request, "Fetching your repositories from GitHub; this page updates "
                                  "when it is done.")
    elif not github_credentials_for(user).exists():
        messages.warning(request, "Sign in with GitHub first to fetch your repositories.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "/repositories/"
    return redirect(target)


@json_endpoint
@require_GET
def sync_state(request: HttpRequest) -> JsonResponse:
    """The state of each of the person's catalogs, for the page to poll while a sync runs."""
    statuses = [sync_status(c) for c in github_credentials_for(signed_in_user(request))]
    return JsonResponse({
        "running": any(s.state == "running" for s in statuses),
        "catalogs": [s.as_json() for s in statuses],
    })


@json_endpoint
@require_GET
def repository_branches(request: HttpRequest, pk: int) -> JsonResponse:
    """Branch names of one of the person's teams' repositories, from the host's mirror.

    Never waits for git: a stale mirror is fetched by a job and `refreshing` says so (poll).
    403 when GitHub says the person cannot read it; 503 with GitHub's reason (rate limit...).
    A refused token is handled by the middleware (401, sign in again).
    """
    user = signed_in_user(request)
    repository = get_repository_for_user(user, pk)
    if repository.is_on_github:
        try:
            access = repository_access(user, repository)
        except GitHubAuthError:
            raise
        except GitHubError as exc:
            return JsonResponse({"error": str(exc)}, status=503)
        if not access.can_read:
            return JsonResponse({"error": access.reason}, status=403)
    listing = branches_for(repository, user=user)
    return JsonResponse({
        "repository": repository.full_name,
        "default_branch": repository.default_branch,
        "branches": listing.branches,
        "fetched_at": listing.fetched_at.isoformat() if listing.fetched_at else None,
        "refreshing": listing.refreshing,
    })


@json_endpoint
@require_GET
def repository_pulls(request: HttpRequest, pk: int) -> JsonResponse:
    """Open pull requests of one of the person's teams' repositories, for the composer's
    "Or pull request" suggestions. Failures answer a sentence in `error` (403 when the person
    may not read it, 503 when GitHub cannot say); a refused token is the middleware's 401."""
    user = signed_in_user(request)
    repository = get_repository_for_user(user, pk)
    try:
        access = repository_access(user, repository) if repository.is_on_github else None
        if access is not None and not access.can_read:
            return JsonResponse({"error": access.reason, "pulls": []}, status=403)
        pulls = open_pulls(user, repository)
    except GitHubAuthError:
        raise
    except GitHubError as exc:
        return JsonResponse({"error": f"Could not list the pull requests: {exc}",
                             "pulls": []}, status=503)
    return JsonResponse({"repository": repository.full_name, "error": "",
                         "pulls": [p.as_json() for p in pulls]})
