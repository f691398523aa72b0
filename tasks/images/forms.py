"""The composer's and the follow-up box's image field: several files, checked by decoding."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from tasks.images.decode import ImageRejected
from tasks.images.services import (
    CheckedImage,
    ImageUpload,
    images_check,
    images_require_capable,
)


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class ImagesField(forms.FileField):
    """Zero or more images; cleans to a list of CheckedImage (tasks/images/services.py).
    Rendered by templates/tasks/_images_field.html (shared with the follow-up box)."""

    widget = MultipleImageInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Images")
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[CheckedImage]:
        files = [f for f in (data or []) if isinstance(f, UploadedFile)]
        uploads = [image_upload(f) for f in files]
        try:
            return images_check(uploads)
        except ImageRejected as exc:
            raise forms.ValidationError(f"{exc} Choose the images again.") from exc


def image_upload(file: UploadedFile) -> ImageUpload:
    """Read an uploaded file, never more than one byte past the size limit."""
    file.seek(0)
    data = file.read(settings.IMAGE_MAX_BYTES + 1)
    return ImageUpload(file.name or "", data, file.size)


def images_check_tier(form: forms.Form, tier: str | None) -> None:
    """Add a form error on `images` when the chosen tier's model takes no images."""
    images = form.cleaned_data.get("images") or []
    if tier is None:
        return
    try:
        images_require_capable(tier, len(images))
    except ImageRejected as exc:
        form.add_error("images", str(exc))
