"""Checking, storing and sending the images a person attaches to a task or a follow-up.

`images_check` decides what each upload is (by decoding it) and enforces the count and size
limits; `images_require_capable` refuses a model tier whose model takes no images; both run
before anything is created, so a refused request starts nothing. `images_store` writes the rows
inside the caller's transaction.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User

from tasks.agent.conversation import ImageInput
from tasks.images.decode import ACCEPTED, ImageInfo, ImageRejected, decode_image
from tasks.images.models import TaskImage

MAX_NAME = 120


@dataclass(frozen=True)
class ImageUpload:
    """A file as it arrived: the name the person's file had, and its bytes."""

    name: str
    data: bytes
    size: int | None = None  # the whole file's size, when `data` was read only up to the limit

    @property
    def full_size(self) -> int:
        return len(self.data) if self.size is None else self.size


@dataclass(frozen=True)
class CheckedImage:
    name: str  # cleaned, with the extension of the decoded type
    data: bytes
    info: ImageInfo


def image_limits_text() -> str:
    """The limits in words, for help texts and errors."""
    return (
        f"{ACCEPTED}; up to {settings.IMAGE_MAX_COUNT}, "
        f"each at most {_megabytes(settings.IMAGE_MAX_BYTES)}"
    )


def images_check(uploads: Sequence[ImageUpload]) -> list[CheckedImage]:
    """Decode every upload and apply the limits; raises ImageRejected naming the first file
    that fails, and why, in words for the person."""
    if len(uploads) > settings.IMAGE_MAX_COUNT:
        if settings.IMAGE_MAX_COUNT == 0:
            raise ImageRejected("Images are turned off on this installation.")
        raise ImageRejected(
            f"Attach at most {settings.IMAGE_MAX_COUNT} images (you chose {len(uploads)})."
        )
    checked = []
    for upload in uploads:
        cleaned = image_name_clean(upload.name)
        shown = cleaned or "the image"
        if upload.full_size > settings.IMAGE_MAX_BYTES:
            raise ImageRejected(
                f"{shown} is {_megabytes(upload.full_size)}; images may be at most "
                f"{_megabytes(settings.IMAGE_MAX_BYTES)}."
            )
        try:
            info = decode_image(upload.data)
        except ImageRejected as exc:
            raise ImageRejected(f"{shown} {exc}: attach a {ACCEPTED} image.") from exc
        checked.append(CheckedImage(_with_extension(cleaned, info), upload.data, info))
    return checked


def model_tier_accepts_images(tier: str) -> bool:
    """MODEL_<TIER>_IMAGES (true unless the operator said otherwise)."""
    options = settings.MODEL_TIER_OPTIONS.get(tier) or {}
    return bool(options.get("images", True))


def images_require_capable(tier: str, count: int) -> None:
    """Raise ImageRejected when `count` images would go to a tier whose model takes none."""
    if count and not model_tier_accepts_images(tier):
        model = settings.MODEL_TIERS.get(tier, tier)
        raise ImageRejected(
            f"The {tier.title()} model ({model}) does not accept images on this installation: "
            "choose another model or remove the images."
        )


def images_store(
    *, task_id: int, team_id: int, attempt_id: int | None, by: User,
    images: Sequence[CheckedImage],
) -> list[TaskImage]:
    """Keep `images` with the task (the prompt's when `attempt_id` is None, else that
    follow-up's). Call inside the transaction that creates the task or attempt."""
    return TaskImage.objects.bulk_create(
        TaskImage(
            team_id=team_id,
            task_id=task_id,
            attempt_id=attempt_id,
            uploaded_by=by,
            name=image.name,
            media_type=image.info.media_type,
            width=image.info.width,
            height=image.info.height,
            size=len(image.data),
            sha256=hashlib.sha256(image.data).hexdigest(),
            data=image.data,
            position=position,
        )
        for position, image in enumerate(images)
    )


def images_copy(*, from_attempt_id: int, to_attempt_id: int) -> None:
    """A retried follow-up keeps its images: copy the rows to the new attempt."""
    for image in TaskImage.objects.filter(attempt_id=from_attempt_id):
        image.pk = None
        image.attempt_id = to_attempt_id
        image.save()


def image_inputs(images: Sequence[TaskImage]) -> tuple[ImageInput, ...]:
    """What the agent sends the model: each image as its decoded type and base64 bytes."""
    return tuple(
        ImageInput(i.media_type, base64.b64encode(bytes(i.data)).decode("ascii")) for i in images
    )


def image_name_clean(name: str) -> str:
    """A file name safe to show and to put in a header: the last path part, printable ASCII
    letters, digits, dot, dash and underscore, at most MAX_NAME characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name).strip(".-_")
    return cleaned[:MAX_NAME]


def _with_extension(name: str, info: ImageInfo) -> str:
    stem = (name.rsplit(".", 1)[0] if "." in name else name)[: MAX_NAME - 6] or "image"
    return f"{stem}.{info.extension}"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"
