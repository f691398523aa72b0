"""Serving an attached image: only to members of the task's team, only ever as an image."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from tasks.images.selectors import get_image_for_user
from tasks.images.services import image_name_clean

# The bytes were decoded as one of four image types when they arrived; these headers make sure
# a browser treats them as that image and nothing else, even if they also parse as HTML or SVG.
SANDBOXED = "default-src 'none'; sandbox"


@require_GET
def image_file(request: HttpRequest, pk: int) -> HttpResponse:
    image = get_image_for_user(request.user, pk)
    response = HttpResponse(bytes(image.data), content_type=image.media_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOXED
    name = image_name_clean(image.name) or f"image-{image.pk}"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "private, max-age=86400"
    return response
