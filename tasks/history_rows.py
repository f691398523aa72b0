"""Task lists (the history page, the sidebar) as rows of ready-made strings.

Why: a list shows 50 tasks, and in a template each `{% url %}` costs a `reverse()` (~80 µs), each
`|date` a `dateformat` (~100 µs), each `get_status_display` a choices lookup — per row, on every
page (bench/history.py). Here each of those is done once per list or with plain string work, so
the templates only print attributes. The rows read only the columns they show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3

from tasks.models import Mode, Status, Task

# The columns a row needs: `only()` these after select_related("repository", "author").
ROW_FIELDS = (
    "id",
    "prompt",
    "mode",
    "status",
    "created_at",
    "repository__owner",
    "repository__name",
    "author__username",
)

_MODES = dict(Mode.choices)
_STATUSES = dict(Status.choices)
_MARK = 918273645  # a pk no URL pattern contains otherwise: reverse() once, then fill it in


@dataclass(frozen=True, slots=True)
class TaskRow:
    pk: int
    url: str
    title: str
    repository: str
    author: str
    mode: str
    mode_label: str
    status: str
    status_label: str
    created_at: datetime  # local time
    created_iso: str  # as `|date:"c"`
    created_label: str  # as `|date:"j M Y H:i"`


def with_row_fields(tasks: QuerySet[Task]) -> QuerySet[Task]:
    return tasks.select_related("repository", "author").only(*ROW_FIELDS)


def task_rows(tasks: Iterable[Task]) -> list[TaskRow]:
    before, _, after = reverse("tasks:detail", args=[_MARK]).partition(str(_MARK))
    rows = []
    for task in tasks:
        local = timezone.localtime(task.created_at)
        rows.append(
            TaskRow(
                pk=task.pk,
                url=f"{before}{task.pk}{after}",
                title=task.title,
                repository=task.repository.full_name,
                author=task.author.get_username(),
                mode=task.mode,
                mode_label=str(_MODES.get(task.mode, task.mode)),
                status=task.status,
                status_label=str(_STATUSES.get(task.status, task.status)),
                created_at=local,
                created_iso=local.isoformat(),
                created_label=(
                    f"{local.day} {MONTHS_3[local.month].title()} {local.year} {local:%H:%M}"
                ),
            )
        )
    return rows
