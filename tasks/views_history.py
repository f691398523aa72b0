"""The team history page: every member's tasks, filtered, searched and paginated."""

from __future__ import annotations

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
from codexweb.query_params import optional_int
from repos.selectors import team_repository_chosen
from tasks.history_rows import task_rows, with_row_fields
from tasks.models import Mode, Status, Task
from tasks.search_params import page_task_search
from tasks.selectors import team_tasks_search

PAGE_SIZE = 50
# Where a page starts: `before`/`after` cursors, and `page` from links made before the cursors.
_POSITION = ("before", "after", "page")


def _page(tasks: QuerySet[Task], get: QueryDict) -> KeysetPage[Task]:
    after = Cursor.decode(get.get("after"))
    if after is not None:
        return page_newer_than(tasks, after, PAGE_SIZE)
    return page_older_than(tasks, Cursor.decode(get.get("before")), PAGE_SIZE)


def _legacy_page_redirect(tasks: QuerySet[Task], request: HttpRequest) -> HttpResponseRedirect:
    """`?page=N` (bookmarks from the numbered pager) → the same rows by cursor, filters kept.

    Past the end, or a page that is no number, leads to the newest page.
    """
    number = optional_int(request.GET, "page", maximum=999_999) or 1
    filters = request.GET.copy()
    for key in _POSITION:
        filters.pop(key, None)
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
    search = page_task_search(request.GET)
    tasks = with_row_fields(team_tasks_search(team, search))
    if "page" in request.GET:
        return _legacy_page_redirect(tasks, request)
    page = _page(tasks, request.GET)
    query = request.GET.copy()
    for key in _POSITION:
        query.pop(key, None)
    selected_repository = team_repository_chosen(
        team, pk=search.repository_id, full_name=search.repository
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


@require_GET
def sidebar_history(request: HttpRequest) -> HttpResponse:
    """The sidebar's task list alone (tasks/context.py, with the sidebar's filters ?repo,
    ?status, ?author): the live sidebar (static/js/team-live.js) fetches it when the team
    socket names a task the list does not show yet, such as a teammate's new task."""
    if current_team(request) is None:
        raise Http404("You belong to no team.")
    response = render(request, "tasks/_sidebar_history.html")
    response["Cache-Control"] = "no-store"
    return response
