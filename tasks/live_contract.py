"""What the live pages' scripts need to know from the server, in one JSON document.

`static/js/live/contract.js` reads it from the page (`{% live_contract %}`, a `json_script`
element in every signed-in page), so the scripts name event kinds, statuses and close codes
through it instead of repeating string literals that could drift from `tasks/event_kinds.py`
and `tasks.models.Status`.
"""

from __future__ import annotations

from typing import Any

from tasks import event_kinds
from tasks.consumers import CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from tasks.models import FINISHED_STATUSES, Status

ELEMENT_ID = "live-contract"


def live_contract() -> dict[str, Any]:
    """{"kinds": {"COMMAND_END": "command_end", ...}, "statuses": {"RUNNING": "running", ...},
    "statusLabels": {"running": "Running", ...}, "finished": [...],
    "closeCodes": {"notFound": 4404, "unauthenticated": 4401}}.

    A kind's key is its constant's name in tasks/event_kinds.py, a status's its name in
    tasks.models.Status."""
    return {
        "kinds": {kind.upper(): kind for kind in sorted(event_kinds.ALL)},
        "statuses": {status.name: status.value for status in Status},
        "statusLabels": {status.value: str(status.label) for status in Status},
        "finished": sorted(str(status) for status in FINISHED_STATUSES),
        "closeCodes": {"notFound": CLOSE_NOT_FOUND, "unauthenticated": CLOSE_UNAUTHENTICATED},
    }
