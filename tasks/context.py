"""The sidebar: the current team's recent tasks, grouped by day, with filters."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, Value
from django.db.models.functions import Concat
from django.http import HttpRequest

from codexweb.accounts.current import current_team
from codexweb.accounts.selectors import teams_for_user
from repos.models import Repository
from tasks.history_rows import task_rows, with_row_fields
from tasks.models import Status, Task
from tasks.search_params import sidebar_task_search
from tasks.selectors import group_by_day, member_choices, team_tasks_search

SIDEBAR_SIZE = 50
SIDEBAR_REPOSITORIES = 100


def _recent_repositories(team, selected_id: int | None):
    """(id, "owner/name") of the team's recent tasks' repositories (bounded: a team with thousands
    of repositories must not render them all on every page; bench/history.py), plus the selected
    one."""
    recent = Task.objects.filter(team=team).order_by("-created_at").values("repository_id")[:500]
    chosen = Q(pk__in=recent)
    if selected_id:
        chosen |= Q(pk=selected_id)
    return (
        Repository.objects.filter(chosen, team=team)
        .order_by("owner", "name")
        .values_list("pk", Concat("owner", Value("/"), "name"))[:SIDEBAR_REPOSITORIES]
    )


def sidebar(request: HttpRequest) -> dict[str, Any]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    team = current_team(request)
    if team is None:
        return {"teams": []}
    filters = sidebar_task_search(request.GET)
    tasks = list(with_row_fields(team_tasks_search(team, filters))[:SIDEBAR_SIZE])
    return {
        "team": team,
        "teams": list(teams_for_user(request.user)),
        "history_groups": [(day, task_rows(rows)) for day, rows in group_by_day(tasks)],
        "history_filter": filters,
        "history_repositories": _recent_repositories(team, filters.repository_id),
        "history_authors": member_choices(team),
        "history_statuses": Status.choices,
    }
