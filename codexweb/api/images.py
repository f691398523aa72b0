"""Images in API requests: base64 in the JSON body, checked like the composer's uploads."""

from __future__ import annotations

import base64
import binascii

from django.conf import settings

from codexweb.api.auth import MAX_BODY_BYTES
from codexweb.api.errors import ApiError
from codexweb.api.schemas import ImageIn
from tasks.images.decode import ImageRejected
from tasks.images.services import (
    CheckedImage,
    ImageUpload,
    images_check,
    images_require_capable,
)


def body_limit_with_images() -> int:
    """The largest JSON body an endpoint taking images reads: the images' limits in base64
    (4 characters per 3 bytes) on top of the usual body."""
    return MAX_BODY_BYTES + settings.IMAGE_MAX_COUNT * (settings.IMAGE_MAX_BYTES * 4 // 3 + 4)


def api_images(images: list[ImageIn], *, model_tier: str) -> list[CheckedImage]:
    """Decode and check the request's images for `model_tier`; ApiError(400) says what is wrong:
    `invalid_image` (not base64, not an accepted image, too many or too large) or
    `images_not_accepted` (the tier's model takes no images)."""
    uploads = []
    for number, image in enumerate(images):
        try:
            data = base64.b64decode(image.data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError(
                400, "invalid_image", f"images[{number}]: `data` is not valid base64."
            ) from exc
        uploads.append(ImageUpload(image.name or f"image-{number + 1}", data))
    try:
        checked = images_check(uploads)
    except ImageRejected as exc:
        raise ApiError(400, "invalid_image", str(exc)) from exc
    try:
        images_require_capable(model_tier, len(checked))
    except ImageRejected as exc:
        raise ApiError(400, "images_not_accepted", str(exc)) from exc
    return checked
