"""`{% turn_images task_id attempt_id as images %}`: the thumbnails of a prompt or follow-up."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.db.models import QuerySet

from tasks.images.models import TaskImage
from tasks.images.selectors import images_shown
from tasks.images.services import image_limits_text

register = template.Library()


@register.simple_tag
def turn_images(task_id: int, attempt_id: int | None = None) -> QuerySet[TaskImage]:
    return images_shown(task_id, attempt_id)


@register.simple_tag
def image_limits() -> dict[str, object]:
    """The limits the image box states and its script pre-checks (the server decides)."""
    return {
        "max_bytes": settings.IMAGE_MAX_BYTES,
        "max_count": settings.IMAGE_MAX_COUNT,
        "text": image_limits_text(),
    }
