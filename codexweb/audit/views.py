"""The audit log page, for team admins: view, filter, export as CSV or JSON Lines."""

from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from codexweb.accounts.current import current_team
from codexweb.accounts.models import Team
from codexweb.accounts.selectors import is_team_admin
from codexweb.audit import actions
from codexweb.audit.export import csv_lines, jsonl_lines
from codexweb.audit.selectors import AuditFilter, audit_entries

PAGE_SIZE = 50


def _admin_team(request: HttpRequest) -> Team:
    team = current_team(request)
    if team is None or not is_team_admin(request.user, team):
        raise Http404("Only team admins can read the audit log.")
    return team


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def _filters(request: HttpRequest) -> AuditFilter:
    action = request.GET.get("action", "")
    return AuditFilter(
        action=action if action in actions.ALL else "",
        actor_id=_int(request.GET.get("actor")),
        target=request.GET.get("target", "").strip()[:200],
        since=_date(request.GET.get("since")),
        until=_date(request.GET.get("until")),
    )


@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    team = _admin_team(request)
    filters = _filters(request)
    entries = audit_entries(team, filters).select_related("actor")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/log.html",
        {
            "page": page,
            "filters": filters,
            "actions": actions.ALL,
            "actors": get_user_model().objects.filter(memberships__team=team).order_by("username"),
            "query": query.urlencode(),
        },
    )


@require_GET
def audit_export(request: HttpRequest, fmt: str) -> StreamingHttpResponse:
    team = _admin_team(request)
    entries = audit_entries(team, _filters(request)).iterator(chunk_size=500)
    if fmt == "csv":
        response = StreamingHttpResponse(csv_lines(entries), content_type="text/csv; charset=utf-8")
        filename = f"audit-{team.slug}.csv"
    elif fmt == "jsonl":
        response = StreamingHttpResponse(jsonl_lines(entries), content_type="application/x-ndjson")
        filename = f"audit-{team.slug}.jsonl"
    else:
        raise Http404("Unknown export format.")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
