"""Reads of task images, scoped to the tasks the person may see."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.http import Http404

from tasks.images.models import TaskImage
from tasks.selectors import tasks_visible_to


def get_image_for_user(user: User | AnonymousUser, pk: int) -> TaskImage:
    """The image, bytes included, or Http404 when it is not of one of the person's teams (never
    403, so ids of other teams' images don't leak)."""
    image = TaskImage.objects.filter(pk=pk, task__in=tasks_visible_to(user)).first()
    if image is None:
        raise Http404("No such image.")
    return image


def images_shown(task_id: int, attempt_id: int | None) -> QuerySet[TaskImage]:
    """The images of a task's prompt (`attempt_id` None) or of one follow-up, without their
    bytes: for thumbnails, which load through `get_image_for_user`. The caller authorized the
    task."""
    return (
        TaskImage.objects.filter(task_id=task_id, attempt_id=attempt_id)
        .defer("data")
        .order_by("position", "id")
    )
