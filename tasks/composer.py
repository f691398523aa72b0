"""What the composer starts with: the repository asked for, else the one used last."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from django.db.models import QuerySet

from repos.models import Repository

LAST_REPOSITORY_KEY = "composer_last_repository_id"


def _as_int(raw: Any) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def composer_repository(
    repositories: QuerySet[Repository], *, asked: str | None, session: MutableMapping[str, Any]
) -> Repository | None:
    """The repository to preselect, always one of `repositories` (the person's team's).

    Order: the one named in the URL (`?repository=ID`), the one this person used last, or the
    team's only repository. None when nothing fits.
    """
    for candidate in (_as_int(asked), _as_int(session.get(LAST_REPOSITORY_KEY))):
        if candidate is not None:
            repository = repositories.filter(pk=candidate).first()
            if repository is not None:
                return repository
    only = list(repositories[:2])
    return only[0] if len(only) == 1 else None


def composer_repository_remember(session: MutableMapping[str, Any], repository: Repository) -> None:
    """Remember the repository of a task just submitted, for the next composer."""
    session[LAST_REPOSITORY_KEY] = repository.pk
