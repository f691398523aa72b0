"""The team history page: every member's tasks, filtered, searched and paginated."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_GET

from codexweb.accounts.current import current_team
from codexweb.keyset import (
    Cursor,
    KeysetPage,
    cursor_before_offset,
    page_newer_than,
    page_older_than,
)
from repos.models import Repository
from tasks.history_rows import task_rows, with_row_fields
from tasks.models import Mode, Status, Task
from tasks.selectors import HistorySearch, team_history_search

PAGE_SIZE = 50
# Where a page starts: `before`/`after` cursors, and `page` from links made before the cursors.
_POSITION = ("before", "after", "page")


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def history_search_from(request: HttpRequest) -> HistorySearch:
    """Filters from the query string; unknown values are ignored rather than failing."""
    get = request.GET
    status, mode = get.get("status", ""), get.get("mode", "")
    return HistorySearch(
        author_id=_int(get.get("author")),
        repository_id=_int(get.get("repo")),
        status=status if status in Status.values else "",
        mode=mode if mode in Mode.values else "",
        since=_date(get.get("since")),
        until=_date(get.get("until")),
        text=get.get("q", "").strip()[:200],
    )


def _page(tasks: QuerySet[Task], get: QueryDict) -> KeysetPage[Task]:
    after = Cursor.decode(get.get("after"))
    if after is not None:
        return page_newer_than(tasks, after, PAGE_SIZE)
    return page_older_than(tasks, Cursor.decode(get.get("before")), PAGE_SIZE)


def _legacy_page_redirect(tasks: QuerySet[Task], request: HttpRequest) -> HttpResponseRedirect:
    """`?page=N` (bookmarks from the numbered pager) → the same rows by cursor, filters kept.

    Past the end, or a page that is no number, leads to the newest page.
    """
    filters = request.GET.copy()
    raw = filters.get("page", "")
    for key in _POSITION:
        filters.pop(key, None)
    number = int(raw) if raw.isdigit() and len(raw) < 7 else 1
    cursor = cursor_before_offset(tasks, (number - 1) * PAGE_SIZE)
    if cursor is not None:
        filters["before"] = cursor.encode()
    return HttpResponseRedirect(
        f"{request.path}?{filters.urlencode()}" if filters else request.path
    )


@require_GET
def history(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    if team is None:
        raise Http404("You belong to no team.")
    search = history_search_from(request)
    named = request.GET.get("repository", "").strip()
    if named and not search.repository_id:
        owner, _, name = named.partition("/")
        found = (
            Repository.objects.filter(team=team, owner=owner, name=name)
            .values_list("pk", flat=True)
            .first()
        )
        # An unknown name matches nothing rather than silently showing everything.
        search = replace(search, repository_id=found or -1)
    tasks = with_row_fields(team_history_search(team, search))
    if "page" in request.GET:
        return _legacy_page_redirect(tasks, request)
    page = _page(tasks, request.GET)
    query = request.GET.copy()
    for key in _POSITION:
        query.pop(key, None)
    selected_repository = (
        Repository.objects.filter(team=team, pk=search.repository_id).first()
        if search.repository_id and search.repository_id > 0
        else None
    )
    return render(
        request,
        "tasks/history.html",
        {
            "page": page,
            "rows": task_rows(page.rows),
            "search": search,
            "query": query.urlencode(),
            "selected_repository": selected_repository,
            "statuses": Status.choices,
            "modes": Mode.choices,
        },
    )
