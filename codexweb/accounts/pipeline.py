"""social-auth pipeline steps."""

from __future__ import annotations

from typing import Any

from codexweb.accounts.services import personal_team_ensure


def ensure_team(*, user: Any = None, **_: Any) -> None:
    """Everyone who signs in belongs to at least one team."""
    if user is not None:
        personal_team_ensure(user=user)
