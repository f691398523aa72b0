"""The audit log page, for team admins: view, filter, export as CSV or JSON Lines."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from codexweb.accounts.current import current_admin_team
from codexweb.audit import actions
from codexweb.audit.export import csv_lines, jsonl_lines
from codexweb.audit.selectors import AuditFilter, audit_entries
from codexweb.query_params import optional_date, optional_int

PAGE_SIZE = 50


def _filters(request: HttpRequest) -> AuditFilter:
    action = request.GET.get("action", "")
    return AuditFilter(
        action=action if action in actions.ALL else "",
        actor_id=optional_int(request.GET, "actor"),
        target=request.GET.get("target", "").strip()[:200],
        since=optional_date(request.GET, "since"),
        until=optional_date(request.GET, "until"),
    )


@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    team = current_admin_team(request)
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
    team = current_admin_team(request)
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
