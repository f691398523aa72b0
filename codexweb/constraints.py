"""Database constraints the models share, stated once: "this value occurs once per owner"."""

from __future__ import annotations

from django.db import models


def unique_per(owner: str, field: str, *, name: str) -> models.UniqueConstraint:
    """At most one row per (`owner`, `field`): a person's one membership of a team, a team's
    one list of a name. `name` is the constraint's name in the database (migrations know it)."""
    return models.UniqueConstraint(fields=[owner, field], name=name)
