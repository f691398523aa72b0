"""This installation's identity: one random id, made the first time it is needed."""

from __future__ import annotations

from django.db import models


class Installation(models.Model):
    """A single row. Its `install_id` tells this installation's Docker artefacts (warm images)
    apart from those of another installation on the same engine, whose database — and hence
    environment and repository ids — may coincide with ours."""

    install_id = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"installation {self.install_id}"
