"""Reads of task images, scoped to the tasks the person may see."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
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


def images_of_turn(task_id: int, attempt_id: int | None) -> QuerySet[TaskImage]:
    """The images of a task's prompt (`attempt_id` None) or of one follow-up, in the order they
    were given. The caller authorized the task."""
    turn = Q(attempt__isnull=True) if attempt_id is None else Q(attempt_id=attempt_id)
    return TaskImage.objects.filter(turn, task_id=task_id).order_by("position", "id")


def images_shown(task_id: int, attempt_id: int | None) -> QuerySet[TaskImage]:
    """`images_of_turn` without the bytes: for thumbnails, which load through
    `get_image_for_user`."""
    return images_of_turn(task_id, attempt_id).defer("data")
