"""The installation's id, and how a repository is named to the sandbox (worker side)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import IntegrityError, transaction

from repos.installation.models import Installation
from repos.models import Repository


def install_id() -> str:
    """`CODEXWEB_INSTALL_ID` when set, else the random id stored in this database (made on first
    use). Two installations on one Docker engine therefore never share a warm image."""
    if settings.CODEXWEB_INSTALL_ID:
        return str(settings.CODEXWEB_INSTALL_ID)
    row = Installation.objects.order_by("pk").first()
    if row is not None:
        return row.install_id
    try:
        with transaction.atomic():
            Installation.objects.create(pk=1, install_id=secrets.token_hex(16))
    except IntegrityError:  # another process made it first
        pass
    return Installation.objects.order_by("pk").values_list("install_id", flat=True)[0]


def repository_identity(repository: Repository) -> str:
    """The repository as the sandbox's warm-image key and labels name it: its row, provider and
    name (unique within an installation; the install id separates installations)."""
    return f"{repository.pk}:{repository.provider}:{repository.full_name}"
