"""Reads for tasks, attempts and events. Every read is scoped to what the person may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Max, QuerySet
from django.http import Http404
from django.utils import timezone

from codexweb.accounts.models import Team
from codexweb.query_filters import created_on_days, filter_given
from tasks.models import Attempt, Event, Task


def tasks_visible_to(user: User | AnonymousUser) -> QuerySet[Task]:
    """Tasks of every team the person belongs to."""
    if not user.is_authenticated:
        return Task.objects.none()
    return Task.objects.filter(team__memberships__user=user).distinct()


def get_task_for_user(user: User | AnonymousUser, pk: int) -> Task:
    """The task, or Http404 (never 403, so ids of other teams' tasks don't leak)."""
    task = (
        tasks_visible_to(user).select_related("repository", "author", "team").filter(pk=pk).first()
    )
    if task is None:
        raise Http404("No such task.")
    return task


def get_attempt_for_user(user: User | AnonymousUser, pk: int) -> Attempt:
    attempt = (
        Attempt.objects.filter(pk=pk, task__in=tasks_visible_to(user))
        .select_related("task", "task__repository")
        .first()
    )
    if attempt is None:
        raise Http404("No such attempt.")
    return attempt


def group_by_day(tasks: list[Task]) -> list[tuple[str, list[Task]]]:
    """[("Today", [...]), ("Yesterday", [...]), ("Mon 3 Nov", [...])] in the order given."""
    today = timezone.localdate()
    groups: dict[str, list[Task]] = {}
    for task in tasks:
        day: date = timezone.localtime(task.created_at).date()
        delta = (today - day).days
        if delta == 0:
            label = "Today"
        elif delta == 1:
            label = "Yesterday"
        elif delta < 7:
            label = day.strftime("%A")
        else:
            label = day.strftime("%-d %b %Y")
        groups.setdefault(label, []).append(task)
    return list(groups.items())


def attempt_events_after(attempt: Attempt, after_seq: int = 0) -> QuerySet[Event]:
    return attempt.events.filter(seq__gt=after_seq).order_by("seq")


@dataclass(frozen=True)
class TaskSearch:
    """Filters over tasks, the same for the sidebar, the history page and the API; empty fields
    don't filter. Dates are whole local days; `text` words must all occur in the prompt."""

    team_slug: str = ""
    author_id: int | None = None
    author: str = ""  # username
    repository_id: int | None = None
    repository: str = ""  # "owner/name"
    status: str = ""
    mode: str = ""
    since: date | None = None
    until: date | None = None
    text: str = ""


def tasks_search(tasks: QuerySet[Task], search: TaskSearch) -> QuerySet[Task]:
    """`tasks` narrowed by `search`, newest first (ties by id, for keyset pages).

    On one team's tasks the (team, author|repository|mode|status, -created_at) indexes serve it.
    """
    tasks = filter_given(
        tasks,
        team__slug=search.team_slug,
        author_id=search.author_id,
        author__username=search.author,
        repository_id=search.repository_id,
        status=search.status,
        mode=search.mode,
    )
    if search.repository:
        # An unknown or malformed name matches nothing rather than silently showing everything.
        owner, _, name = search.repository.partition("/")
        tasks = tasks.filter(repository__owner=owner, repository__name=name)
    tasks = created_on_days(tasks, search.since, search.until)
    for word in search.text.split()[:10]:
        tasks = tasks.filter(prompt__icontains=word)
    return tasks.order_by("-created_at", "-id")


def team_tasks_search(team: Team, search: TaskSearch) -> QuerySet[Task]:
    """The team's tasks from all members (sidebar, history page), narrowed by `search`."""
    return tasks_search(Task.objects.filter(team=team), search)


def member_choices(team: Team) -> QuerySet[Any]:
    """(id, username) of the team's members by name, for the filters' author <select>s."""
    field = get_user_model().USERNAME_FIELD
    return (
        get_user_model()
        .objects.filter(memberships__team=team)
        .order_by(field)
        .values_list("pk", field)
    )


def repositories_recently_used(team: Team, user: User | AnonymousUser, *,
                               limit: int = 10) -> list[int]:
    """Ids of the team's repositories `user` started tasks on, most recent first."""
    if not user.is_authenticated:
        return []
    rows = (Task.objects.filter(team=team, author=user).values("repository_id")
            .annotate(last=Max("created_at")).order_by("-last")[:limit])
    return [row["repository_id"] for row in rows]
