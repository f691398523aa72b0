"""A TaskSearch from a query string: leniently for the pages, strictly for the API.

The pages and the API name some filters differently (`author` is an id in the pages' selects and
a username in the API; `repo` is the sidebar's id), but both end up in the one TaskSearch that
tasks.selectors.tasks_search runs.
"""

from __future__ import annotations

from django.http import QueryDict

from codexweb.query_params import QueryParamError, optional_date, optional_int, query_date
from tasks.models import Mode, Status
from tasks.selectors import TaskSearch

MAX_TEXT = 200


def page_task_search(params: QueryDict) -> TaskSearch:
    """The history page's filters; an unknown value is ignored rather than failing the page.

    `repository` (owner/name, typed) counts only when no `repo` id is chosen."""
    status, mode = params.get("status", ""), params.get("mode", "")
    repository_id = optional_int(params, "repo")
    return TaskSearch(
        author_id=optional_int(params, "author"),
        repository_id=repository_id,
        repository="" if repository_id else params.get("repository", "").strip()[:MAX_TEXT],
        status=status if status in Status.values else "",
        mode=mode if mode in Mode.values else "",
        since=optional_date(params, "since"),
        until=optional_date(params, "until"),
        text=params.get("q", "").strip()[:MAX_TEXT],
    )


def sidebar_task_search(params: QueryDict) -> TaskSearch:
    """The sidebar's three filters (repository, status, author) of the page's search."""
    search = page_task_search(params)
    return TaskSearch(
        repository_id=search.repository_id, status=search.status, author_id=search.author_id
    )


def api_task_search(params: QueryDict) -> TaskSearch:
    """The API's filters; raises QueryParamError naming a value it cannot use."""
    status, mode = params.get("status", ""), params.get("mode", "")
    if status and status not in Status.values:
        raise QueryParamError(f"status must be one of {', '.join(Status.values)}.")
    if mode and mode not in Mode.values:
        raise QueryParamError("mode must be ask, code or review.")
    return TaskSearch(
        team_slug=params.get("team", ""),
        author=params.get("author", ""),
        repository=params.get("repository", ""),
        status=status,
        mode=mode,
        since=query_date(params, "since"),
        until=query_date(params, "until"),
        text=params.get("q", ""),
    )
