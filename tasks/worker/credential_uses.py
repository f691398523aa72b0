"""After the agent: when each repository credential was last added by the egress proxy (the
environment page's "last used"). Ids and times only cross: the values never leave the proxy."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from repos.credentials.services import credentials_mark_used
from tasks.resilience import TRANSIENT_DB_ERRORS
from tasks.sandbox.base import Sandbox

logger = logging.getLogger(__name__)
_BEST_EFFORT: tuple[type[Exception], ...] = (*TRANSIENT_DB_ERRORS, OSError, ValueError)


def record_credential_uses(sandbox: Sandbox) -> None:
    """Stamp `last_used_at` of every credential the sandbox's proxy used. Best effort: a
    database that is away loses a "last used" stamp, never the attempt."""
    try:
        uses = [(u.id, datetime.fromtimestamp(u.at, tz=UTC)) for u in sandbox.credential_uses()]
        if uses:
            credentials_mark_used(uses)
    except _BEST_EFFORT:  # runs in a `finally`: never mask what ended the attempt
        logger.warning("could not record when the repository's credentials were used")
