"""Team admins connect repositories from their GitHub catalog, and disconnect them.

Every view here is for admins of the current team; anyone else gets 404, like any page that is
not theirs. Members see the connected repositories on the repositories page.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from codexweb.accounts.current import current_admin_team, signed_in_user
from codexweb.accounts.selectors import is_team_admin
from repos.github.connect import ConnectError, github_repository_connect, repository_disconnect
from repos.github.models import ConnectedOrganization, GitHubCredential, GitHubRepositoryAccess
from repos.github.organizations import organization_connect, organization_disconnect
from repos.github.selectors import catalog_owners, github_catalog, github_credentials_for
from repos.github.sync_request import sync_status
from repos.selectors import get_repository_for_user, team_repositories

PER_PAGE = 50
ORDERS = {"name": "Name", "recent": "Recently pushed"}
VISIBILITIES = {"": "Any visibility", "public": "Public", "private": "Private",
                "internal": "Internal"}


def _credential(user: User, provider: str) -> GitHubCredential | None:
    credentials = github_credentials_for(user)
    return (credentials.filter(provider=provider).first() if provider else None) or \
        credentials.order_by("pk").first()


def connect_page(request: HttpRequest) -> HttpResponse:
    """The admin's synced catalog, filtered and paginated, with connected ones marked."""
    user, team = signed_in_user(request), current_admin_team(request)
    get = request.GET
    credential = _credential(user, get.get("provider", ""))
    query = get.get("q", "").strip()[:200]
    visibility = get.get("visibility", "")
    order = get.get("order", "name")
    if visibility not in VISIBILITIES or order not in ORDERS:
        messages.error(request, "Unknown filter; showing every repository by name.")
        visibility, order = "", "name"
    context: dict = {
        "team": team, "credential": credential, "credentials": github_credentials_for(user),
        "query": query, "visibility": visibility, "order": order, "orders": ORDERS,
        "visibilities": VISIBILITIES,
    }
    if credential is not None:
        provider = credential.provider
        status = sync_status(credential)
        rows = github_catalog(user, provider=provider, query=query, visibility=visibility,
                              order=order)
        page = Paginator(rows, PER_PAGE).get_page(get.get("page"))
        ids = [row.external_id for row in page]
        connected = dict(team_repositories(team).filter(
            provider=provider, external_id__in=ids
        ).values_list("external_id", "pk"))
        links = {link.owner.lower(): link for link in
                 ConnectedOrganization.objects.filter(team=team, provider=provider)}
        context.update({
            "page": page,
            "rows": [(row, connected.get(row.external_id)) for row in page],
            "owners": [(owner, count, links.get(owner.lower()))
                       for owner, count in catalog_owners(user, provider=provider)],
            "links": list(links.values()),
            "status_list": [status],
            "sync_running": status.state == "running",
            "filters": urlencode({k: v for k, v in {
                "provider": provider, "q": query, "visibility": visibility,
                "order": order if order != "name" else ""}.items() if v}),
        })
    return render(request, "repos/connect.html", context)


def _back(request: HttpRequest) -> HttpResponse:
    filters = request.POST.get("filters", "")
    return redirect("/repositories/connect/" + (f"?{filters}" if filters else ""))


@require_POST
def connect_repositories(request: HttpRequest) -> HttpResponse:
    """Connect the chosen rows of the admin's own catalog to the current team."""
    user, team = signed_in_user(request), current_admin_team(request)
    ids = [int(raw) for raw in request.POST.getlist("access") if raw.isdigit()]
    rows = list(GitHubRepositoryAccess.objects.filter(
        pk__in=ids, credential__user=user).select_related("credential"))
    if not rows:
        messages.error(request, "Choose at least one repository to connect.")
        return _back(request)
    names = []
    try:
        for row in rows:
            names.append(github_repository_connect(team=team, actor=user, access=row).full_name)
    except ConnectError as exc:
        messages.error(request, str(exc))
    if names:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        messages.success(request, f"Connected {shown} to {team.name}.")
    return _back(request)


@require_POST
def connect_organization(request: HttpRequest) -> HttpResponse:
    """Connect every repository of one owner, now and after each sync."""
    user, team = signed_in_user(request), current_admin_team(request)
    credential = _credential(user, request.POST.get("provider", ""))
    owner = request.POST.get("owner", "").strip()
    if credential is None or not owner:
        messages.error(request, "Choose an organization to connect.")
        return _back(request)
    try:
        link, added = organization_connect(team=team, actor=user, credential=credential,
                                           owner=owner)
    except ConnectError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Connected {added} repositor{'y' if added == 1 else 'ies'} "
                                  f"of {link.owner}; new ones are connected on each sync.")
    return _back(request)


@require_POST
def disconnect_organization(request: HttpRequest, pk: int) -> HttpResponse:
    user, team = signed_in_user(request), current_admin_team(request)
    link = get_object_or_404(ConnectedOrganization, pk=pk, team=team)
    organization_disconnect(team=team, actor=user, link=link)
    messages.success(request, f"New repositories of {link.owner} will no longer be connected; "
                              "those already connected stay.")
    return _back(request)


def disconnect_repository(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation (saying what goes with it); POST disconnects."""
    user = signed_in_user(request)
    repository = get_repository_for_user(user, pk)
    if not is_team_admin(user, repository.team):
        raise Http404("Only team admins can disconnect repositories.")
    if request.method == "POST":
        try:
            kept = repository_disconnect(team=repository.team, actor=user,
                                         repository=repository)
        except ConnectError as exc:  # e.g. lost admin rights meanwhile
            raise Http404(str(exc)) from exc
        suffix = f"; its {kept} task{'s' if kept != 1 else ''} stay in the history" if kept else ""
        messages.success(request, f"Disconnected {repository.full_name}{suffix}.")
        return redirect("repos:list")
    return render(request, "repos/disconnect.html", {
        "repository": repository, "task_count": repository.tasks.count(),
    })
